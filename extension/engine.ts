/**
 * The extension's handle on the SED engine: wraps EngineClient (extension/client) with the
 * `sedStudio.*` settings, an output channel and a status bar item. Nothing starts until the first
 * request (activation stays fast; tfjs only ever loads in the engine process). Settings that shape the
 * process (node runtime, backend, cache folder) restart a running engine when they change.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RequestType, RequestType0 } from 'vscode-jsonrpc';
import type { InitializeResult } from '../engine/protocol/protocol';
import { EngineClient, type EngineState, type RequestOptions } from './client/engineClient';
import { readSettings, RESTART_SETTINGS } from './settings';

const STATE_TEXT: Record<EngineState, string> = {
  stopped: '$(circle-outline) SED',
  starting: '$(loading~spin) SED: starting',
  ready: '$(pulse) SED',
  busy: '$(sync~spin) SED',
  crashed: '$(error) SED: crashed',
};

export class SedEngine implements vscode.Disposable {
  readonly output: vscode.OutputChannel;
  private readonly status: vscode.StatusBarItem;
  private client: EngineClient | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly stateEmitter = new vscode.EventEmitter<EngineState>();
  /** Fires on every engine state change (stopped, starting, ready, busy, crashed). */
  readonly onDidChangeState = this.stateEmitter.event;

  constructor(private readonly context: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel('SED Engine');
    this.status = vscode.window.createStatusBarItem('sedStudio.engine', vscode.StatusBarAlignment.Right, 100);
    this.status.name = 'SED Engine';
    this.status.command = 'sedStudio.showEngineInfo';
    this.render('stopped');
    this.status.show();
    this.disposables.push(
      this.output,
      this.status,
      this.stateEmitter,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (this.client && RESTART_SETTINGS.some((s) => e.affectsConfiguration(s))) {
          this.output.appendLine('settings changed: restarting the engine');
          void this.restart().catch((err: Error) => this.output.appendLine(`restart failed: ${err.message}`));
        }
      }),
    );
  }

  /** The engine bundle: dist/engine.js of this extension (SED_ENGINE_PATH overrides it for development). */
  get enginePath(): string {
    return process.env.SED_ENGINE_PATH || this.context.asAbsolutePath(path.join('dist', 'engine.js'));
  }

  get state(): EngineState {
    return this.client?.state ?? 'stopped';
  }

  get isRunning(): boolean {
    return this.state === 'ready' || this.state === 'busy';
  }

  get info(): InitializeResult | undefined {
    return this.client?.info;
  }

  get pid(): number | undefined {
    return this.client?.pid;
  }

  /** The results and pulled models folder: the setting, else the extension's global storage. */
  get cacheDir(): string {
    const folder = readSettings().cacheFolder;
    return folder ? path.join(folder, 'results') : path.join(this.context.globalStorageUri.fsPath, 'engine-cache');
  }

  /** Where generated notebooks (detection results, profiles, charts) are written. */
  get resultsDir(): string {
    const folder = readSettings().cacheFolder;
    return folder ? path.join(folder, 'notebooks') : path.join(this.context.globalStorageUri.fsPath, 'notebooks');
  }

  /** Environment for engine processes: pulled models go to the cache folder setting when it is set. */
  get childEnv(): Record<string, string> {
    const folder = readSettings().cacheFolder;
    return folder ? { SED_CACHE_DIR: path.join(folder, 'models') } : {};
  }

  private render(state: EngineState): void {
    const info = this.client?.info;
    const jobs = this.client?.currentJobs.filter((j) => j.state === 'queued' || j.state === 'running') ?? [];
    this.status.text = STATE_TEXT[state] + (info ? ` · ${info.backend.backend}` : '') + (jobs.length ? ` · ${jobs.length} job${jobs.length > 1 ? 's' : ''}` : '');
    const lines = [`SED engine: ${state}`];
    if (info) lines.push(`backend ${info.backend.backend} (${info.backend.device})`, `Node ${info.node}, pid ${info.pid}`);
    for (const j of jobs) lines.push(`${j.state}: ${j.title}${j.total ? ` (${j.done ?? 0}/${j.total})` : ''}`);
    lines.push('', 'Click for engine info');
    this.status.tooltip = lines.join('\n');
    this.status.backgroundColor = state === 'crashed' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }

  private createClient(): EngineClient {
    const s = readSettings();
    const client = new EngineClient({
      enginePath: this.enginePath,
      nodePath: s.nodePath || undefined,
      backend: s.backend,
      cacheDir: this.cacheDir,
      env: this.childEnv,
      cwd: vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath,
      log: (line) => this.output.appendLine(line),
      clientInfo: { name: 'sed-studio-vscode', version: this.context.extension.packageJSON.version },
    });
    client.onDidChangeState((state) => {
      this.render(state);
      this.stateEmitter.fire(state);
    });
    client.onDidChangeJobs(() => this.render(client.state));
    client.onDidRestart(({ attempt }) => {
      void vscode.window.showWarningMessage(`SED: the engine crashed and was restarted (attempt ${attempt}). Notebook variables were lost; see the "SED Engine" output.`);
    });
    return client;
  }

  /** Starts the engine if needed. */
  start(): Promise<InitializeResult> {
    this.client ??= this.createClient();
    return this.client.start();
  }

  /** Sends a request, starting the engine first if needed. */
  request<P, R>(type: RequestType<P, R, void> | RequestType0<R, void>, params?: P, opts?: RequestOptions): Promise<R> {
    this.client ??= this.createClient();
    return this.client.request(type, params, opts);
  }

  /** Stops the engine (if running) and starts a fresh one with the current settings. */
  async restart(): Promise<InitializeResult> {
    const old = this.client;
    this.client = undefined;
    if (old) {
      await old.stop();
      old.dispose();
    }
    return this.start();
  }

  /** Stops the engine; the next request starts it again. */
  async stop(): Promise<void> {
    const old = this.client;
    this.client = undefined;
    if (old) {
      await old.stop();
      old.dispose();
    }
    this.render('stopped');
  }

  dispose(): void {
    this.client?.dispose();
    this.client = undefined;
    for (const d of this.disposables) d.dispose();
  }
}

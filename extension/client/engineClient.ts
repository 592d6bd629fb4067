/**
 * The engine client: starts the engine (`<node> dist/engine.js serve`) as a child process, speaks the
 * protocol of engine/protocol/protocol.ts to it, and supervises it: state changes, crash detection
 * (in-flight requests fail with a clear error), automatic restarts within a limit, and a clean stop that
 * leaves no process behind. It does not import `vscode`, so it runs under plain mocha; the extension
 * wraps it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  CancellationTokenSource,
  Emitter,
  type Disposable,
  type Event,
  type MessageConnection,
  type RequestType,
  type RequestType0,
} from 'vscode-jsonrpc';
import { createMessageConnection, IPCMessageReader, IPCMessageWriter, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import {
  ExitNotification,
  InitializeRequest,
  JobProgressType,
  JobsChangedNotification,
  LogNotification,
  ShutdownRequest,
  type InitializeResult,
  type JobInfo,
  type JobProgress,
  type LogParams,
} from '../../engine/protocol/protocol';
import { resolveNodeRuntime, type NodeRuntime } from './nodeRuntime';
import { killProcessTree } from './processTree';

export type EngineState = 'stopped' | 'starting' | 'ready' | 'busy' | 'crashed';

export interface EngineClientOptions {
  /** The engine bundle (`dist/engine.js`). */
  enginePath: string;
  /** Node executable; empty/undefined = `node` on PATH, falling back to the editor's runtime. */
  nodePath?: string;
  /** Backend for `initialize` (auto, tensorflow, webgpu, wasm, cpu). */
  backend?: string;
  cacheDir?: string;
  maxConcurrentJobs?: number;
  transport?: 'stdio' | 'node-ipc';
  /** Extra environment for the engine process. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Engine stderr lines, engine log notifications and client events. */
  log?: (line: string) => void;
  /** Automatic restarts after crashes: at most `maxRestarts` within `windowMs` (default 3 in 60 s). */
  restart?: { maxRestarts: number; windowMs: number };
  /** Grace period for `shutdown`/`exit` before the process tree is killed (default 3 s). */
  stopTimeoutMs?: number;
  clientInfo?: { name: string; version?: string };
}

export interface RequestOptions {
  /** Receives `$/progress` values of this request's job. */
  onProgress?: (progress: JobProgress) => void;
  /** Aborting cancels the request (and the engine job behind it). */
  signal?: AbortSignal;
}

/** The engine process ended while requests were in flight, or before the client could use it. */
export class EngineExitedError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
  ) {
    super(message);
    this.name = 'EngineExitedError';
  }
}

interface Session {
  child: ChildProcess;
  connection: MessageConnection;
  /** Rejecters of requests in flight on this process. */
  inflight: Set<(err: Error) => void>;
  exited: Promise<void>;
  stopping: boolean;
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `exit code ${code}`;
}

export class EngineClient implements Disposable {
  private session: Session | undefined;
  private starting: Promise<InitializeResult> | undefined;
  private _state: EngineState = 'stopped';
  private _info: InitializeResult | undefined;
  private runtime: NodeRuntime | undefined;
  private crashTimes: number[] = [];
  private tokenCounter = 0;
  private disposed = false;
  private jobs: JobInfo[] = [];
  private lastExit: string | undefined;
  /** Set when crashes exceeded the restart limit: requests fail until `restart()`. */
  private gaveUp = false;

  private readonly stateEmitter = new Emitter<EngineState>();
  private readonly jobsEmitter = new Emitter<JobInfo[]>();
  private readonly logEmitter = new Emitter<LogParams>();
  private readonly restartEmitter = new Emitter<{ reason: string; attempt: number }>();
  readonly onDidChangeState: Event<EngineState> = this.stateEmitter.event;
  /** The engine's visible job queue (from `sed/jobsChanged`). */
  readonly onDidChangeJobs: Event<JobInfo[]> = this.jobsEmitter.event;
  readonly onLog: Event<LogParams> = this.logEmitter.event;
  /** Fires when the client restarts a crashed engine. */
  readonly onDidRestart: Event<{ reason: string; attempt: number }> = this.restartEmitter.event;

  constructor(private readonly options: EngineClientOptions) {}

  get state(): EngineState {
    return this._state;
  }

  /** `initialize`'s result of the running engine. */
  get info(): InitializeResult | undefined {
    return this._info;
  }

  get pid(): number | undefined {
    return this.session?.child.pid;
  }

  get currentJobs(): JobInfo[] {
    return this.jobs;
  }

  /** Starts the engine (if needed) and resolves once it answered `initialize`. */
  start(): Promise<InitializeResult> {
    if (this.disposed) return Promise.reject(new Error('the engine client was disposed'));
    if (this.gaveUp) {
      return Promise.reject(new EngineExitedError(`the SED engine crashed ${this.crashTimes.length} times within ${this.restartPolicy.windowMs / 1000} s and is not restarted automatically (last: ${this.lastExit}); restart it by hand`, null, null));
    }
    if (this.session && this._info && (this._state === 'ready' || this._state === 'busy')) return Promise.resolve(this._info);
    this.starting ??= this.launch().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  /** Sends a request, starting the engine first if needed. */
  async request<P, R>(type: RequestType<P, R, void> | RequestType0<R, void>, params?: P, opts: RequestOptions = {}): Promise<R> {
    if (opts.signal?.aborted) throw new Error(`${type.method} was cancelled before it was sent`);
    await this.start();
    const session = this.session;
    if (!session) throw new EngineExitedError(`the SED engine is not running (${this.lastExit ?? 'stopped'})`, null, null);
    return this.send(session, type, params, opts);
  }

  /** Stops the engine gracefully (shutdown + exit), killing its process tree if it does not exit in time. */
  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    const session = this.session;
    if (!session) return;
    session.stopping = true;
    const timeout = this.options.stopTimeoutMs ?? 3000;
    const graceful = (async () => {
      await session.connection.sendRequest(ShutdownRequest);
      await session.connection.sendNotification(ExitNotification);
      await session.exited;
    })();
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeout).unref());
    const outcome = await Promise.race([graceful.then(() => 'ok' as const, () => 'error' as const), timer]);
    if (outcome !== 'ok') this.log(`engine did not exit within ${timeout} ms after shutdown (${outcome}); killing its process tree`);
    // Anything the engine left behind (or the engine itself) goes with its process group.
    killProcessTree(session.child);
    await session.exited;
  }

  /** Stops and starts again (also resets the crash-restart counter). */
  async restart(): Promise<InitializeResult> {
    this.crashTimes = [];
    this.gaveUp = false;
    await this.stop();
    return this.start();
  }

  /** Kills the engine's whole process tree right away. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const session = this.session;
    if (session) {
      session.stopping = true;
      killProcessTree(session.child);
    }
    this.setState('stopped');
    this.stateEmitter.dispose();
    this.jobsEmitter.dispose();
    this.logEmitter.dispose();
    this.restartEmitter.dispose();
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  private setState(state: EngineState): void {
    if (state === this._state) return;
    this._state = state;
    this.stateEmitter.fire(state);
  }

  private async launch(): Promise<InitializeResult> {
    this.setState('starting');
    try {
      this.runtime ??= await resolveNodeRuntime(this.options.nodePath, { ...process.env, ...this.options.env });
      if (this.runtime.note) this.log(this.runtime.note);
      const session = this.spawnEngine(this.runtime);
      const info = await this.send(session, InitializeRequest, {
        backend: this.options.backend,
        cacheDir: this.options.cacheDir,
        maxConcurrentJobs: this.options.maxConcurrentJobs,
        clientInfo: this.options.clientInfo,
      });
      if (this.session !== session) throw new EngineExitedError(`the SED engine exited during startup (${this.lastExit})`, null, null);
      this._info = info;
      this.setState('ready');
      this.log(`engine ${info.engineVersion} pid ${info.pid} ready: ${info.backend.backend} (${info.backend.device}), Node ${info.node}`);
      return info;
    } catch (err) {
      if (this.session) {
        this.session.stopping = true;
        killProcessTree(this.session.child);
      }
      this.setState(this.crashTimes.length > 0 ? 'crashed' : 'stopped');
      throw err;
    }
  }

  private spawnEngine(runtime: NodeRuntime): Session {
    const transport = this.options.transport ?? 'stdio';
    const stdio: Array<'pipe' | 'ipc'> = transport === 'node-ipc' ? ['pipe', 'pipe', 'pipe', 'ipc'] : ['pipe', 'pipe', 'pipe'];
    const child = spawn(runtime.command, [this.options.enginePath, 'serve', transport === 'node-ipc' ? '--node-ipc' : '--stdio'], {
      cwd: this.options.cwd,
      env: { ...process.env, ...runtime.env, ...this.options.env },
      stdio,
      // Its own process group, so stop/dispose can kill everything it started in one go (POSIX).
      detached: process.platform !== 'win32',
      windowsHide: true,
    });
    const connection =
      transport === 'node-ipc'
        ? createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child))
        : createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    let resolveExited!: () => void;
    const session: Session = { child, connection, inflight: new Set(), exited: new Promise((r) => (resolveExited = r)), stopping: false };
    this.session = session;

    let stderrTail = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-2000);
      for (const line of chunk.split('\n')) if (line.trim()) this.log(`[engine stderr] ${line}`);
    });
    // Writes to a dead process's stdin fail with EPIPE: the exit handler reports it, not an unhandled error.
    child.stdin!.on('error', () => undefined);
    connection.onNotification(LogNotification, (p) => {
      this.log(`[engine ${p.level}] ${p.message}`);
      this.logEmitter.fire(p);
    });
    connection.onNotification(JobsChangedNotification, ({ jobs }) => {
      if (this.session !== session) return;
      this.jobs = jobs;
      this.jobsEmitter.fire(jobs);
      if (this._state === 'ready' || this._state === 'busy') this.setState(jobs.some((j) => j.state === 'queued' || j.state === 'running') ? 'busy' : 'ready');
    });
    connection.onError(([err]) => this.log(`protocol error: ${err.message}`));
    connection.listen();

    let done = false;
    const onExit = (code: number | null, signal: NodeJS.Signals | null, spawnError?: string) => {
      if (done) return;
      done = true;
      connection.dispose();
      const how = spawnError ? `failed to start: ${spawnError}` : describeExit(code, signal);
      this.lastExit = how;
      const lastErr = stderrTail.trim().split('\n').slice(-3).join(' | ');
      const crashed = !session.stopping;
      const message = crashed
        ? `the SED engine (pid ${child.pid ?? '?'}) crashed (${how})${lastErr ? `; last output: ${lastErr}` : ''}`
        : `the SED engine exited (${how}) while the request was in flight`;
      for (const reject of session.inflight) reject(new EngineExitedError(message, code, signal));
      session.inflight.clear();
      if (this.session === session) {
        this.session = undefined;
        this._info = undefined;
        this.jobs = [];
      }
      resolveExited();
      if (crashed && !this.disposed) this.onCrash(message);
      else if (this.session === undefined && !this.starting) this.setState('stopped');
    };
    child.on('error', (err) => {
      this.log(`could not run the engine with '${runtime.command}': ${err.message}`);
      onExit(null, null, err.message);
    });
    child.on('exit', (code, signal) => onExit(code, signal));
    return session;
  }

  private get restartPolicy(): { maxRestarts: number; windowMs: number } {
    return this.options.restart ?? { maxRestarts: 3, windowMs: 60_000 };
  }

  private onCrash(message: string): void {
    this.log(message);
    const { maxRestarts, windowMs } = this.restartPolicy;
    const now = Date.now();
    this.crashTimes = this.crashTimes.filter((t) => now - t < windowMs);
    this.crashTimes.push(now);
    if (this.starting) {
      // Crashed during startup: the pending start() fails; no restart loop on an engine that cannot start.
      this.setState('crashed');
      return;
    }
    if (this.crashTimes.length > maxRestarts) {
      this.gaveUp = true;
      this.setState('crashed');
      this.log(`the engine crashed ${this.crashTimes.length} times within ${windowMs / 1000} s; not restarting it automatically (restart it by hand)`);
      return;
    }
    const attempt = this.crashTimes.length;
    this.setState('crashed');
    this.log(`restarting the engine (automatic restart ${attempt} of ${maxRestarts} per ${windowMs / 1000} s)`);
    this.restartEmitter.fire({ reason: message, attempt });
    this.start().catch((err: Error) => this.log(`engine restart failed: ${err.message}`));
  }

  private send<P, R>(session: Session, type: RequestType<P, R, void> | RequestType0<R, void>, params: P | undefined, opts: RequestOptions = {}): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const cleanups: Array<() => void> = [];
      const settle = (fn: () => void) => {
        session.inflight.delete(fail);
        for (const c of cleanups) c();
        fn();
      };
      const fail = (err: Error) => settle(() => reject(err));
      session.inflight.add(fail);
      let body: unknown = params;
      if (opts.onProgress) {
        const token = `${process.pid}-${++this.tokenCounter}`;
        body = { ...(params as object), workDoneToken: token };
        const sub = session.connection.onProgress(JobProgressType, token, opts.onProgress);
        cleanups.push(() => sub.dispose());
      }
      const cts = new CancellationTokenSource();
      cleanups.push(() => cts.dispose());
      if (opts.signal) {
        const onAbort = () => cts.cancel();
        opts.signal.addEventListener('abort', onAbort, { once: true });
        cleanups.push(() => opts.signal!.removeEventListener('abort', onAbort));
      }
      const pending = body === undefined ? session.connection.sendRequest(type.method, cts.token) : session.connection.sendRequest(type.method, body, cts.token);
      (pending as Promise<R>).then(
        (value) => settle(() => resolve(value)),
        (err: Error) => {
          // After an exit the exit handler has already rejected with the clearer message.
          if (session.inflight.has(fail)) fail(err);
        },
      );
    });
  }
}

/**
 * "SED: Detect Sound Events": on the active audio file (editor title, explorer context menu, palette),
 * with the model picker, a cancellable progress notification, then the results view.
 * Arguments (menus pass the file's Uri; scripts and tests may pass options):
 *   sedStudio.detect(uri?: Uri, options?: { model?: string; thresholds?: number[]; medianWindow?: number; show?: boolean })
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DetectRequest, MelRequest, type DetectResult, type JobProgress } from '../../engine/protocol/protocol';
import type { SedEngine } from '../engine';
import { readSettings } from '../settings';
import { showDetectionResults, type ShownResult } from '../results/view';
import { pickModel } from './modelPicker';

export const AUDIO_EXTENSIONS = ['wav', 'flac', 'mp3', 'ogg', 'opus'];

export interface DetectOptions {
  model?: string;
  thresholds?: number[];
  medianWindow?: number;
  /** Open the results view (default true). */
  show?: boolean;
}

export interface DetectOutcome {
  result: DetectResult;
  view?: ShownResult;
}

function isAudio(uri: vscode.Uri | undefined): uri is vscode.Uri {
  return !!uri && AUDIO_EXTENSIONS.includes(path.extname(uri.path).slice(1).toLowerCase());
}

/** The audio file in focus: the active tab (audio opens in a binary/custom editor), else none. */
function activeAudio(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input as { uri?: vscode.Uri } | undefined;
  if (isAudio(input?.uri)) return input.uri;
  const doc = vscode.window.activeTextEditor?.document.uri;
  return isAudio(doc) ? doc : undefined;
}

async function resolveFile(arg: unknown): Promise<vscode.Uri | undefined> {
  if (arg instanceof vscode.Uri) {
    if (!isAudio(arg)) throw new Error(`${(arg as vscode.Uri).fsPath}: not an audio file this command reads (valid: ${AUDIO_EXTENSIONS.join(', ')})`);
    return arg;
  }
  const active = activeAudio();
  if (active) return active;
  const picked = await vscode.window.showOpenDialog({ title: 'SED: audio file to analyse', canSelectMany: false, filters: { Audio: AUDIO_EXTENSIONS } });
  return picked?.[0];
}

export async function detectCommand(engine: SedEngine, arg?: unknown, options: DetectOptions = {}): Promise<DetectOutcome | undefined> {
  const uri = await resolveFile(arg);
  if (!uri) return undefined;
  if (uri.scheme !== 'file') throw new Error(`${uri.toString()}: the SED engine reads local files only`);
  const settings = readSettings();
  const thresholds = options.thresholds ?? settings.thresholds;
  const medianWindow = options.medianWindow ?? settings.medianWindow;
  const model = options.model ?? (settings.defaultModel || (await pickModel(engine, `SED: model for ${path.basename(uri.fsPath)}`)));
  if (!model) return undefined;

  const outcome = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `SED: detecting in ${path.basename(uri.fsPath)}`, cancellable: true },
    async (progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      let reported = 0;
      const onProgress = (p: JobProgress) => {
        if (p.percentage === undefined && !p.message) return;
        const pct = p.percentage ?? reported;
        progress.report({ increment: Math.max(0, pct - reported), message: p.message });
        reported = Math.max(reported, pct);
      };
      const t0 = Date.now();
      const result = await engine.request(DetectRequest, { file: uri.fsPath, model, thresholds, medianWindow }, { onProgress, signal: abort.signal });
      const t1 = Date.now();
      engine.output.appendLine(`detect ${uri.fsPath}: ${result.events.length} events with ${result.modelName} in ${((t1 - t0) / 1000).toFixed(1)} s`);
      if (options.show === false) return { result };
      progress.report({ message: 'spectrogram…' });
      const mel = await engine.request(MelRequest, { file: uri.fsPath }, { signal: abort.signal });
      const t2 = Date.now();
      const view = await showDetectionResults(engine.resultsDir, result, mel, { medianWindow, thresholds });
      engine.output.appendLine(`results view: spectrogram ${((t2 - t1) / 1000).toFixed(1)} s, view ${((Date.now() - t2) / 1000).toFixed(1)} s (${view.notebook.uri.fsPath})`);
      return { result, view };
    },
  );
  return outcome;
}

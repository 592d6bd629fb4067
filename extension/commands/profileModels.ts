/** "SED: Profile Models": parameters, MACs and (optionally) forward time of chosen architectures. */
import * as vscode from 'vscode';
import { ProfileRequest, type JobProgress, type ProfileResult } from '../../engine/protocol/protocol';
import type { SedEngine } from '../engine';
import { showTradeoffNotebook } from '../results/chartNotebook';
import { chartFromProfile } from '../results/tradeoff';

/** The paper's configurations (Fig. 1: fmn10 with each sequence model at 4 sizes; the backbones alone). */
export const PAPER_MODELS: string[] = [
  'fmn04', 'fmn06', 'fmn10', 'fmn20', 'fmn30',
  ...['tf', 'att', 'bigru', 'tcn', 'mamba', 'hybrid'].flatMap((s) => [128, 256, 512, 1024].map((d) => `fmn10+${s}:${d}`)),
];

export interface ProfileArgs {
  models?: string[];
  time?: boolean;
  show?: boolean;
}

export async function profileModelsCommand(engine: SedEngine, args: ProfileArgs = {}): Promise<ProfileResult | undefined> {
  let models = args.models;
  let time = args.time;
  if (!models) {
    const picks = await vscode.window.showQuickPick(
      PAPER_MODELS.map((m) => ({ label: m, picked: ['fmn04', 'fmn10', 'fmn20', 'fmn10+tf:256', 'fmn10+hybrid:128'].includes(m) })),
      { title: 'SED: models to profile', canPickMany: true },
    );
    if (!picks?.length) return undefined;
    models = picks.map((p) => p.label);
  }
  if (time === undefined) {
    const t = await vscode.window.showQuickPick(
      [{ label: 'Counts only', description: 'parameters and MACs (instant)', time: false }, { label: 'Counts and forward time', description: 'times a 10 s clip on the active backend', time: true }],
      { title: 'SED: profile' },
    );
    if (!t) return undefined;
    time = t.time;
  }
  const chosen = models;
  const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'SED: profiling', cancellable: true }, (progress, token) => {
    const abort = new AbortController();
    token.onCancellationRequested(() => abort.abort());
    const onProgress = (p: JobProgress) => progress.report({ message: p.message ?? (p.total ? `${p.done ?? 0}/${p.total}` : undefined) });
    return engine.request(ProfileRequest, { models: chosen, time }, { onProgress, signal: abort.signal });
  });
  if (args.show !== false) {
    await showTradeoffNotebook(engine.resultsDir, chartFromProfile(result.rows, 'Model profile'), {
      backend: result.backend,
      code: `await sed.profile({ models: ${JSON.stringify(chosen)}, time: ${!!time} })`,
    });
  }
  return result;
}

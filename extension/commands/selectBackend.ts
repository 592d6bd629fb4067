/** "SED: Select Backend": writes `sedStudio.backend` (the engine restarts on the change). */
import * as vscode from 'vscode';
import type { SedEngine } from '../engine';
import { BACKENDS, readSettings, type BackendSetting } from '../settings';

const DESCRIPTIONS: Record<BackendSetting, string> = {
  auto: 'fastest that starts: tensorflow → webgpu → wasm → cpu',
  tensorflow: 'native TensorFlow (@tensorflow/tfjs-node-gpu)',
  webgpu: 'WebGPU through Dawn (needs a GPU)',
  wasm: 'WebAssembly SIMD (portable)',
  cpu: 'plain JavaScript (slowest, always available)',
};

/** `backend` argument: set without asking (scripts/tests). Returns the chosen backend. */
export async function selectBackendCommand(engine: SedEngine, backend?: string): Promise<BackendSetting | undefined> {
  const current = readSettings().backend;
  const active = engine.info?.backend;
  let choice = backend as BackendSetting | undefined;
  if (choice !== undefined && !(BACKENDS as readonly string[]).includes(choice)) {
    throw new Error(`unknown backend "${backend}" (valid: ${BACKENDS.join(', ')})`);
  }
  if (!choice) {
    const items = BACKENDS.map((b) => ({
      label: b,
      description: `${DESCRIPTIONS[b]}${b === current ? ' · current setting' : ''}${active?.backend === b ? ' · running' : ''}`,
      detail: active?.skipped[b] ? `skipped last start: ${active.skipped[b]}` : undefined,
      backend: b,
    }));
    const pick = await vscode.window.showQuickPick(items, { title: 'SED: engine backend', placeHolder: `current: ${current}${active ? ` (running ${active.backend} on ${active.device})` : ''}` });
    if (!pick) return undefined;
    choice = pick.backend;
  }
  if (choice === current) {
    // Same setting: nothing changes in the config, so restart explicitly if a different backend runs.
    if (engine.isRunning && choice !== 'auto' && active?.backend !== choice) await engine.restart();
    return choice;
  }
  const target = vscode.workspace.workspaceFolders ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await vscode.workspace.getConfiguration('sedStudio').update('backend', choice, target);
  return choice;
}

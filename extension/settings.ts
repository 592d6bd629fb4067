/** Typed access to the `sedStudio.*` settings (declared with their JSON schema in package.json). */
import * as vscode from 'vscode';

export const BACKENDS = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendSetting = (typeof BACKENDS)[number];

export interface SedSettings {
  nodePath: string;
  backend: BackendSetting;
  defaultModel: string;
  thresholds: number[];
  medianWindow: number;
  cacheFolder: string;
}

export function readSettings(): SedSettings {
  const c = vscode.workspace.getConfiguration('sedStudio');
  const backend = c.get<string>('backend', 'auto');
  const thresholds = c.get<number[]>('thresholds', [0.1, 0.2, 0.5]);
  return {
    nodePath: c.get<string>('nodePath', '').trim(),
    backend: (BACKENDS as readonly string[]).includes(backend) ? (backend as BackendSetting) : 'auto',
    defaultModel: c.get<string>('defaultModel', '').trim(),
    thresholds: Array.isArray(thresholds) && thresholds.length && thresholds.every((t) => typeof t === 'number' && t >= 0 && t <= 1) ? thresholds : [0.5],
    medianWindow: Math.max(1, Math.round(c.get<number>('medianWindow', 9))),
    cacheFolder: c.get<string>('cacheFolder', '').trim(),
  };
}

/** Settings whose change needs a new engine process. */
export const RESTART_SETTINGS = ['sedStudio.nodePath', 'sedStudio.backend', 'sedStudio.cacheFolder'];

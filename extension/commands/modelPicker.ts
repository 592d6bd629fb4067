/**
 * The model picker: bundled default, pulled reference checkpoints and the user's checkpoints (found in
 * the workspace folders), from the engine's `sed/listModels`, plus "browse for a checkpoint".
 */
import * as vscode from 'vscode';
import { ListModelsRequest, type ModelEntry, type ModelSource } from '../../engine/protocol/protocol';
import type { SedEngine } from '../engine';

const GROUPS: Array<[ModelSource, string]> = [
  ['bundled', 'Bundled'],
  ['pulled', 'Pulled reference checkpoints'],
  ['user', 'Your checkpoints'],
];

interface ModelItem extends vscode.QuickPickItem {
  model?: string;
  browse?: boolean;
}

/** Checkpoints the engine can detect with (user checkpoints are searched in the workspace folders). */
export async function listDetectionModels(engine: SedEngine): Promise<ModelEntry[]> {
  const userDirs = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
  const { models } = await engine.request(ListModelsRequest, { userDirs });
  return models;
}

/** Returns a model id or checkpoint path, or undefined when the user dismissed the picker. */
export async function pickModel(engine: SedEngine, title = 'SED: choose a model'): Promise<string | undefined> {
  const models = await listDetectionModels(engine);
  const items: ModelItem[] = [];
  for (const [source, label] of GROUPS) {
    const group = models.filter((m) => m.source === source);
    if (!group.length) continue;
    items.push({ label, kind: vscode.QuickPickItemKind.Separator });
    for (const m of group) {
      items.push({ label: m.name, description: m.id, detail: `${m.numClasses} classes · ${m.path}`, model: m.id, picked: source === 'bundled' });
    }
  }
  items.push({ label: '', kind: vscode.QuickPickItemKind.Separator });
  items.push({ label: '$(folder-opened) Browse for a checkpoint…', browse: true });
  const choice = await vscode.window.showQuickPick(items, { title, placeHolder: models.length ? 'Model for detection' : 'No checkpoints found yet: browse for one, or pull a pretrained model', matchOnDescription: true });
  if (!choice) return undefined;
  if (choice.browse) {
    const picked = await vscode.window.showOpenDialog({ title: 'SED checkpoint', canSelectMany: false, canSelectFolders: false, filters: { 'SED checkpoints': ['safetensors', 'pt'] } });
    return picked?.[0]?.fsPath;
  }
  return choice.model;
}

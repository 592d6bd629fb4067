/** "SED: Restart Engine" and "SED: Restart Kernel". */
import * as vscode from 'vscode';
import type { SedEngine } from '../engine';
import type { SedKernel } from '../notebook/controller';
import { NOTEBOOK_TYPE } from '../notebook/serializer';

export async function restartEngineCommand(engine: SedEngine): Promise<void> {
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'SED: restarting the engine' }, () => engine.restart());
}

/** Resets the active (or given) SED notebook's variables in the engine. */
export async function restartKernelCommand(kernel: SedKernel, arg?: unknown): Promise<void> {
  // The notebook toolbar passes `{ notebookEditor: { notebookUri } }`; scripts may pass a NotebookDocument or Uri.
  const a = arg as { notebookEditor?: { notebookUri?: vscode.Uri }; uri?: vscode.Uri } | vscode.Uri | undefined;
  const uri = a instanceof vscode.Uri ? a : (a?.notebookEditor?.notebookUri ?? a?.uri ?? vscode.window.activeNotebookEditor?.notebook.uri);
  const notebook = vscode.workspace.notebookDocuments.find((d) => d.uri.toString() === uri?.toString());
  if (!notebook || notebook.notebookType !== NOTEBOOK_TYPE) throw new Error('SED: Restart Kernel needs an open SED notebook (.sednb)');
  await kernel.restart(notebook);
}

/**
 * Opens generated notebooks (detection results, profiles, charts) from a `.sednb` file written to the
 * results folder. `workspace.openNotebookDocument(type, data)` would be simpler, but VS Code drops the
 * bytes of output items passed that way (the outputs arrive empty in the workbench), whereas outputs
 * read through our serializer arrive intact — and the results stay on disk to reopen or share.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { writeFileAtomic } from '../../engine/io/atomicWrite';
import { SednbSerializer } from '../notebook/serializer';

const serializer = new SednbSerializer();

function safeName(name: string): string {
  return name.replace(/[^\w.+-]+/g, '_').slice(0, 80) || 'results';
}

export async function openGeneratedNotebook(dir: string, name: string, data: vscode.NotebookData): Promise<vscode.NotebookDocument> {
  fs.mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = path.join(dir, `${safeName(name)}-${stamp}.sednb`);
  writeFileAtomic(file, serializer.serializeNotebook(data));
  const doc = await vscode.workspace.openNotebookDocument(vscode.Uri.file(file));
  await vscode.window.showNotebookDocument(doc, { preview: false });
  return doc;
}

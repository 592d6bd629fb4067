/** Shared helpers of the integration suite (runs inside the extension host). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SedStudioApi } from '../../../extension/extension';

export const EXTENSION_ID = 'sed-studio.sed-studio';

export function repoRoot(): string {
  return process.env.SED_TEST_REPO_ROOT ?? path.resolve(__dirname, '..', '..', '..', '..');
}

export function sharedDir(): string {
  return process.env.SHARED_DIR ?? path.resolve(repoRoot(), '..', 'shared');
}

/** A scratch folder in the opened workspace (or a temp folder under test-electron without one). */
export function workspaceDir(): string {
  const dir = process.env.SED_TEST_WORKSPACE ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'sed-ws-'));
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export function artifactsDir(): string {
  const dir = process.env.SED_TEST_ARTIFACTS ?? path.join(repoRoot(), 'test-artifacts', 'vscode');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export async function api(): Promise<SedStudioApi> {
  const ext = vscode.extensions.getExtension<SedStudioApi>(EXTENSION_ID);
  if (!ext) throw new Error(`extension ${EXTENSION_ID} is not installed in this VS Code`);
  return ext.activate();
}

/** Child processes of this extension host whose command line matches (engines we started). */
export function childProcesses(match: RegExp): Array<{ pid: number; cmd: string }> {
  const out: Array<{ pid: number; cmd: string }> = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ');
      if (match.test(cmd)) out.push({ pid: Number(d), cmd });
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

export async function waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function outputText(item: vscode.NotebookCellOutputItem): string {
  return new TextDecoder().decode(item.data);
}

export function allItems(cell: vscode.NotebookCell): vscode.NotebookCellOutputItem[] {
  return cell.outputs.flatMap((o) => o.items);
}

/** Run cell `index` of `notebook` in the SED kernel and wait until the kernel reports it executed. */
export async function runCell(notebook: vscode.NotebookDocument, index: number): Promise<vscode.NotebookCell> {
  const sed = await api();
  const cell = notebook.cellAt(index);
  const done = new Promise<void>((resolve) => {
    const sub = sed.kernel.onDidExecuteCell((e) => {
      if (e.cell.document.uri.toString() === cell.document.uri.toString()) {
        sub.dispose();
        resolve();
      }
    });
  });
  await vscode.commands.executeCommand('notebook.cell.execute', { ranges: [{ start: index, end: index + 1 }], document: notebook.uri });
  await done;
  return notebook.cellAt(index);
}

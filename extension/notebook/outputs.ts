/** Converts the engine's cell outputs (protocol `CellOutput`) to VS Code notebook outputs. */
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { CellOutput } from '../../engine/protocol/protocol';

export const ERROR_MIME = 'application/vnd.code.notebook.error';

function errorItem(data: string): vscode.NotebookCellOutputItem {
  let parsed: { name?: string; message?: string; stack?: string } = {};
  try {
    parsed = JSON.parse(data);
  } catch {
    parsed = { name: 'Error', message: data };
  }
  const err = new Error(parsed.message ?? 'error');
  err.name = parsed.name ?? 'Error';
  err.stack = parsed.stack ?? `${err.name}: ${err.message}`;
  return vscode.NotebookCellOutputItem.error(err);
}

function toItem(o: CellOutput): vscode.NotebookCellOutputItem {
  // Binary outputs (renderer safetensors payloads) come as a file the engine wrote, never inline.
  if (o.file) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(fs.readFileSync(o.file));
    } catch (err) {
      return errorItem(JSON.stringify({ name: 'OutputError', message: `${o.mime} output: cannot read the engine's output file ${o.file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` }));
    }
    return new vscode.NotebookCellOutputItem(bytes, o.mime);
  }
  if (o.mime === ERROR_MIME) return errorItem(o.data);
  if (o.mime === 'text/plain' && o.stream === 'stderr') return vscode.NotebookCellOutputItem.stderr(o.data);
  if (o.mime === 'text/plain' && o.stream === 'stdout') return vscode.NotebookCellOutputItem.stdout(o.data);
  return vscode.NotebookCellOutputItem.text(o.data, o.mime);
}

/** One notebook output per engine output, except consecutive writes to the same stream, merged like a terminal. */
export function toNotebookOutputs(outputs: CellOutput[]): vscode.NotebookCellOutput[] {
  const result: vscode.NotebookCellOutput[] = [];
  let lastStream: string | undefined;
  let streamText = '';
  const flush = () => {
    if (lastStream) result.push(new vscode.NotebookCellOutput([toItem({ mime: 'text/plain', data: streamText, stream: lastStream as 'stdout' })]));
    lastStream = undefined;
    streamText = '';
  };
  for (const o of outputs) {
    if (o.mime === 'text/plain' && o.stream) {
      if (lastStream && lastStream !== o.stream) flush();
      lastStream = o.stream;
      // Each engine text chunk is one console call (no trailing newline), so chunks are lines.
      streamText = streamText ? `${streamText}\n${o.data}` : o.data;
      continue;
    }
    flush();
    result.push(new vscode.NotebookCellOutput([toItem(o)]));
  }
  flush();
  return result;
}

/**
 * The SED notebook kernel: runs JavaScript/TypeScript cells inside the engine process (`sed/executeCell`),
 * where an `sed` API object is in scope and variables persist across cells per notebook. Outputs stream
 * in while a cell runs (console text, display() calls, live training curves); interrupting a cell cancels
 * the engine request; "Restart Kernel" drops the notebook's engine-side context.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EngineErrorCodes, ExecuteCellRequest, ResetKernelRequest, type CellOutput, type JobProgress } from '../../engine/protocol/protocol';
import type { SedEngine } from '../engine';
import { NOTEBOOK_TYPE } from './serializer';
import { toNotebookOutputs } from './outputs';

export const CONTROLLER_ID = 'sed-kernel';

/** Outputs that are re-sent as they grow (training curves after each epoch). */
const LIVE_MIMES = new Set(['application/vnd.sed-studio.training-curves+json']);

/**
 * Identity of a live chart: its MIME type and title, so a training run's curves update one chart in
 * place even with log lines in between, while a second run (another title) gets its own chart.
 */
export function liveKey(o: CellOutput): string | undefined {
  if (!LIVE_MIMES.has(o.mime)) return undefined;
  let title = '';
  try {
    title = String((JSON.parse(o.data) as { title?: unknown }).title ?? '');
  } catch {
    // Not JSON: the renderer reports it; treat it as an untitled chart.
  }
  return `${o.mime}\u0000${title}`;
}

/** Later updates of a live chart replace the first one in place, as the cell showed them while running. */
export function collapseLiveUpdates(outputs: CellOutput[]): CellOutput[] {
  const out: CellOutput[] = [];
  const at = new Map<string, number>();
  for (const o of outputs) {
    const key = liveKey(o);
    if (key !== undefined && at.has(key)) out[at.get(key)!] = o;
    else {
      if (key !== undefined) at.set(key, out.length);
      out.push(o);
    }
  }
  return out;
}

export class SedKernel implements vscode.Disposable {
  readonly controller: vscode.NotebookController;
  private readonly onDidExecuteEmitter = new vscode.EventEmitter<{ cell: vscode.NotebookCell; success: boolean; cancelled: boolean }>();
  /** Fires after each cell ends (tests and the status bar use it). */
  readonly onDidExecuteCell = this.onDidExecuteEmitter.event;
  private readonly onDidStreamEmitter = new vscode.EventEmitter<{ cell: vscode.NotebookCell; output: CellOutput }>();
  /** Fires for each output streamed in while a cell runs. */
  readonly onDidStreamOutput = this.onDidStreamEmitter.event;

  constructor(private readonly engine: SedEngine) {
    this.controller = vscode.notebooks.createNotebookController(CONTROLLER_ID, NOTEBOOK_TYPE, 'SED Engine');
    this.controller.supportedLanguages = ['javascript', 'typescript'];
    this.controller.supportsExecutionOrder = true;
    this.controller.description = 'Runs cells in the SED engine process (sed API in scope)';
    this.controller.executeHandler = (cells, notebook) => this.executeCells(cells, notebook);
  }

  private async executeCells(cells: vscode.NotebookCell[], notebook: vscode.NotebookDocument): Promise<void> {
    for (const cell of cells) {
      // Like Jupyter: after a failed or interrupted cell, the rest of the batch does not run.
      const ok = await this.executeCell(cell, notebook);
      if (!ok) break;
    }
  }

  private async executeCell(cell: vscode.NotebookCell, notebook: vscode.NotebookDocument): Promise<boolean> {
    const execution = this.controller.createNotebookCellExecution(cell);
    execution.start(Date.now());
    await execution.clearOutput();
    const abort = new AbortController();
    const sub = execution.token.onCancellationRequested(() => abort.abort());
    if (execution.token.isCancellationRequested) abort.abort();

    const streamed: CellOutput[] = [];
    // Live view while the cell runs: text and display() outputs are appended; a live chart streamed
    // again (training curves each epoch) is updated in place with replaceOutputItems, so the renderer
    // redraws the same element; the progress line is one output updated in place. The final result
    // replaces all of it. Updates are chained so they apply in order.
    const liveCharts = new Map<string, vscode.NotebookCellOutput>();
    let progressOutput: vscode.NotebookCellOutput | undefined;
    let pending: Thenable<void> = Promise.resolve();
    const queue = (fn: () => Thenable<void>) => {
      pending = pending.then(fn, fn);
    };
    const onProgress = (p: JobProgress) => {
      if (p.output) {
        const o = p.output;
        this.onDidStreamEmitter.fire({ cell, output: o });
        streamed.push(o);
        const [output] = toNotebookOutputs([o]);
        const key = liveKey(o);
        const target = key !== undefined ? liveCharts.get(key) : undefined;
        if (target) queue(() => execution.replaceOutputItems(output.items, target));
        else {
          if (key !== undefined) liveCharts.set(key, output);
          queue(() => execution.appendOutput(output));
        }
      } else if (p.kind === 'report' && p.message) {
        const line = vscode.NotebookCellOutputItem.stdout(p.total ? `${p.message} (${p.done ?? 0}/${p.total})` : p.message);
        if (progressOutput) {
          const target = progressOutput;
          queue(() => execution.replaceOutputItems(line, target));
        } else {
          progressOutput = new vscode.NotebookCellOutput([line], { sedProgress: true });
          const created = progressOutput;
          queue(() => execution.appendOutput(created));
        }
      }
    };

    let success = false;
    let cancelled = false;
    try {
      const cwd = notebook.uri.scheme === 'file' ? path.dirname(notebook.uri.fsPath) : vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
      const result = await this.engine.request(
        ExecuteCellRequest,
        {
          notebook: notebook.uri.toString(),
          code: cell.document.getText(),
          language: cell.document.languageId === 'typescript' ? 'typescript' : 'javascript',
          ...(cwd ? { cwd } : {}),
        },
        { onProgress, signal: abort.signal },
      );
      await pending;
      execution.executionOrder = result.executionCount;
      await execution.replaceOutput(toNotebookOutputs(collapseLiveUpdates(result.outputs)));
      success = result.success;
    } catch (err) {
      await pending;
      const e = err as Error & { code?: number };
      cancelled = abort.signal.aborted || e.code === EngineErrorCodes.RequestCancelled;
      const outputs = toNotebookOutputs(collapseLiveUpdates(streamed));
      const error = new Error(cancelled ? 'Interrupted: the cell was cancelled and its engine job stopped.' : e.message);
      error.name = cancelled ? 'Interrupted' : 'EngineError';
      error.stack = `${error.name}: ${error.message}`;
      outputs.push(new vscode.NotebookCellOutput([vscode.NotebookCellOutputItem.error(error)]));
      await execution.replaceOutput(outputs);
    } finally {
      sub.dispose();
    }
    execution.end(success, Date.now());
    this.onDidExecuteEmitter.fire({ cell, success, cancelled });
    return success;
  }

  /** Drops the notebook's engine-side variables (the engine keeps running for other notebooks). */
  async restart(notebook: vscode.NotebookDocument): Promise<void> {
    if (!this.engine.isRunning) return; // nothing to reset: a fresh engine starts with empty contexts
    await this.engine.request(ResetKernelRequest, { notebook: notebook.uri.toString() });
  }

  dispose(): void {
    this.controller.dispose();
    this.onDidExecuteEmitter.dispose();
    this.onDidStreamEmitter.dispose();
  }
}

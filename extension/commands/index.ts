/** Registers every `sedStudio.*` command; each command's logic lives in its own module. */
import * as vscode from 'vscode';
import type { SedEngine } from '../engine';
import type { SedKernel } from '../notebook/controller';
import { detectCommand } from './detect';
import { engineInfoCommand } from './engineInfo';
import { exportResultsCommand } from './exportResults';
import { newNotebookCommand } from './newNotebook';
import { profileModelsCommand } from './profileModels';
import { pullModelCommand } from './pullModel';
import { restartEngineCommand, restartKernelCommand } from './restart';
import { selectBackendCommand } from './selectBackend';
import { tradeoffChartCommand } from './tradeoffChart';

/** Errors become one notification naming the command (and are rethrown so callers/tests see them). */
function guarded<A extends unknown[], R>(title: string, fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (err) {
      void vscode.window.showErrorMessage(`SED: ${title} failed: ${(err as Error).message}`);
      throw err;
    }
  };
}

export function registerCommands(engine: SedEngine, kernel: SedKernel): vscode.Disposable[] {
  const table: Record<string, [string, (...args: any[]) => Promise<unknown>]> = {
    'sedStudio.detect': ['Detect Sound Events', (uri?: unknown, _uris?: unknown, opts?: unknown) => detectCommand(engine, uri, pickOptions(_uris, opts))],
    'sedStudio.exportResults': ['Export Detection Results', (args?: unknown) => exportResultsCommand(isPlainObject(args) ? args : {})],
    'sedStudio.selectBackend': ['Select Backend', (backend?: unknown) => selectBackendCommand(engine, typeof backend === 'string' ? backend : undefined)],
    'sedStudio.showEngineInfo': ['Show Engine Info', (opts?: unknown) => engineInfoCommand(engine, isPlainObject(opts) ? opts : {})],
    'sedStudio.pullModel': ['Pull Pretrained Model', (release?: unknown) => pullModelCommand(engine, typeof release === 'string' ? release : undefined)],
    'sedStudio.profileModels': ['Profile Models', (args?: unknown) => profileModelsCommand(engine, isPlainObject(args) ? args : {})],
    'sedStudio.openTradeoffChart': ['Open Trade-off Chart', (arg?: unknown) => tradeoffChartCommand(engine, arg)],
    'sedStudio.restartEngine': ['Restart Engine', () => restartEngineCommand(engine)],
    'sedStudio.restartKernel': ['Restart Kernel', (arg?: unknown) => restartKernelCommand(kernel, arg)],
    'sedStudio.newNotebook': ['New SED Notebook', () => newNotebookCommand()],
  };
  return Object.entries(table).map(([id, [title, fn]]) => vscode.commands.registerCommand(id, guarded(title, fn)));
}

function isPlainObject(x: unknown): x is Record<string, any> {
  return !!x && typeof x === 'object' && !(x instanceof vscode.Uri) && !Array.isArray(x);
}

/** Explorer menus call (uri, selectedUris); scripts call (uri, options). */
function pickOptions(second: unknown, third: unknown): Record<string, any> {
  if (isPlainObject(second)) return second;
  if (isPlainObject(third)) return third;
  return {};
}

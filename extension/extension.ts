/**
 * Extension entry: wires the pieces together and returns. Activation is cheap — nothing here starts the
 * engine or loads tfjs; the engine starts on the first command or cell execution that needs it.
 */
import * as vscode from 'vscode';
import { registerCommands } from './commands/index';
import { SedEngine } from './engine';
import { SedKernel } from './notebook/controller';
import { NOTEBOOK_TYPE, SednbSerializer } from './notebook/serializer';
import { forgetResults } from './results/view';

/** What `activate` returns (extensions.getExtension(...).exports): for tests and other extensions. */
export interface SedStudioApi {
  engine: SedEngine;
  kernel: SedKernel;
  /** Milliseconds `activate` took. */
  activationMs: number;
}

export function activate(context: vscode.ExtensionContext): SedStudioApi {
  const t0 = performance.now();
  const engine = new SedEngine(context);
  const kernel = new SedKernel(engine);
  context.subscriptions.push(
    engine,
    kernel,
    vscode.workspace.registerNotebookSerializer(NOTEBOOK_TYPE, new SednbSerializer(), { transientOutputs: false }),
    ...registerCommands(engine, kernel),
    vscode.workspace.onDidCloseNotebookDocument((nb) => forgetResults(nb)),
  );
  return { engine, kernel, activationMs: performance.now() - t0 };
}

export function deactivate(): void {
  // The engine (and its process tree) is disposed with context.subscriptions.
}

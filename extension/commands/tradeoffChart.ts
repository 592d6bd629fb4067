/**
 * "SED: Open Trade-off Chart": PSDS1 (or MACs) against parameters for a sweep's results — the paper's
 * Fig. 1 — from a trade-off JSON (written by `sed/sweep`, with `psds1` per row once models are evaluated).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SedEngine } from '../engine';
import { showTradeoffNotebook } from '../results/chartNotebook';
import { parseTradeoffFile } from '../results/tradeoff';

export async function tradeoffChartCommand(engine: SedEngine, arg?: unknown): Promise<vscode.NotebookDocument | undefined> {
  let file = arg instanceof vscode.Uri ? arg.fsPath : typeof arg === 'string' ? arg : undefined;
  if (!file) {
    const found = await vscode.workspace.findFiles('{**/*sweep*.json,**/*tradeoff*.json}', '**/node_modules/**', 50);
    const items = [
      ...found.map((u) => ({ label: path.basename(u.fsPath), description: vscode.workspace.asRelativePath(u), file: u.fsPath })),
      { label: '$(folder-opened) Browse…', description: '', file: '' },
    ];
    const pick = await vscode.window.showQuickPick(items, { title: 'SED: sweep results to chart' });
    if (!pick) return undefined;
    file = pick.file;
    if (!file) {
      const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'Sweep results': ['json'] } });
      file = picked?.[0]?.fsPath;
      if (!file) return undefined;
    }
  }
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
  const chart = parseTradeoffFile(fs.readFileSync(file, 'utf8'), file);
  chart.title ??= `Performance-complexity trade-off (${path.basename(file)})`;
  return showTradeoffNotebook(engine.resultsDir, chart, {
    code: `// Rows from ${file}\nJSON.parse(require('fs').readFileSync(${JSON.stringify(file)}, 'utf8'))`,
    note: 'Colours: sequence model; points: hidden sizes. Switch the x axis between parameters, MACs and throughput in the chart.',
  });
}

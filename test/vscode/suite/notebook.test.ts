/**
 * SED notebooks: the .sednb serializer (round trip, stable human-diffable JSON) and the kernel running
 * cells in the engine process — outputs and their MIME types, state across cells, a throwing cell, an
 * interrupted cell (its engine job cancelled), and Restart Kernel.
 */
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ListJobsRequest } from '../../../engine/protocol/protocol';
import { browserAvailable, screenshot } from './browser';
import { allItems, api, childProcesses, outputText, repoRoot, runCell, waitFor, workspaceDir } from './helpers';

const ERROR_MIME = 'application/vnd.code.notebook.error';
const STDOUT_MIME = 'application/vnd.code.notebook.stdout';
const TRADEOFF_MIME = 'application/vnd.sed-studio.tradeoff+json';
const CURVES_MIME = 'application/vnd.sed-studio.training-curves+json';

function sednb(cells: Array<{ kind?: 'code' | 'markdown'; source: string; language?: string }>): string {
  return JSON.stringify({
    format: 'sed-notebook',
    version: 1,
    metadata: {},
    cells: cells.map((c) => ({ kind: c.kind ?? 'code', language: c.language ?? (c.kind === 'markdown' ? 'markdown' : 'javascript'), source: c.source.split('\n'), outputs: [] })),
  }, null, 2);
}

const CELLS = [
  { kind: 'markdown' as const, source: '# kernel test' },
  /* 1 */ { source: "const x = 21;\nconsole.log('hello from the engine', process.pid);\nx * 2" },
  /* 2 */ { source: 'x + 1' },
  /* 3 */ { source: `sed.display('${TRADEOFF_MIME}', { title: 't', points: [{ name: 'fmn10', seq: 'none', params: 1e6, macs: 1e8, psds1: 0.4 }], x: 'params', y: 'psds1' }); 'shown'` },
  /* 4 */ { source: "throw new TypeError('boom from cell 4')" },
  /* 5 */ { source: "console.log('long cell started');\nfor (let i = 0; i < 600; i++) { sed.progress(i, 600, 'waiting'); await sed.sleep(100); }\n'not interrupted'" },
  /* 6 */ { source: 'const n: number = 5;\nn * 2', language: 'typescript' },
  /* 7 */ { source: 'typeof x' },
  /* 8 */ { source: "const rows = [];\nfor (let epoch = 1; epoch <= 3; epoch++) {\n  rows.push({ epoch, loss: 1 / epoch });\n  sed.display('application/vnd.sed-studio.training-curves+json', { title: 'live', total_epochs: 3, rows });\n  await sed.sleep(300);\n}\n'trained'" },
];

suite('notebook', () => {
  let notebook: vscode.NotebookDocument;
  let file: string;

  suiteSetup(async () => {
    file = path.join(workspaceDir(), 'kernel-test.sednb');
    fs.writeFileSync(file, sednb(CELLS));
    notebook = await vscode.workspace.openNotebookDocument(vscode.Uri.file(file));
    await vscode.window.showNotebookDocument(notebook);
    await vscode.commands.executeCommand('notebook.selectKernel', { id: 'sed-kernel', extension: 'sed-studio.sed-studio' });
  });

  test('the serializer reads the .sednb cells', () => {
    assert.strictEqual(notebook.notebookType, 'sed-notebook');
    assert.strictEqual(notebook.cellCount, CELLS.length);
    assert.strictEqual(notebook.cellAt(0).kind, vscode.NotebookCellKind.Markup);
    assert.strictEqual(notebook.cellAt(1).document.getText(), CELLS[1].source);
    assert.strictEqual(notebook.cellAt(6).document.languageId, 'typescript');
  });

  test('a cell runs in the engine process: console output and the value', async () => {
    const cell = await runCell(notebook, 1);
    const items = allItems(cell);
    const stdout = items.filter((i) => i.mime === STDOUT_MIME).map(outputText).join('\n');
    const m = /hello from the engine (\d+)/.exec(stdout);
    assert.ok(m, `stdout was ${JSON.stringify(stdout)}; outputs ${items.map((i) => i.mime)}`);
    const sed = await api();
    assert.strictEqual(Number(m[1]), sed.engine.pid, 'the cell did not run in the engine process');
    assert.notStrictEqual(Number(m[1]), process.pid);
    assert.ok(items.some((i) => i.mime !== STDOUT_MIME && outputText(i).includes('42')), `no value output 42 in ${items.map((i) => `${i.mime}: ${outputText(i)}`)}`);
    assert.strictEqual(cell.executionSummary?.success, true);
    assert.ok((cell.executionSummary?.executionOrder ?? 0) >= 1);
    assert.strictEqual(childProcesses(/engine\.js/).length, 1, 'expected exactly one engine process');
  });

  test('state persists across cells', async () => {
    const cell = await runCell(notebook, 2);
    assert.ok(allItems(cell).some((i) => outputText(i).trim() === '22'), `outputs: ${allItems(cell).map(outputText)}`);
  });

  test('display() outputs carry our MIME types', async () => {
    const cell = await runCell(notebook, 3);
    const item = allItems(cell).find((i) => i.mime === TRADEOFF_MIME);
    assert.ok(item, `no ${TRADEOFF_MIME} output in ${allItems(cell).map((i) => i.mime)}`);
    const payload = JSON.parse(outputText(item));
    assert.strictEqual(payload.points[0].name, 'fmn10');
  });

  test('a throwing cell shows the error and fails', async () => {
    const cell = await runCell(notebook, 4);
    const err = allItems(cell).find((i) => i.mime === ERROR_MIME);
    assert.ok(err, `no error output in ${allItems(cell).map((i) => i.mime)}`);
    const e = JSON.parse(outputText(err));
    assert.strictEqual(e.name, 'TypeError');
    assert.match(e.message, /boom from cell 4/);
    assert.strictEqual(cell.executionSummary?.success, false);
  });

  test('interrupting a cell cancels its engine job', async () => {
    const sed = await api();
    const cell = notebook.cellAt(5);
    const started = new Promise<void>((resolve) => {
      const sub = sed.kernel.onDidStreamOutput((e) => {
        if (e.cell.document.uri.toString() === cell.document.uri.toString() && e.output.data.includes('long cell started')) {
          sub.dispose();
          resolve();
        }
      });
    });
    const finished = new Promise<{ success: boolean; cancelled: boolean }>((resolve) => {
      const sub = sed.kernel.onDidExecuteCell((e) => {
        if (e.cell.document.uri.toString() === cell.document.uri.toString()) {
          sub.dispose();
          resolve(e);
        }
      });
    });
    const t0 = Date.now();
    void vscode.commands.executeCommand('notebook.cell.execute', { ranges: [{ start: 5, end: 6 }], document: notebook.uri });
    await started;
    // The live progress line streams into the cell while it runs.
    await waitFor('a progress line in the running cell', () => allItems(notebook.cellAt(5)).some((i) => /waiting \(\d+\/600\)/.test(outputText(i))), 10_000);
    await vscode.commands.executeCommand('notebook.cell.cancelExecution', { ranges: [{ start: 5, end: 6 }], document: notebook.uri });
    const outcome = await finished;
    const elapsed = Date.now() - t0;
    assert.ok(elapsed < 30_000, `the interrupted cell took ${elapsed} ms to stop`);
    assert.strictEqual(outcome.cancelled, true);
    assert.strictEqual(outcome.success, false);
    const after = notebook.cellAt(5);
    const err = allItems(after).find((i) => i.mime === ERROR_MIME);
    assert.ok(err && /Interrupted/.test(outputText(err)), `outputs: ${allItems(after).map((i) => `${i.mime}: ${outputText(i)}`)}`);
    assert.ok(allItems(after).some((i) => outputText(i).includes('long cell started')), 'the output streamed before the interrupt was lost');
    const { jobs } = await sed.engine.request(ListJobsRequest);
    const cancelled = jobs.filter((j) => j.kind === 'executeCell' && j.state === 'cancelled');
    assert.strictEqual(cancelled.length, 1, `expected one cancelled executeCell job: ${JSON.stringify(jobs)}`);
    assert.ok(!jobs.some((j) => j.state === 'running'), `jobs still running: ${JSON.stringify(jobs)}`);
  });

  test('TypeScript cells run', async () => {
    const cell = await runCell(notebook, 6);
    assert.strictEqual(cell.executionSummary?.success, true, `outputs: ${allItems(cell).map(outputText)}`);
    assert.ok(allItems(cell).some((i) => outputText(i).trim() === '10'));
  });

  test('Restart Kernel drops the notebook state', async () => {
    const before = await runCell(notebook, 7);
    assert.ok(allItems(before).some((i) => outputText(i).includes('number')), `before restart: ${allItems(before).map(outputText)}`);
    await vscode.commands.executeCommand('sedStudio.restartKernel', notebook.uri);
    const after = await runCell(notebook, 7);
    assert.ok(allItems(after).some((i) => outputText(i).includes('undefined')), `after restart: ${allItems(after).map(outputText)}`);
  });

  test('the example notebook (Fig. 1, small) opens, its cells parse and its settings cell runs', async () => {
    const example = path.join(repoRoot(), 'examples', 'fig1-small.sednb');
    const nb = await vscode.workspace.openNotebookDocument(vscode.Uri.file(example));
    assert.strictEqual(nb.notebookType, 'sed-notebook');
    const code = nb.getCells().filter((c) => c.kind === vscode.NotebookCellKind.Code);
    assert.ok(code.length >= 5, `only ${code.length} code cells`);
    const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (...args: string[]) => unknown;
    for (const c of code) assert.doesNotThrow(() => new AsyncFunction('sed', 'require', c.document.getText()), `cell ${c.index + 1} does not parse`);
    assert.ok(code.some((c) => c.document.getText().includes('sed.profile(')) && code.some((c) => c.document.getText().includes('sed.train(')) && code.some((c) => c.document.getText().includes('sed.evaluate(')));
    await vscode.window.showNotebookDocument(nb);
    const cell = await runCell(nb, code[0].index);
    assert.strictEqual(cell.executionSummary?.success, true, `outputs: ${allItems(cell).map(outputText)}`);
    assert.ok(allItems(cell).some((i) => /14 models: fmn10, fmn20, fmn10\+tf:128/.test(outputText(i))), `outputs: ${allItems(cell).map(outputText)}`);
    // The complexity cell calls the engine's sed API (profile + show.tradeoff).
    const profileCell = code.find((c) => c.document.getText().includes('sed.profile('))!;
    const profiled = await runCell(nb, profileCell.index);
    assert.strictEqual(profiled.executionSummary?.success, true, `outputs: ${allItems(profiled).map(outputText)}`);
    const chart = allItems(profiled).find((i) => i.mime === TRADEOFF_MIME);
    assert.ok(chart, `no trade-off chart in ${allItems(profiled).map((i) => i.mime)}`);
    assert.strictEqual(JSON.parse(outputText(chart)).rows.length, 14);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    await vscode.window.showNotebookDocument(notebook);
  });

  test('live training curves update one output in place', async () => {
    const sed = await api();
    const cell = notebook.cellAt(8);
    let streamedCharts = 0;
    const sub = sed.kernel.onDidStreamOutput((e) => {
      if (e.cell.document.uri.toString() === cell.document.uri.toString() && e.output.mime === CURVES_MIME) streamedCharts++;
    });
    const seen = new Set<number>();
    const watch = vscode.workspace.onDidChangeNotebookDocument(() => {
      const charts = allItems(notebook.cellAt(8)).filter((i) => i.mime === CURVES_MIME);
      if (charts.length === 1) seen.add(JSON.parse(outputText(charts[0])).rows.length);
    });
    try {
      await runCell(notebook, 8);
    } finally {
      sub.dispose();
      watch.dispose();
    }
    assert.strictEqual(streamedCharts, 3, 'expected three streamed chart updates');
    const charts = allItems(notebook.cellAt(8)).filter((i) => i.mime === CURVES_MIME);
    assert.strictEqual(charts.length, 1, `expected one training-curves output, got ${charts.length}`);
    assert.strictEqual(JSON.parse(outputText(charts[0])).rows.length, 3);
    assert.ok(seen.size >= 2, `the chart was not updated while the cell ran (row counts seen: ${[...seen]})`);
  });

  test('saving writes stable, human-diffable JSON with the outputs', async () => {
    assert.ok(await notebook.save(), 'save failed');
    const text = fs.readFileSync(file, 'utf8');
    const data = JSON.parse(text);
    assert.strictEqual(data.format, 'sed-notebook');
    assert.ok(text.includes('\n  "cells": ['), 'not pretty-printed');
    const outs = data.cells[3].outputs.flatMap((o: { items: Array<{ mime: string; json?: unknown }> }) => o.items);
    const tradeoff = outs.find((i: { mime: string }) => i.mime === TRADEOFF_MIME);
    assert.ok(tradeoff && tradeoff.json, 'the tradeoff output was not stored as JSON');
    // Keys are sorted, so re-saving the same content gives identical bytes.
    assert.deepStrictEqual(Object.keys(tradeoff.json), Object.keys(tradeoff.json).sort());
    const errorCell = data.cells[4];
    assert.strictEqual(errorCell.execution.success, false);
    // Reopening gives the same outputs back.
    const reopened = await vscode.workspace.openNotebookDocument(vscode.Uri.file(file));
    assert.ok(allItems(reopened.cellAt(3)).some((i) => i.mime === TRADEOFF_MIME));
    if (browserAvailable()) {
      await vscode.window.showNotebookDocument(notebook);
      await vscode.commands.executeCommand('notebook.focusTop');
      console.log(`      screenshot: ${(await screenshot('notebook-kernel')).path}`);
    }
  });
});

/**
 * Snippets and training run for real in the kernel: the profile, detect and sweep snippets (placeholders
 * at their defaults) against the engine's sed API, and a tiny KD-free training run whose live training
 * curves stream into the cell.
 */
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { serializeSednb } from '../../../extension/notebook/format';
import { allItems, api, outputText, repoRoot, runCell, sharedDir, waitFor, workspaceDir } from './helpers';
import { writeRandomCheckpoint } from './checkpoint';

const CURVES_MIME = 'application/vnd.sed-studio.training-curves+json';

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms))]);
}

/** A snippet's body as the user gets it after tabbing through the placeholders. */
function snippetCode(name: string): string {
  const snippets = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'snippets', 'sednb.code-snippets'), 'utf8')) as Record<string, { body: string[] }>;
  const s = snippets[name];
  assert.ok(s, `no snippet "${name}" (have: ${Object.keys(snippets).join(', ')})`);
  return s.body.join('\n').replace(/\$\{\d+:([^}]*)\}/g, '$1').replace(/\$\{\d+\|([^,|]*)[^}]*\}/g, '$1').replace(/\$\d+/g, '').replace(/\\\$/g, '$');
}

async function runAll(nb: vscode.NotebookDocument): Promise<void> {
  for (let i = 0; i < nb.cellCount; i++) await runCell(nb, i);
}

async function openCells(name: string, sources: string[]): Promise<vscode.NotebookDocument> {
  const file = path.join(workspaceDir(), name);
  fs.writeFileSync(file, serializeSednb({ metadata: {}, cells: sources.map((source) => ({ kind: 'code' as const, language: 'javascript', source, outputs: [] })) }));
  const nb = await vscode.workspace.openNotebookDocument(vscode.Uri.file(file));
  await vscode.window.showNotebookDocument(nb);
  return nb;
}

suite('snippets and training in the kernel', () => {
  test('the profile, detect and sweep snippets run against the engine', async () => {
    const ckpt = writeRandomCheckpoint(path.join(workspaceDir(), 'snippet-ckpt'));
    const wav = path.join(sharedDir(), 'data', 'dcase2016t2-samples', 'keyboard009.wav');
    const detect = snippetCode('SED: detect sound events in a file').replace('../shared/data/dcase2016t2-samples/keyboard009.wav', wav).replace("model: 'default'", `model: ${JSON.stringify(ckpt)}`);
    const nb = await openCells('snippets.sednb', [snippetCode('SED: build and profile models'), detect, snippetCode('SED: sweep sequence models and plot the trade-off')]);
    await runAll(nb);
    const describe = (i: number) => allItems(nb.cellAt(i)).map((it) => `${it.mime}: ${outputText(it).slice(0, 300)}`).join('\n');
    for (let i = 0; i < 3; i++) assert.strictEqual(nb.cellAt(i).executionSummary?.success, true, `snippet cell ${i + 1} failed:\n${describe(i)}`);
    const mimes = (i: number) => allItems(nb.cellAt(i)).map((it) => it.mime);
    assert.ok(mimes(0).includes('application/vnd.sed-studio.tradeoff+json'), describe(0));
    assert.ok(mimes(1).includes('application/vnd.sed-studio.spectrogram') && mimes(1).includes('application/vnd.sed-studio.event-roll'), describe(1));
    const sweep = allItems(nb.cellAt(2)).find((it) => it.mime === 'application/vnd.sed-studio.tradeoff+json');
    assert.ok(sweep, describe(2));
    assert.strictEqual(JSON.parse(outputText(sweep)).rows.length, 26);
  });

  test('training streams live curves into its cell', async () => {
    const data = path.join(sharedDir(), 'data', 'dcase2016t2-soundscapes');
    const outDir = path.join(workspaceDir(), 'train-run');
    const code = [
      'const run = await sed.train({',
      `  model: 'fmn04', outDir: ${JSON.stringify(outDir)}, epochs: 2, batchSize: 2, limit: 4, seed: 1, live: true,`,
      `  trainTsv: ${JSON.stringify(path.join(data, 'metadata', 'train.tsv'))}, trainAudio: ${JSON.stringify(path.join(data, 'audio', 'train'))},`,
      '});',
      'run.epochsDone',
    ].join('\n');
    const nb = await openCells('train.sednb', [code]);
    const sed = await api();
    let streamedCurves = 0;
    const sub = sed.kernel.onDidStreamOutput((e) => {
      if (e.output.mime === CURVES_MIME) streamedCurves++;
    });
    try {
      await runAll(nb);
    } finally {
      sub.dispose();
    }
    const items = allItems(nb.cellAt(0));
    const describe = items.map((it) => `${it.mime}: ${outputText(it).slice(0, 300)}`).join('\n');
    assert.strictEqual(nb.cellAt(0).executionSummary?.success, true, describe);
    assert.ok(streamedCurves >= 2, `expected a curves update per epoch, got ${streamedCurves}`);
    const curves = items.filter((it) => it.mime === CURVES_MIME);
    assert.strictEqual(curves.length, 1, describe);
    assert.strictEqual(JSON.parse(outputText(curves[0])).rows.length, 2);
    assert.ok(items.some((it) => outputText(it).trim() === '2'), describe);
    assert.ok(fs.existsSync(path.join(outDir, 'last', 'config.json')), 'no checkpoint written');
  });

  test('interrupting a training cell stops the run and keeps a checkpoint', async () => {
    const data = path.join(sharedDir(), 'data', 'dcase2016t2-soundscapes');
    const outDir = path.join(workspaceDir(), 'train-interrupted');
    const code = [
      'await sed.train({',
      `  model: 'fmn04', outDir: ${JSON.stringify(outDir)}, epochs: 8, batchSize: 2, limit: 4, seed: 2, live: true,`,
      `  trainTsv: ${JSON.stringify(path.join(data, 'metadata', 'train.tsv'))}, trainAudio: ${JSON.stringify(path.join(data, 'audio', 'train'))},`,
      '});',
    ].join('\n');
    const nb = await openCells('train-interrupt.sednb', [code]);
    const sed = await api();
    const cell = nb.cellAt(0);
    const firstEpoch = new Promise<void>((resolve) => {
      const sub = sed.kernel.onDidStreamOutput((e) => {
        if (e.output.mime === CURVES_MIME) {
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
    void vscode.commands.executeCommand('notebook.cell.execute', { ranges: [{ start: 0, end: 1 }], document: nb.uri });
    await within(firstEpoch, 120_000, 'the first epoch\'s training curves');
    await vscode.commands.executeCommand('notebook.cell.cancelExecution', { ranges: [{ start: 0, end: 1 }], document: nb.uri });
    // A cancelled job stops at the next batch (about a second here); a minute means the cancel was ignored.
    const outcome = await within(finished, 60_000, 'the interrupted training cell to end');
    assert.strictEqual(outcome.cancelled, true, 'the training cell ran to its end: the engine did not act on the cancellation');
    const items = allItems(nb.cellAt(0));
    assert.ok(items.some((it) => it.mime === CURVES_MIME), 'the live curves were lost on interrupt');
    assert.ok(items.some((it) => it.mime === 'application/vnd.code.notebook.error' && /Interrupted/.test(outputText(it))));
    // The trainer stops at the next batch and saves its last checkpoint.
    await waitFor('the interrupted run to save its checkpoint', () => fs.existsSync(path.join(outDir, 'last', 'config.json')), 60_000);
    const history = JSON.parse(fs.readFileSync(path.join(outDir, 'history.json'), 'utf8'));
    assert.ok(history.history.length < 8, `training ran all ${history.history.length} epochs`);
  });
});

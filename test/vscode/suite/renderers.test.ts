/**
 * Our renderers draw inside VS Code's notebook webview: a .sednb whose outputs carry the spectrogram
 * and event-roll MIME types (payloads built with renderers/lib/encode.ts) is opened, and the webview
 * DOM is read through the runner (canvas pixels actually painted), with a screenshot as an artifact.
 * The detection results view (detect.test.ts) is captured the same way.
 */
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { serializeSednb, type RawOutput } from '../../../extension/notebook/format';
import { encodeEventRoll, encodeSpectrogram, melCentreFrequencies, MIME } from '../../../renderers/lib/encode';
import { browserAvailable, screenshot, waitForFrames } from './browser';
import { api, workspaceDir } from './helpers';

function syntheticOutputs(): RawOutput[] {
  const bins = 128;
  const frames = 400;
  const db = new Float32Array(bins * frames);
  // A rising chirp over a noise floor: easy to recognise in the screenshot.
  for (let r = 0; r < bins; r++) for (let t = 0; t < frames; t++) db[r * frames + t] = -70 + 10 * Math.sin(r * 0.3 + t * 0.05) + (Math.abs(r - (t * bins) / frames) < 3 ? 60 : 0);
  const spec = { db, bins, frames, header: { kind: 'mel' as const, freqs_hz: melCentreFrequencies(bins), hop_s: 0.01, title: 'synthetic chirp' } };
  const classes = ['Speech', 'Dog', 'Computer keyboard'];
  const T = 100;
  const probs = new Float32Array(classes.length * T);
  for (let c = 0; c < classes.length; c++) for (let t = 0; t < T; t++) probs[c * T + t] = t > 20 * (c + 1) && t < 20 * (c + 1) + 25 ? 0.9 : 0.05;
  return [
    { items: [{ mime: MIME.spectrogram, data: encodeSpectrogram(spec) }] },
    { items: [{ mime: MIME.eventRoll, data: encodeEventRoll({ probs, classes, frames: T, hop_s: 0.04, threshold: 0.5, title: 'synthetic roll' }) }] },
  ];
}

suite('renderers', () => {
  suiteSetup(async () => {
    await api();
  });

  test('the spectrogram and event roll renderers draw in the notebook webview', async () => {
    const file = path.join(workspaceDir(), 'renderer-check.sednb');
    fs.writeFileSync(file, serializeSednb({ metadata: {}, cells: [{ kind: 'code', language: 'javascript', source: '// renderer check', outputs: syntheticOutputs() }] }));
    const nb = await vscode.workspace.openNotebookDocument(vscode.Uri.file(file));
    await vscode.window.showNotebookDocument(nb);
    assert.deepStrictEqual(nb.cellAt(0).outputs.flatMap((o) => o.items.map((i) => i.mime)), [MIME.spectrogram, MIME.eventRoll]);
    // Only the server+Chromium runner (run.mjs) can look into the webview; test-electron stops here.
    if (!browserAvailable()) return;
    const canvases = await waitForFrames('canvas', (m) => m.filter((c) => (c.paintedPixels ?? 0) > 2000).length >= 2, 60_000);
    const painted = canvases.filter((c) => (c.paintedPixels ?? 0) > 0);
    console.log(`      ${painted.length} painted canvases: ${painted.map((c) => `${Math.round(c.width)}×${Math.round(c.height)} (${c.paintedPixels} px)`).join(', ')}`);
    const shot = await screenshot('renderers-synthetic');
    console.log(`      screenshot: ${shot.path}`);
    // Titles and the roll's summary are DOM text (class labels are drawn on the canvas).
    await waitForFrames('body', (m) => m.some((b) => b.text.includes('synthetic chirp')) && m.some((b) => /3 events in 3 of 3 classes/.test(b.text)), 10_000);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  test('the detection results view draws its spectrogram and event roll', async () => {
    const nb = vscode.workspace.notebookDocuments.find((d) => (d.metadata as { sedStudio?: { kind?: string } }).sedStudio?.kind === 'detection');
    assert.ok(nb, 'no detection results view is open (detect.test.ts runs first)');
    await vscode.window.showNotebookDocument(nb);
    if (!browserAvailable()) return;
    const canvases = await waitForFrames('canvas', (m) => m.filter((c) => (c.paintedPixels ?? 0) > 2000).length >= 2, 60_000);
    assert.ok(canvases.length >= 2);
    const shot = await screenshot('detect-results');
    console.log(`      screenshot: ${shot.path}`);
    await waitForFrames('body', (m) => m.some((b) => b.text.includes('keyboard009.wav')), 10_000);
  });
});

/**
 * Spectrogram renderer in headless Chromium: a synthetic image with a known tone (pixel colours at
 * known positions, hover read-out, zoom/pan, colormap switch), a log-mel computed from a real DCASE
 * soundscape, an hour-long payload (level of detail), malformed payloads and dispose.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { encodeSpectrogram, MIME } from '../../renderers/lib/encode';
import { closeBrowser, openHarness, pixelAt, type Harness } from './harness';
import { loadAudio, logMel, SOUNDSCAPES } from './fixtures';

/** 10 s, 10 ms hop, 257 linear bins 0–8 kHz; a 0 dB tone at 1 kHz ± 3 bins from 2 s to 6 s over a −80 dB floor. */
function toneSpectrogram() {
  const bins = 257;
  const frames = 1000;
  const freqs = Array.from({ length: bins }, (_, i) => (i * 8000) / (bins - 1));
  const db = new Float32Array(bins * frames).fill(-80);
  const row = freqs.indexOf(1000);
  for (let t = 200; t < 600; t++) for (let r = row - 3; r <= row + 3; r++) db[r * frames + t] = 0;
  return { db, bins, frames, freqs };
}

describe('renderers: spectrogram (headless Chromium)', function () {
  this.timeout(120_000);
  let h: Harness;
  const plotOf = async (id: string) => (await h.page.locator(`#${id} .sed-root`).getAttribute('data-plot'))!.split(',').map(Number);

  before(async () => {
    h = await openHarness();
    const s = toneSpectrogram();
    h.fixture('tone', encodeSpectrogram({ db: s.db, bins: s.bins, frames: s.frames, header: { kind: 'linear', freqs_hz: s.freqs, hop_s: 0.01, title: '1 kHz tone' }, dbRange: [-80, 0] }));
  });
  after(async () => {
    await h?.close();
    await closeBrowser();
  });

  it('draws the tone bright and the floor dark at known positions (viridis), with axes in s and Hz', async () => {
    await h.render('spectrogram', 'tone', MIME.spectrogram, 'tone');
    const [x, y, w, hgt] = await plotOf('tone');
    // Row of 1 kHz: bins are drawn bottom-up, 256 intervals over the plot height.
    const yTone = y + hgt - ((1000 / 8000) * 256 + 0.5) / 257 * hgt;
    const bright = await pixelAt(h.page, '#tone canvas', x + (4 / 10) * w, yTone);
    const before = await pixelAt(h.page, '#tone canvas', x + (1 / 10) * w, yTone);
    const high = await pixelAt(h.page, '#tone canvas', x + (4 / 10) * w, y + 10);
    // viridis(1) ≈ (253, 231, 37) yellow; viridis(0) ≈ (68, 1, 84) dark purple.
    assert.ok(bright[0] > 200 && bright[1] > 200 && bright[2] < 90, `tone pixel ${bright}`);
    for (const px of [before, high]) assert.ok(px[0] < 90 && px[1] < 30 && px[2] > 60 && px[2] < 110, `floor pixel ${px}`);
    const title = await h.page.locator('#tone .sed-title').textContent();
    assert.match(title!, /1 kHz tone — linear, 257 bins, 10\.00 s/);
    await h.screenshot('tone', 'spectrogram-tone.png');
  });

  it('hover shows time, frequency and dB under the pointer', async () => {
    const [x, y, w, hgt] = await plotOf('tone');
    const box = (await h.page.locator('#tone canvas').first().boundingBox())!;
    const yTone = y + hgt - ((1000 / 8000) * 256 + 0.5) / 257 * hgt;
    await h.page.mouse.move(box.x + x + 0.4 * w, box.y + yTone);
    const text = await h.page.locator('#tone .sed-readout').textContent();
    assert.match(text!, /t = 4\.0\d s {3}f = 1 kHz {3}0\.0 dB/);
    await h.page.mouse.move(box.x + x + 0.1 * w, box.y + yTone);
    assert.match((await h.page.locator('#tone .sed-readout').textContent())!, /t = 1\.0\d s .* -80\.0 dB/);
  });

  it('zooms with the buttons and Ctrl+wheel, pans by dragging, resets on "show all"', async () => {
    const root = h.page.locator('#tone .sed-root');
    await h.page.click('#tone button[data-action="zoom-in"]');
    await h.page.waitForFunction(() => document.querySelector<HTMLElement>('#tone .sed-root')!.dataset.view === '2.500,7.500');
    const [x, y, w] = await plotOf('tone');
    const box = (await h.page.locator('#tone canvas').first().boundingBox())!;
    // The tone now starts at 2 s: −0.5 s from the left edge of the 5 s window → x = 10%.
    const edge = await pixelAt(h.page, '#tone canvas', x + 0.02 * w, y + 200);
    assert.ok(edge[2] > 60, 'left of the window is still the floor');
    await h.page.mouse.move(box.x + x + w / 2, box.y + 100);
    await h.page.mouse.down();
    await h.page.mouse.move(box.x + x + w / 2 - w / 5, box.y + 100, { steps: 4 });
    await h.page.mouse.up();
    await h.page.waitForFunction(() => document.querySelector<HTMLElement>('#tone .sed-root')!.dataset.view === '3.500,8.500');
    await h.page.keyboard.down('Control');
    await h.page.mouse.move(box.x + x + w / 2, box.y + 100);
    await h.page.mouse.wheel(0, -300);
    await h.page.keyboard.up('Control');
    await h.page.waitForFunction(() => {
      const [a, b] = document.querySelector<HTMLElement>('#tone .sed-root')!.dataset.view!.split(',').map(Number);
      return b - a < 4.9 && a > 3.5 && b < 8.5;
    });
    await h.page.click('#tone button[data-action="show-all"]');
    await h.page.waitForFunction(() => document.querySelector<HTMLElement>('#tone .sed-root')!.dataset.view === '0.000,10.000');
    assert.equal(await root.getAttribute('data-level'), '0');
  });

  it('follows a VS Code theme change (the --vscode-* variables on <body>)', async () => {
    const [x, y, w, hgt] = await plotOf('tone');
    const axisAt = () => pixelAt(h.page, '#tone canvas', x + 0.05 * w, y + hgt);
    const before = await axisAt();
    assert.deepEqual(before.slice(0, 3), [0x9d, 0x9d, 0x9d], 'axis line in the dark theme\'s descriptionForeground');
    await h.page.evaluate(() => document.body.style.setProperty('--vscode-descriptionForeground', '#00ff00'));
    await h.page.waitForFunction(() => {
      const c = document.querySelector('#tone canvas') as HTMLCanvasElement;
      const [xx, yy, ww, hh] = (document.querySelector('#tone .sed-root') as HTMLElement).dataset.plot!.split(',').map(Number);
      const d = c.getContext('2d')!.getImageData(Math.round(xx + 0.05 * ww), Math.round(yy + hh), 1, 1).data;
      return d[1] === 255 && d[0] === 0;
    });
    await h.page.evaluate(() => document.body.style.removeProperty('--vscode-descriptionForeground'));
    await h.page.waitForFunction(() => {
      const c = document.querySelector('#tone canvas') as HTMLCanvasElement;
      const [xx, yy, ww, hh] = (document.querySelector('#tone .sed-root') as HTMLElement).dataset.plot!.split(',').map(Number);
      return c.getContext('2d')!.getImageData(Math.round(xx + 0.05 * ww), Math.round(yy + hh), 1, 1).data[0] === 0x9d;
    });
  });

  it('switches the colormap to magma', async () => {
    await h.page.selectOption('#tone select', 'magma');
    const [x, y, w, hgt] = await plotOf('tone');
    const yTone = y + hgt - ((1000 / 8000) * 256 + 0.5) / 257 * hgt;
    await h.page.waitForTimeout(50);
    const bright = await pixelAt(h.page, '#tone canvas', x + 0.4 * w, yTone);
    const floor = await pixelAt(h.page, '#tone canvas', x + 0.1 * w, yTone);
    // magma(1) ≈ (252, 253, 191) pale yellow; magma(0) ≈ black.
    assert.ok(bright[0] > 230 && bright[1] > 220 && bright[2] > 150, `magma top ${bright}`);
    assert.ok(floor[0] < 15 && floor[1] < 15 && floor[2] < 25, `magma floor ${floor}`);
  });

  it('draws a log-mel computed from a real soundscape with mel-spaced Hz ticks', async () => {
    const a = await loadAudio(path.join(SOUNDSCAPES, 'audio', 'validation', 'validation_0000.flac'));
    const m = logMel(a.samples, a.sampleRate);
    h.fixture('mel', encodeSpectrogram({ db: m.db, bins: m.bins, frames: m.frames, header: { kind: 'mel', freqs_hz: m.freqs, hop_s: m.hop, title: 'validation_0000.flac' } }));
    await h.render('spectrogram', 'mel', MIME.spectrogram, 'mel');
    const title = await h.page.locator('#mel .sed-title').textContent();
    assert.match(title!, /log-mel, 128 bins, 10\.01 s/);
    // Mel rows are evenly spaced in mel: the middle of the plot is bin 64's centre (about 1.6 kHz, not 3.5 kHz).
    const [mx, my, mw, mh] = await plotOf('mel');
    const mbox = (await h.page.locator('#mel canvas').first().boundingBox())!;
    await h.page.mouse.move(mbox.x + mx + mw / 2, mbox.y + my + mh / 2 - 0.5 * (mh / 128));
    const expectHz = m.freqs[64];
    const shown = (await h.page.locator('#mel .sed-readout').textContent())!;
    assert.match(shown, new RegExp(`f = ${(expectHz / 1000).toFixed(1)} kHz`), `${shown} (bin 64 = ${expectHz.toFixed(0)} Hz)`);
    // The loudest region (the events between 2.8 and 4.5 s) is brighter than the quiet start.
    const [x, y, w, hgt] = await plotOf('mel');
    const mean = async (t0: number, t1: number) => {
      let s = 0;
      let n = 0;
      for (let t = t0; t < t1; t += 0.1) for (let f = 0.2; f < 0.9; f += 0.1) {
        const px = await pixelAt(h.page, '#mel canvas', x + (t / 10.01) * w, y + f * hgt);
        s += px[0] + px[1];
        n++;
      }
      return s / n;
    };
    const quiet = await mean(0.2, 1.2);
    const loud = await mean(3.2, 4.2);
    await h.screenshot('mel', 'spectrogram-logmel.png');
    assert.ok(loud > quiet + 25, `events region ${loud.toFixed(0)} vs quiet ${quiet.toFixed(0)}`);
    await h.screenshot('mel', 'spectrogram-logmel.png');
  });

  it('renders the small JSON form', async () => {
    const bins = 16;
    const frames = 50;
    const db = Array.from({ length: bins }, (_, r) => Array.from({ length: frames }, (_, t) => (r === 8 && t >= 10 && t < 30 ? -5 : -60)));
    h.fixture('json', { kind: 'linear', freqs_hz: Array.from({ length: bins }, (_, i) => i * 500), hop_s: 0.02, db });
    await h.render('spectrogram', 'json', MIME.spectrogramJson, 'json');
    const [x, y, w, hgt] = await plotOf('json');
    const px = await pixelAt(h.page, '#json canvas', x + 0.4 * w, y + hgt - (8.5 / 16) * hgt);
    assert.ok(px[0] > 200 && px[1] > 200, `json tone ${px}`);
  });

  it('keeps an hour-long spectrogram to a level of detail (never every column when zoomed out)', async () => {
    const bins = 128;
    const frames = 90000; // 1 h at the model's 40 ms frame rate
    const db = new Float32Array(bins * frames);
    for (let r = 0; r < bins; r++) for (let t = 0; t < frames; t++) db[r * frames + t] = -60 + 40 * Math.sin(t / 500 + r / 10);
    const bytes = encodeSpectrogram({ db, bins, frames, header: { kind: 'mel', freqs_hz: Array.from({ length: bins }, (_, i) => 50 + i * 50), hop_s: 0.04 } });
    assert.ok(bytes.length < 8e6, `payload ${bytes.length} bytes`);
    h.fixture('hour', bytes);
    await h.render('spectrogram', 'hour', MIME.spectrogram, 'hour');
    const root = h.page.locator('#hour .sed-root');
    assert.match((await h.page.locator('#hour .sed-title').textContent())!, /3600 s/);
    assert.ok(Number(await root.getAttribute('data-level')) >= 3, 'zoomed out draws a coarse level');
    for (let i = 0; i < 8; i++) await h.page.click('#hour button[data-action="zoom-in"]');
    await h.page.waitForFunction(() => document.querySelector<HTMLElement>('#hour .sed-root')!.dataset.level === '0');
    await h.screenshot('hour', 'spectrogram-1h-zoomed.png');
  });

  it('shows a readable error for malformed payloads', async () => {
    h.fixture('notst', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    await h.render('spectrogram', 'bad1', MIME.spectrogram, 'notst');
    assert.match((await h.page.locator('#bad1 .sed-error').textContent())!, /cannot render application\/vnd\.sed-studio\.spectrogram.*safetensors/s);
    h.fixture('nofreq', { kind: 'mel', hop_s: 0.01, db: [[1, 2], [3, 4]] });
    await h.render('spectrogram', 'bad2', MIME.spectrogramJson, 'nofreq');
    assert.match((await h.page.locator('#bad2 .sed-error pre').textContent())!, /field "freqs_hz" must be an array of numbers \(missing\)/);
    h.fixture('badkind', { kind: 'cqt', hop_s: 0.01, freqs_hz: [1, 2], db: [[1, 2], [3, 4]] });
    await h.render('spectrogram', 'bad3', MIME.spectrogramJson, 'badkind');
    assert.match((await h.page.locator('#bad3 .sed-error pre').textContent())!, /"kind" is 'cqt' \(valid: mel, linear\)/);
    h.fixture('ragged', { kind: 'linear', hop_s: 0.01, freqs_hz: [1, 2], db: [[1, 2], [3]] });
    await h.render('spectrogram', 'bad4', MIME.spectrogramJson, 'ragged');
    assert.match((await h.page.locator('#bad4 .sed-error pre').textContent())!, /"db"\[1\] must have 2 numbers/);
    await h.screenshot('bad2', 'spectrogram-error.png');
  });

  it('releases listeners and frames on dispose, and on a render aborted mid-way', async () => {
    const before = await h.live();
    assert.ok(before.listeners > 0);
    for (const id of ['tone', 'mel', 'json', 'hour']) await h.dispose('spectrogram', id);
    const after = await h.live();
    assert.deepEqual(after, { resources: 0, listeners: 0, frames: 0 });
    assert.equal(await h.page.locator('#tone .sed-root').count(), 0);
    // A render whose signal is aborted while it runs leaves nothing behind.
    await h.render('spectrogram', 'tone', MIME.spectrogram, 'tone', true);
    assert.deepEqual(await h.live(), { resources: 0, listeners: 0, frames: 0 });
    // A finished render survives a later abort (VS Code aborts the previous render when re-rendering).
    await h.render('spectrogram', 'tone', MIME.spectrogram, 'tone');
    await h.page.evaluate(() => (window as any).sedAbort('tone'));
    assert.equal((await h.live()).resources, 1);
    await h.dispose('spectrogram', 'tone');
    assert.deepEqual(await h.live(), { resources: 0, listeners: 0, frames: 0 });
  });
});

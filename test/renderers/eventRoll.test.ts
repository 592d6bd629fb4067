/**
 * Event roll renderer in headless Chromium, on a real DCASE soundscape (validation_0000.flac: its
 * log-mel, its ground truth, its audio as WAV bytes) with frame scores that follow the ground truth:
 * event boxes and GT outlines drawn where expected, the threshold slider re-decoding in the page,
 * playback with a cursor synced to a separate spectrogram output, click-to-play, many classes,
 * malformed payloads and dispose.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeEventRoll, encodeSpectrogram, MIME } from '../../renderers/lib/encode';
import { SHARED_DIR } from '../helpers/paths';
import { CLASSES_11, groundTruth, loadAudio, logMel, scoresFromGt, SOUNDSCAPES, wavBytes } from './fixtures';
import { closeBrowser, openHarness, pixelAt, type Harness } from './harness';

const HOP = 0.04; // the models' frame rate: 250 frames per 10 s

/** Events by plain float decoding (independent of the renderer's uint8 path). */
function countEvents(probs: Float32Array, classes: number, frames: number, thr: number): number {
  let n = 0;
  for (let c = 0; c < classes; c++) for (let t = 0; t < frames; t++) if (probs[c * frames + t] > thr && (t === 0 || !(probs[c * frames + t - 1] > thr))) n++;
  return n;
}

describe('renderers: event roll (headless Chromium)', function () {
  this.timeout(120_000);
  let h: Harness;
  let probs: Float32Array;
  const frames = 250;
  const gt = groundTruth('validation', 'validation_0000.flac');
  const dataset = (id: string, key: string) => h.page.locator(`#${id} .sed-root`).getAttribute(`data-${key}`);
  const setThreshold = async (id: string, v: number) => {
    await h.page.locator(`#${id} input.sed-threshold`).fill(String(v));
    await h.page.waitForFunction(([i, t]) => document.querySelector<HTMLElement>(`#${i} .sed-root`)!.dataset.threshold === t, [id, v.toFixed(2)] as const);
  };
  /** Canvas coordinates of time t in the roll row of class `cls` (rows in class order). */
  const rollXY = async (id: string, t: number, row: number) => {
    const w = await h.page.locator(`#${id} .sed-roll canvas`).first().evaluate((c) => c.getBoundingClientRect().width);
    const plotW = w - 150 - 10;
    return [150 + (t / 10) * plotW, row * 16 + 8];
  };

  before(async () => {
    h = await openHarness();
    const a = await loadAudio(path.join(SOUNDSCAPES, 'audio', 'validation', 'validation_0000.flac'));
    const m = logMel(a.samples, a.sampleRate);
    probs = scoresFromGt(gt, CLASSES_11, frames, HOP);
    const spectrogram = { db: m.db, bins: m.bins, frames: m.frames, header: { kind: 'mel' as const, freqs_hz: m.freqs, hop_s: m.hop } };
    h.fixture('roll', encodeEventRoll({
      probs, classes: CLASSES_11, frames, hop_s: HOP, threshold: 0.5, ground_truth: gt, title: 'validation_0000.flac', source: 'v0',
      audio: { bytes: wavBytes(a.samples, a.sampleRate), mime: 'audio/wav' }, spectrogram,
    }));
    h.fixture('spec', encodeSpectrogram({ ...spectrogram, header: { ...spectrogram.header, source: 'v0', title: 'synced spectrogram' } }));
  });
  after(async () => {
    await h?.close();
    await closeBrowser();
  });

  it('draws one row per class, the detected events as boxes and the ground truth as outlines', async () => {
    await h.render('eventRoll', 'roll', MIME.eventRoll, 'roll');
    assert.equal(await dataset('roll', 'rows'), '11');
    assert.equal(Number(await dataset('roll', 'events')), countEvents(probs, 11, frames, 0.5));
    assert.equal(Number(await dataset('roll', 'events')), gt.length);
    const cough = CLASSES_11.indexOf('cough');
    const [x] = await rollXY('roll', 3.8, cough);
    const box = await pixelAt(h.page, '#roll .sed-roll canvas', x, cough * 16 + 3.5);
    // The event box's border: the theme's blue (#3794ff fallback).
    assert.ok(box[2] > 200 && box[0] < 120, `event box border pixel ${box}`);
    const [x2, y2] = await rollXY('roll', 8, cough);
    const idle = await pixelAt(h.page, '#roll .sed-roll canvas', x2, y2);
    assert.ok(idle[2] < 120 && idle[0] < 120, `no event at 8 s: ${idle}`);
    // GT outline (dashed green) at the top edge of the knock row inside its GT span.
    const knock = CLASSES_11.indexOf('knock');
    let green = 0;
    for (let t = 2.9; t < 3.45; t += 0.02) {
      const [gx] = await rollXY('roll', t, knock);
      const px = await pixelAt(h.page, '#roll .sed-roll canvas', gx, knock * 16 + 1);
      if (px[1] > 150 && px[1] > px[2] && px[1] > px[0]) green++;
    }
    assert.ok(green > 5, `GT outline pixels: ${green}`);
    await h.screenshot('roll', 'event-roll.png');
  });

  it('re-decodes events from the threshold slider in the page', async () => {
    await setThreshold('roll', 0.2);
    const low = Number(await dataset('roll', 'events'));
    assert.equal(low, countEvents(probs, 11, frames, 0.2));
    assert.ok(low > gt.length, 'the low-level false alarms appear');
    await h.screenshot('roll', 'event-roll-threshold-0.2.png');
    await setThreshold('roll', 0.95);
    assert.equal(await dataset('roll', 'events'), '0');
    assert.match((await h.page.locator('#roll .sed-status').textContent())!, /^0 events/);
    await setThreshold('roll', 0.5);
    assert.equal(Number(await dataset('roll', 'events')), gt.length);
    await h.page.locator('#roll input[type=checkbox]').check();
    assert.equal(await dataset('roll', 'rows'), '3', 'only cough, doorslam and knock are active');
    await h.page.locator('#roll input[type=checkbox]').uncheck();
    assert.equal(await dataset('roll', 'rows'), '11');
  });

  it('seeking moves the cursor on the roll, its spectrogram and a spectrogram output with the same source', async () => {
    await h.render('spectrogram', 'spec', MIME.spectrogram, 'spec');
    const [x, y] = await rollXY('roll', 6, CLASSES_11.indexOf('laughter'));
    const box = (await h.page.locator('#roll .sed-roll canvas').first().boundingBox())!;
    await h.page.mouse.click(box.x + x, box.y + y);
    await h.page.waitForFunction(() => Math.abs(Number(document.querySelector<HTMLElement>('#roll .sed-root')!.dataset.cursor) - 6) < 0.05);
    // The other output's overlay canvas has a white cursor line at t = 6 s.
    const plot = (await dataset('spec', 'plot'))!.split(',').map(Number);
    const cx = plot[0] + 0.6 * plot[2] * (10.01 / 10.01) * (10 / 10.01);
    const pxs = await Promise.all([-1, 0, 1].map((d) => pixelAt(h.page, '#spec .sed-spectrogram canvas:nth-child(2)', cx + d, plot[1] + 50)));
    const px = pxs.reduce((a, b) => (b[3] > a[3] ? b : a));
    assert.ok(px[3] > 200 && px[0] > 200 && px[1] > 200 && px[2] > 200, `cursor pixel ${pxs.join(' | ')}`);
    const away = await pixelAt(h.page, '#spec .sed-spectrogram canvas:nth-child(2)', plot[0] + 0.3 * plot[2], plot[1] + 50);
    assert.equal(away[3], 0, 'the overlay is clear away from the cursor');
  });

  it('plays the audio with a moving cursor, and clicking an event plays just that event', async () => {
    await h.page.click('#roll button[data-action="play"]');
    await h.page.waitForFunction(() => document.querySelector<HTMLElement>('#roll .sed-root')!.dataset.playing === 'true');
    const t0 = Number(await dataset('roll', 'cursor'));
    await h.page.waitForTimeout(400);
    const t1 = Number(await dataset('roll', 'cursor'));
    assert.ok(t1 > t0 + 0.1, `cursor moved ${t0} → ${t1}`);
    await h.page.click('#roll button[data-action="play"]');
    await h.page.waitForFunction(() => document.querySelector<HTMLElement>('#roll .sed-root')!.dataset.playing === 'false');
    const doorslam = CLASSES_11.indexOf('doorslam');
    const [x, y] = await rollXY('roll', 3.05, doorslam);
    const box = (await h.page.locator('#roll .sed-roll canvas').first().boundingBox())!;
    await h.page.mouse.click(box.x + x, box.y + y);
    assert.match((await dataset('roll', 'clicked'))!, /^doorslam@2\.8\d\d$/);
    // Plays from the decoded onset and stops at the decoded offset (about 0.5 s later).
    await h.page.waitForFunction(() => document.querySelector<HTMLElement>('#roll .sed-root')!.dataset.playing === 'true');
    await h.page.waitForFunction(() => document.querySelector<HTMLElement>('#roll .sed-root')!.dataset.playing === 'false', undefined, { timeout: 5000 });
    const end = Number(await dataset('roll', 'cursor'));
    assert.ok(end > 3.2 && end < 3.4, `stopped at the event's offset (${end})`);
  });

  it('handles 447 classes: starts with the active classes and scrolls the rest', async () => {
    const classes: string[] = JSON.parse(fs.readFileSync(path.join(SHARED_DIR, 'data', 'audioset_strong_classes.json'), 'utf8')).train_classes_447;
    const n = 1500; // 60 s
    const big = new Float32Array(classes.length * n);
    const active = [3, 50, 200, 446];
    for (const c of active) for (let t = 100 + c; t < 300 + c; t++) big[c * n + t] = 0.8;
    h.fixture('big', encodeEventRoll({ probs: big, classes, frames: n, hop_s: HOP }));
    await h.render('eventRoll', 'big', MIME.eventRoll, 'big');
    assert.equal(await dataset('big', 'rows'), String(active.length));
    assert.equal(await dataset('big', 'events'), String(active.length));
    await h.page.locator('#big input[type=checkbox]').uncheck();
    assert.equal(await dataset('big', 'rows'), '447');
    const scroller = h.page.locator('#big .sed-roll > div');
    assert.equal(await scroller.evaluate((e) => e.scrollHeight), 447 * 16);
    await scroller.evaluate((e) => { e.scrollTop = 200 * 16; });
    await h.page.waitForTimeout(50);
    // Row 200 is now the top row: its event is drawn at the top of the sticky canvas.
    const w = await h.page.locator('#big .sed-roll canvas').first().evaluate((c) => c.getBoundingClientRect().width);
    const px = await pixelAt(h.page, '#big .sed-roll canvas', 150 + ((250 * HOP) / 60) * (w - 160) + 150 * ((w - 160) / 1500), 8);
    assert.ok(px[2] > 150, `event of row 200 after scrolling: ${px}`);
    await h.screenshot('big', 'event-roll-447-scrolled.png');
  });

  it('refuses to draw a flood of events at a threshold inside the noise floor, and recovers', async () => {
    // 447 classes × 1 500 frames alternating 0.1 / 0.3: at 0.2 every other frame is an event (335 250).
    const n = 1500;
    const flood = new Float32Array(447 * n).map((_, i) => (i % 2 ? 0.3 : 0.1));
    h.fixture('flood', encodeEventRoll({ probs: flood, classes: Array.from({ length: 447 }, (_, i) => `class ${i}`), frames: n, hop_s: HOP, threshold: 0.5 }));
    await h.render('eventRoll', 'flood', MIME.eventRoll, 'flood');
    assert.equal(await dataset('flood', 'events'), '0');
    await setThreshold('flood', 0.2);
    assert.equal(await dataset('flood', 'events'), 'too-many');
    assert.match((await h.page.locator('#flood .sed-status').textContent())!, /more than 100,000 events at threshold 0\.20: raise the threshold/);
    await setThreshold('flood', 0.35);
    assert.equal(await dataset('flood', 'events'), '0');
    await h.dispose('eventRoll', 'flood');
  });

  it('renders the JSON form and reports malformed payloads', async () => {
    h.fixture('json', { classes: ['a', 'b'], hop_s: 0.1, threshold: 0.5, probs: [[0, 0.9, 0.9, 0], [0, 0, 0, 0.7]], ground_truth: [[0.1, 0.3, 'a']] });
    await h.render('eventRoll', 'json', MIME.eventRollJson, 'json');
    assert.equal(await dataset('json', 'events'), '2');
    h.fixture('badgt', { classes: ['a', 'b'], hop_s: 0.1, probs: [[0, 1], [1, 0]], ground_truth: [[0.1, 0.3, 'dog']] });
    await h.render('eventRoll', 'bad1', MIME.eventRollJson, 'badgt');
    assert.match((await h.page.locator('#bad1 .sed-error pre').textContent())!, /"ground_truth"\[0\] has label 'dog', which is not in "classes" \(a, b\)/);
    // Same bytes, but the header lists one class fewer than the tensor has rows.
    const bytes = encodeEventRoll({ probs: new Float32Array(6), classes: ['a', 'b', 'c'], frames: 2, hop_s: 0.1 });
    const text = Buffer.from(bytes).toString('latin1').replace('[\\"a\\",\\"b\\",\\"c\\"]', '[\\"a\\",\\"b\\"]      ');
    assert.notEqual(text, Buffer.from(bytes).toString('latin1'));
    h.fixture('badrows', Buffer.from(text, 'latin1'));
    await h.render('eventRoll', 'bad2', MIME.eventRoll, 'badrows');
    assert.match((await h.page.locator('#bad2 .sed-error pre').textContent())!, /tensor "probs" has 3 rows, the header describes 2/);
    h.fixture('badthr', { classes: ['a'], hop_s: 0.1, probs: [[0.2]], threshold: 2 });
    await h.render('eventRoll', 'bad3', MIME.eventRollJson, 'badthr');
    assert.match((await h.page.locator('#bad3 .sed-error pre').textContent())!, /"threshold" must be a number in \[0, 1\]/);
  });

  it('dispose stops the audio and releases listeners and frames', async () => {
    await h.page.click('#roll button[data-action="play"]');
    await h.page.waitForFunction(() => document.querySelector<HTMLElement>('#roll .sed-root')!.dataset.playing === 'true');
    const audio = await h.page.evaluateHandle(() => document.querySelector('#roll audio') as HTMLAudioElement);
    for (const id of ['roll', 'big', 'json']) await h.dispose('eventRoll', id);
    await h.dispose('spectrogram', 'spec');
    assert.deepEqual(await audio.evaluate((a) => ({ paused: a.paused, src: a.getAttribute('src') })), { paused: true, src: null });
    assert.deepEqual(await h.live(), { resources: 0, listeners: 0, frames: 0 });
    assert.equal(await h.page.locator('#roll .sed-roll').count(), 0);
  });
});

/**
 * Renderer benchmark (not a timed test): in headless Chromium, an hour-long log-mel spectrogram
 * (128 bins × 90 000 frames at the models' 40 ms) and an hour-long 447-class event roll, each sent as
 * the engine would (encodeSpectrogram / encodeEventRoll). Prints payload size, encode time, first
 * render, and the per-interaction cost of zoom steps, pans and threshold changes, against the 16.7 ms
 * frame of a 60 Hz display. Software rendering (--disable-gpu), on a shared 2-core machine.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeEventRoll, encodeSpectrogram, MIME } from '../renderers/lib/encode';
import { SHARED_DIR } from '../test/helpers/paths';
import { closeBrowser, openHarness } from '../test/renderers/harness';
import { median, table, writeResults } from './common';

const FRAME_MS = 1000 / 60;
const HOUR_FRAMES = 90000;
const HOP = 0.04;

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function main() {
  const rand = rng(7);
  const rows: Record<string, string | number>[] = [];

  // Spectrogram: a slowly varying texture plus noise, 1 h.
  const bins = 128;
  const db = new Float32Array(bins * HOUR_FRAMES);
  for (let r = 0; r < bins; r++) for (let t = 0; t < HOUR_FRAMES; t++) db[r * HOUR_FRAMES + t] = -70 + 30 * Math.sin(t / 700 + r / 9) + 10 * rand();
  let t0 = performance.now();
  const spec = encodeSpectrogram({ db, bins, frames: HOUR_FRAMES, header: { kind: 'mel', freqs_hz: Array.from({ length: bins }, (_, i) => 30 + i * 54), hop_s: HOP, title: '1 h' } });
  const specEncodeMs = performance.now() - t0;

  // Event roll: 447 AudioSet classes, 1 h; each class has a few dozen bursts plus low noise.
  const classes: string[] = JSON.parse(fs.readFileSync(path.join(SHARED_DIR, 'data', 'audioset_strong_classes.json'), 'utf8')).train_classes_447;
  const probs = new Float32Array(classes.length * HOUR_FRAMES);
  for (let c = 0; c < classes.length; c++) {
    for (let t = 0; t < HOUR_FRAMES; t++) probs[c * HOUR_FRAMES + t] = 0.15 * rand();
    const bursts = 5 + Math.floor(rand() * 40);
    for (let b = 0; b < bursts; b++) {
      const on = Math.floor(rand() * (HOUR_FRAMES - 200));
      const len = 5 + Math.floor(rand() * 150);
      const peak = 0.3 + 0.7 * rand();
      for (let t = on; t < on + len; t++) probs[c * HOUR_FRAMES + t] = Math.max(probs[c * HOUR_FRAMES + t], peak);
    }
  }
  t0 = performance.now();
  const roll = encodeEventRoll({ probs, classes, frames: HOUR_FRAMES, hop_s: HOP, threshold: 0.5, title: '447 classes, 1 h' });
  const rollEncodeMs = performance.now() - t0;

  const h = await openHarness();
  try {
    h.fixture('spec', spec);
    h.fixture('roll', roll);
    // Time until the frame after renderOutputItem resolved (what the user waits for).
    const renderMs = (name: string, id: string, mime: string, key: string) => h.page.evaluate(async ([n, i, m, k]) => {
      const t = performance.now();
      await (window as any).sedRender(n, i, m, k);
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      return performance.now() - t;
    }, [name, id, mime, key] as const);
    // Work per interaction = the action's synchronous part + the animation-frame callbacks it scheduled
    // (timed by wrapping requestAnimationFrame), so the wait for vsync is not counted.
    await h.page.evaluate(() => {
      const w = window as any;
      const raf = w.requestAnimationFrame.bind(w);
      w.__rafWork = 0;
      w.requestAnimationFrame = (cb: FrameRequestCallback) => raf((t: number) => {
        const s = performance.now();
        cb(t);
        w.__rafWork += performance.now() - s;
      });
    });
    const interaction = (id: string, js: string, n: number) => h.page.evaluate(async ([i, code, count]) => {
      const w = window as any;
      const root = document.querySelector(`#${i} .sed-root`) as HTMLElement;
      const act = new Function('root', 'k', code as string) as (root: HTMLElement, k: number) => void;
      const times: number[] = [];
      for (let k = 0; k < (count as number); k++) {
        await new Promise((r) => setTimeout(r, 20));
        w.__rafWork = 0;
        const t = performance.now();
        act(root, k);
        const sync = performance.now() - t;
        await new Promise((r) => w.requestAnimationFrame(() => setTimeout(r, 0)));
        times.push(sync + w.__rafWork);
      }
      return times;
    }, [id, js, n] as const);

    const specFirst = await renderMs('spectrogram', 'spec', MIME.spectrogram, 'spec');
    const zoom = `root.querySelector('button[data-action="' + (k % 12 < 6 ? 'zoom-in' : 'zoom-out') + '"]').click();`;
    const pan = `root.querySelector('canvas:nth-child(2)').dispatchEvent(new WheelEvent('wheel', { deltaX: 120, bubbles: true, cancelable: true }));`;
    const specZoom = await interaction('spec', zoom, 36);
    const specPan = await interaction('spec', pan, 30);
    rows.push({ case: 'spectrogram 1 h (128 × 90 000 → 45 000 cols)', payload_MB: spec.length / 1e6, encode_ms: specEncodeMs, first_render_ms: specFirst, zoom_ms: median(specZoom), pan_ms: median(specPan), slider_ms: '-', worst_ms: Math.max(...specZoom, ...specPan), over_16ms: [...specZoom, ...specPan].filter((x) => x > FRAME_MS).length + '/66' });

    const rollFirst = await renderMs('eventRoll', 'roll', MIME.eventRoll, 'roll');
    const rollZoom = await interaction('roll', zoom, 36);
    const slide = `const s = root.querySelector('input.sed-threshold'); s.value = String(0.3 + (k % 10) * 0.05); s.dispatchEvent(new Event('input'));`;
    const rollSlider = await interaction('roll', slide, 20);
    const events = await h.page.locator('#roll .sed-root').getAttribute('data-events');
    rows.push({ case: `event roll 447 classes × 1 h (${events} events)`, payload_MB: roll.length / 1e6, encode_ms: rollEncodeMs, first_render_ms: rollFirst, zoom_ms: median(rollZoom), pan_ms: '-', slider_ms: median(rollSlider), worst_ms: Math.max(...rollZoom, ...rollSlider), over_16ms: [...rollZoom, ...rollSlider].filter((x) => x > FRAME_MS).length + '/56' });
    await h.screenshot('roll', 'bench-event-roll-447x1h.png');
    await h.screenshot('spec', 'bench-spectrogram-1h.png');
  } finally {
    await h.close();
    await closeBrowser();
  }
  console.log(table(rows));
  console.log(`(zoom/pan/slider: median ms of work per interaction (its synchronous part + the frame callbacks it scheduled); worst: slowest one; a 60 Hz frame is ${FRAME_MS.toFixed(1)} ms; headless Chromium, software rendering, shared 2-core machine)`);
  console.log(`results: ${writeResults('renderers', { rows })}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

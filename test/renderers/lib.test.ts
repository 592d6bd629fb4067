/**
 * The renderers' pure pieces, in Node: the block-indexed event decoder against a plain scan, the
 * payload encoders (quantisation, decimation, safetensors layout), the Pareto front and axis ticks.
 */
import assert from 'node:assert/strict';
import { parseSafetensors } from '../../engine/io/safetensorsFormat';
import { encodeEventRoll, encodeSpectrogram, melCentreFrequencies } from '../../renderers/lib/encode';
import { EventDecoder } from '../../renderers/lib/events';
import { logTicks, niceTicks } from '../../renderers/lib/ticks';
import { paretoFront, type TradeoffRow } from '../../renderers/lib/tradeoffData';

function naive(levels: Uint8Array, classes: number, frames: number, thr: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let c = 0; c < classes; c++) {
    let start = -1;
    for (let t = 0; t <= frames; t++) {
      const on = t < frames && levels[c * frames + t] / 255 > thr;
      if (on && start < 0) start = t;
      if (!on && start >= 0) {
        out.push([c, start, t]);
        start = -1;
      }
    }
  }
  return out;
}

describe('renderers: pure helpers', () => {
  it('EventDecoder matches a plain scan at every threshold, across block boundaries and file ends', () => {
    let seed = 3;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const classes = 5;
    const frames = 1000; // not a multiple of the 32-frame block
    const levels = new Uint8Array(classes * frames);
    for (let c = 0; c < classes; c++) {
      let v = 0;
      for (let t = 0; t < frames; t++) {
        if (rand() < 0.05) v = Math.floor(rand() * 256);
        levels[c * frames + t] = v;
      }
    }
    levels[frames - 1] = 255; // an event running to the end of class 0
    const dec = new EventDecoder(levels, classes, frames, 0.04, 1.5);
    for (const thr of [0, 0.1, 0.25, 0.5, 127 / 255, 0.9, 1]) {
      const got = dec.decode(thr)!.flat().map((e) => [e.cls, Math.round((e.onset - 1.5) / 0.04), Math.round((e.offset - 1.5) / 0.04)]);
      assert.deepEqual(got, naive(levels, classes, frames, thr), `threshold ${thr}`);
    }
    assert.equal(dec.decode(0.1, 3), null, 'more than maxEvents');
  });

  it('encodeSpectrogram quantises to the dB range and max-pools long inputs in time', () => {
    const bins = 2;
    const frames = 10;
    const db = Float32Array.from({ length: bins * frames }, (_, i) => (i % frames === 7 ? 0 : -80));
    const bytes = encodeSpectrogram({ db, bins, frames, header: { kind: 'linear', freqs_hz: [0, 100], hop_s: 0.01 }, dbRange: [-80, 0], maxColumns: 4 });
    const f = parseSafetensors(bytes);
    const t = f.tensors.get('spectrogram')!;
    assert.equal(t.dtype, 'U8');
    assert.deepEqual(t.shape, [2, 4]); // factor 3: ceil(10 / 3) columns
    assert.deepEqual([...(t.data as Uint8Array)], [0, 0, 255, 0, 0, 0, 255, 0]);
    const header = JSON.parse(f.metadata.header);
    assert.equal(header.hop_s, 0.03);
    assert.deepEqual([header.db_min, header.db_max], [-80, 0]);
    assert.throws(() => encodeSpectrogram({ db, bins: 3, frames, header: { kind: 'mel', freqs_hz: [1, 2, 3], hop_s: 0.01 } }), /db has 20 values, expected bins × frames = 3 × 10/);
  });

  it('encodeEventRoll stores uint8 probabilities, audio bytes and an embedded spectrogram', () => {
    const probs = Float32Array.from([0, 0.5, 1, 0.2, 0.7, 0.3]);
    const bytes = encodeEventRoll({ probs, classes: ['a', 'b'], frames: 3, hop_s: 0.04, audio: { bytes: new Uint8Array([1, 2, 3]), mime: 'audio/wav' }, ground_truth: [[0, 0.04, 'a']],
      spectrogram: { db: new Float32Array(6), bins: 2, frames: 3, header: { kind: 'mel', freqs_hz: melCentreFrequencies(2), hop_s: 0.04 } } });
    const f = parseSafetensors(bytes);
    // round(p·255) of the float32 values (0.7 is 0.69999999 in float32 → 178)
    assert.deepEqual([...(f.tensors.get('probs')!.data as Uint8Array)], [0, 128, 255, 51, 178, 77]);
    assert.deepEqual([...(f.tensors.get('audio')!.data as Uint8Array)], [1, 2, 3]);
    const h = JSON.parse(f.metadata.header);
    assert.deepEqual([h.classes, h.threshold, h.audio_mime, h.spectrogram.kind], [['a', 'b'], 0.5, 'audio/wav', 'mel']);
  });

  it('melCentreFrequencies follows MODEL_SPEC §1 (HTK mel, centres at (m+1)Δ)', () => {
    const f = melCentreFrequencies(128, 0, 7000);
    const mel = (x: number) => 1127 * Math.log(1 + x / 700);
    assert.equal(f.length, 128);
    assert.ok(Math.abs(mel(f[0]) - mel(7000) / 129) < 1e-9);
    assert.ok(Math.abs(mel(f[127]) - (128 * mel(7000)) / 129) < 1e-9);
  });

  it('paretoFront keeps exactly the non-dominated models', () => {
    const rows: TradeoffRow[] = [
      { model: 'a', seq: 'x', params: 1, throughput: 100, psds1: 0.3 },
      { model: 'b', seq: 'x', params: 2, throughput: 90, psds1: 0.35 },
      { model: 'c', seq: 'y', params: 3, throughput: 95, psds1: 0.34 },
      { model: 'd', seq: 'y', params: 4, throughput: 10, psds1: 0.4 },
    ];
    assert.deepEqual(paretoFront(rows, 'params').map((r) => r.model), ['a', 'b', 'd']);
    assert.deepEqual(paretoFront(rows, 'throughput').map((r) => r.model), ['a', 'c', 'b', 'd']);
  });

  it('ticks: round steps and powers of ten', () => {
    assert.deepEqual(niceTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
    assert.deepEqual(niceTicks(0, 1, 4), [0, 0.5, 1]);
    assert.deepEqual(logTicks(0.5, 2e6), [1, 10, 100, 1000, 1e4, 1e5, 1e6]);
    assert.deepEqual(logTicks(8e5, 7e7), [1e6, 2e6, 5e6, 1e7, 2e7, 5e7]);
    assert.deepEqual(logTicks(30, 7000), [50, 100, 200, 500, 1000, 2000, 5000]);
  });
});

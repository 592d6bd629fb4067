/**
 * The log-mel frontend against an independent float64 implementation of MODEL_SPEC §1 written
 * here as plain loops (slow, exact), on the cpu and wasm backends; plus filterbank properties,
 * jittered fmin/fmax, batching and the constant cache.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../engine/backend/select';
import { MEL_POWER } from '../../engine/backend/wasmMel';
import { computeMel, kaldiMelBanks, MEL, melFrameCount } from '../../engine/frontend/mel';

/** MODEL_SPEC §1 in float64, straight from the spec's formulas (no shared code with the engine). */
function referenceMel(x: Float32Array, fmin = 0, fmax = 7000): Float64Array {
  const n = x.length;
  const y = new Float64Array(n - 1);
  for (let i = 0; i < n - 1; i++) y[i] = x[i + 1] - 0.97 * x[i];
  const pad = 256;
  const p = new Float64Array(n - 1 + 2 * pad);
  for (let i = 0; i < p.length; i++) {
    let j = i - pad;
    if (j < 0) j = -j;
    if (j >= n - 1) j = 2 * (n - 2) - j;
    p[i] = y[j];
  }
  const frames = 1 + Math.floor((n - 1) / 160);
  const win = new Float64Array(512);
  for (let i = 0; i < 400; i++) win[56 + i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / 399);
  const mel = (f: number) => 1127 * Math.log(1 + f / 700);
  const lo = mel(fmin);
  const d = (mel(fmax) - lo) / 129;
  const bank = (m: number, k: number) => {
    if (k >= 256) return 0;
    const mk = mel(k * 31.25);
    const l = lo + m * d;
    const c = lo + (m + 1) * d;
    const r = lo + (m + 2) * d;
    return Math.max(0, Math.min((mk - l) / (c - l), (r - mk) / (r - c)));
  };
  const out = new Float64Array(128 * frames);
  const power = new Float64Array(257);
  for (let t = 0; t < frames; t++) {
    for (let k = 0; k <= 256; k++) {
      let re = 0;
      let im = 0;
      for (let j = 0; j < 512; j++) {
        const v = p[160 * t + j] * win[j];
        re += v * Math.cos((2 * Math.PI * k * j) / 512);
        im -= v * Math.sin((2 * Math.PI * k * j) / 512);
      }
      power[k] = re * re + im * im;
    }
    for (let m = 0; m < 128; m++) {
      let s = 0;
      for (let k = 0; k <= 256; k++) s += bank(m, k) * power[k];
      out[m * frames + t] = (Math.log(Math.max(s, 1e-7)) + 4.5) / 5;
    }
  }
  return out;
}

function noise(n: number, seed: number, amp = 0.3): Float32Array {
  const x = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    x[i] = amp * ((s / 2 ** 32) * 2 - 1) + 0.2 * Math.sin(i / 7);
  }
  return x;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('log-mel frontend', () => {
  it('melFrameCount follows 1 + floor((N - 1) / 160)', () => {
    assert.equal(melFrameCount(160000), 1000);
    assert.equal(melFrameCount(161), 2);
    assert.equal(melFrameCount(160), 1);
    assert.equal(melFrameCount(4001), 26);
  });

  describe('kaldiMelBanks', () => {
    const banks = kaldiMelBanks();
    const cols = 257;

    it('is [128, 257] with a zero Nyquist column, weights in [0, 1] and nothing above fmax', () => {
      assert.equal(banks.length, 128 * cols);
      for (let m = 0; m < 128; m++) {
        assert.equal(banks[m * cols + 256], 0);
        for (let k = 0; k < 256; k++) {
          const w = banks[m * cols + k];
          assert.ok(w >= 0 && w <= 1, `w[${m},${k}] = ${w}`);
          if (k * 31.25 > 7000) assert.equal(w, 0, `bin ${k} (${k * 31.25} Hz) above fmax`);
        }
      }
    });

    it('matches the triangle formula of the spec (float64) to float32 precision', () => {
      const mel = (f: number) => 1127 * Math.log(1 + f / 700);
      const d = mel(7000) / 129;
      let worst = 0;
      for (let m = 0; m < 128; m++) {
        for (let k = 0; k < 256; k++) {
          const mk = mel(k * 31.25);
          const w = Math.max(0, Math.min((mk - m * d) / d, ((m + 2) * d - mk) / d));
          worst = Math.max(worst, Math.abs(w - banks[m * cols + k]));
        }
      }
      assert.ok(worst < 2e-4, `max deviation ${worst}`);
    });

    it('moves with fmin/fmax and rejects impossible ranges', () => {
      const narrow = kaldiMelBanks(128, 512, 16000, 10, 6000);
      for (let m = 0; m < 128; m++) for (let k = 193; k < 257; k++) assert.equal(narrow[m * cols + k], 0);
      assert.notDeepEqual(narrow, banks);
      assert.throws(() => kaldiMelBanks(128, 512, 16000, 0, 9000), /fmax <= 8000/);
      assert.throws(() => kaldiMelBanks(128, 512, 16000, 5000, 4000), /fmin < fmax/);
    });
  });

  for (const backend of ['cpu', 'wasm']) {
    describe(`computeMel on ${backend}`, () => {
      before(async () => {
        await initBackend(backend);
      });

      if (backend === 'wasm') {
        it('runs the native mel power kernel (an FFT per window) on wasm', () => {
          assert.ok(tf.getKernel(MEL_POWER, 'wasm'));
        });
      }

      it('matches the float64 spec implementation (4001 samples, batch of 2)', () => {
        const a = noise(4001, 1);
        const b = noise(4001, 2, 0.05);
        const both = new Float32Array([...a, ...b]);
        const mel = computeMel(tf.tensor2d(both, [2, 4001]));
        assert.deepEqual(mel.shape, [2, 128, 26, 1]);
        const got = mel.dataSync();
        mel.dispose();
        const frames = 26;
        const da = maxAbsDiff(got.subarray(0, 128 * frames), referenceMel(a));
        const db = maxAbsDiff(got.subarray(128 * frames), referenceMel(b));
        // float32 rounding in quiet bins stays well under the parity tolerance (2e-4); a wrong step would be ≥ 1e-2
        assert.ok(da < 1e-4 && db < 1e-4, `max |Δ| ${da}, ${db}`);
      });

      it('uses jittered fmin/fmax as the training augmentation does', () => {
        const x = noise(2001, 3);
        const jittered = computeMel(tf.tensor2d(x, [1, 2001]), { fminHz: 7, fmaxHz: 7650 });
        const plain = computeMel(tf.tensor2d(x, [1, 2001]));
        const j = jittered.dataSync();
        assert.ok(maxAbsDiff(j, referenceMel(x, 7, 7650)) < 1e-4);
        assert.ok(maxAbsDiff(j, plain.dataSync()) > 1e-2, 'jitter changes the output');
        tf.dispose([jittered, plain]);
      });

      it('silence sits on the log floor: (ln 1e-7 + 4.5) / 5 everywhere', () => {
        const mel = computeMel(tf.zeros([1, 1600]) as tf.Tensor2D);
        const floor = (Math.log(1e-7) + MEL.normShift) / MEL.normScale;
        assert.ok(maxAbsDiff(mel.dataSync(), new Float64Array(128 * 10).fill(floor)) < 1e-6);
        mel.dispose();
      });

      it('holds a bounded number of cached constants whatever the jitter', () => {
        const x = tf.tensor2d(noise(1000, 4), [1, 1000]);
        computeMel(x).dispose();
        const before = tf.memory().numTensors;
        for (let i = 0; i < 40; i++) computeMel(x, { fminHz: i % 10, fmaxHz: 6001 + 50 * i }).dispose();
        const grown = tf.memory().numTensors - before;
        assert.ok(grown <= 16, `${grown} tensors kept after 40 different (fmin, fmax)`);
        for (let i = 0; i < 5; i++) computeMel(x).dispose();
        assert.equal(tf.memory().numTensors - before, grown, 'repeated calls keep no tensors');
        x.dispose();
      });

      it('rejects inputs that are too short or not [batch, samples]', () => {
        assert.throws(() => computeMel(tf.zeros([1, 200]) as tf.Tensor2D), /at least 258 samples, got 200/);
        assert.throws(() => computeMel(tf.zeros([1, 2, 3000]) as unknown as tf.Tensor2D), /\[batch, samples\]/);
      });
    });
  }
});

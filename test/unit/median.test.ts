/**
 * Median filter: exact parity with scipy.ndimage.median_filter(size=(w, 1), mode='reflect') on the shared
 * fixture (w 9/5/1), and agreement with a sort-per-frame reference for other windows, plateaus and
 * signals shorter than the window.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { medianFilter } from '../../engine/detect/medianFilter';
import { readSafetensors } from '../../engine/io/safetensors';
import { PARITY_DIR } from '../helpers/paths';

/** scipy semantics by brute force: reflect (half-sample symmetric), window i−⌊w/2⌋…, element of rank ⌊w/2⌋. */
function reference(x: Float32Array, T: number, C: number, w: number): Float32Array {
  const out = new Float32Array(T * C);
  const refl = (i: number) => {
    const p = 2 * T;
    let m = ((i % p) + p) % p;
    if (m >= T) m = p - 1 - m;
    return m;
  };
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < T; i++) {
      const win: number[] = [];
      for (let j = 0; j < w; j++) win.push(x[refl(i - (w >> 1) + j) * C + c]);
      win.sort((a, b) => a - b);
      out[i * C + c] = win[w >> 1];
    }
  }
  return out;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('medianFilter', () => {
  const file = path.join(PARITY_DIR, 'median_filter.safetensors');
  const st = readSafetensors(file);
  const input = st.tensors.get('input.scores_tc')!;
  const [T, C] = input.shape;

  for (const w of [9, 5, 1]) {
    it(`matches scipy exactly for window ${w} (${file})`, () => {
      const expected = st.tensors.get(`output.median_w${w}`)!.data as Float32Array;
      const got = medianFilter(input.data as Float32Array, T, C, w);
      assert.ok(got instanceof Float32Array);
      let mismatches = 0;
      for (let i = 0; i < got.length; i++) if (got[i] !== expected[i]) mismatches++;
      assert.equal(mismatches, 0, `${mismatches} of ${got.length} values differ`);
    });
  }

  it('agrees with a sort-per-frame reference for even/odd windows, ties and short signals', () => {
    const r = rng(7);
    for (const [T2, C2, w] of [[50, 3, 4], [37, 2, 7], [3, 2, 9], [1, 4, 5], [200, 5, 21], [64, 1, 2]]) {
      const x = new Float32Array(T2 * C2);
      // Quantised values make plenty of ties, which the sliding window must handle.
      for (let i = 0; i < x.length; i++) x[i] = Math.round(r() * 8) / 8;
      assert.deepEqual(medianFilter(x, T2, C2, w), reference(x, T2, C2, w), `T ${T2} C ${C2} w ${w}`);
    }
  });

  it('keeps float64 input float64 and handles a long file quickly', () => {
    const T2 = 90000;
    const C2 = 4;
    const x = new Float64Array(T2 * C2);
    const r = rng(3);
    for (let i = 0; i < x.length; i++) x[i] = r();
    const t0 = performance.now();
    const y = medianFilter(x, T2, C2, 9);
    const ms = performance.now() - t0;
    assert.ok(y instanceof Float64Array);
    const head = reference(Float32Array.from(x.subarray(0, 300 * C2)), 300, C2, 9);
    // Away from the end, the first 290 frames only see the first 300 input frames.
    for (let i = 0; i < 290 * C2; i++) assert.equal(Math.fround(y[i]), head[i]);
    assert.ok(ms < 5000, `took ${ms.toFixed(0)} ms for 90k frames × 4 classes`);
  });

  it('rejects bad windows, shapes and NaN', () => {
    const x = new Float32Array(10);
    assert.throws(() => medianFilter(x, 5, 2, 0), /positive integer/);
    assert.throws(() => medianFilter(x, 5, 2, 2.5), /positive integer/);
    assert.throws(() => medianFilter(x, 4, 2, 3), /10 values for 4 frames × 2 classes/);
    x[3] = NaN;
    assert.throws(() => medianFilter(x, 5, 2, 3), /NaN/);
  });
});

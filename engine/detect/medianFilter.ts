/**
 * Per-class median filter along time, exactly `scipy.ndimage.median_filter(scores[T, C], size=(w, 1))` with
 * its default mode 'reflect' (half-sample symmetric: … c b a | a b c …): the window of frame i covers
 * i − ⌊w/2⌋ … i + w − ⌊w/2⌋ − 1 and the result is the element of rank ⌊w/2⌋ (for even w the upper median,
 * as scipy does). A sorted sliding window makes each step O(w) instead of a sort per frame, which matters
 * for long files (447 classes × 90 000 frames).
 */

/** Columns filtered per pass over the array. */
const BLOCK = 16;

/** Index of i reflected into [0, n) with half-sample symmetry (repeated for windows wider than the signal). */
function reflectIndex(i: number, n: number): number {
  const period = 2 * n;
  let m = i % period;
  if (m < 0) m += period;
  return m >= n ? period - 1 - m : m;
}

/**
 * Median-filter each column of a [frames, classes] row-major array over `window` frames.
 * Returns a new array of the same type; window 1 returns a copy.
 */
export function medianFilter<A extends Float32Array | Float64Array>(scores: A, frames: number, classes: number, window: number): A {
  if (!Number.isInteger(window) || window < 1) throw new Error(`median filter window must be a positive integer number of frames, got ${window}`);
  if (scores.length !== frames * classes) throw new Error(`median filter: ${scores.length} values for ${frames} frames × ${classes} classes`);
  const out = new (scores.constructor as { new (n: number): A })(scores.length);
  if (window === 1 || frames === 0) {
    out.set(scores);
    return out;
  }
  const left = window >> 1;
  const rank = window >> 1;
  const sorted = new Float64Array(window);
  // Columns are filtered in blocks: each row's block of values is contiguous, so the [T, C] array is read
  // and written row by row (a column-at-a-time walk would stride through all of it once per class).
  const B = Math.min(BLOCK, classes);
  const extLen = frames + window - 1;
  const ext = new Float64Array(B * extLen);
  const res = new Float64Array(B * frames);
  for (let c0 = 0; c0 < classes; c0 += B) {
    const w = Math.min(B, classes - c0);
    for (let i = 0; i < frames; i++) {
      const row = i * classes + c0;
      for (let j = 0; j < w; j++) {
        const v = scores[row + j];
        // NaN has no rank (and would never be found again in the sorted window).
        if (Number.isNaN(v)) throw new Error(`median filter: score of frame ${i}, class column ${c0 + j} is NaN`);
        ext[j * extLen + left + i] = v;
      }
    }
    for (let j = 0; j < w; j++) {
      const e0 = j * extLen;
      // Reflected edges (… c b a | a b c …), repeated when the window is wider than the signal.
      for (let k = 0; k < left; k++) ext[e0 + k] = ext[e0 + left + reflectIndex(k - left, frames)];
      for (let k = left + frames; k < extLen; k++) ext[e0 + k] = ext[e0 + left + reflectIndex(k - left, frames)];
      for (let k = 0; k < window; k++) sorted[k] = ext[e0 + k];
      sorted.sort();
      const r0 = j * frames;
      for (let i = 0; i < frames; i++) {
        res[r0 + i] = sorted[rank];
        if (i + 1 === frames) break;
        // Slide: drop ext[i], insert ext[i + window], keeping `sorted` ordered.
        const gone = ext[e0 + i];
        const incoming = ext[e0 + i + window];
        let p = 0;
        while (sorted[p] !== gone) p++;
        if (incoming >= gone) {
          while (p + 1 < window && sorted[p + 1] < incoming) {
            sorted[p] = sorted[p + 1];
            p++;
          }
        } else {
          while (p > 0 && sorted[p - 1] > incoming) {
            sorted[p] = sorted[p - 1];
            p--;
          }
        }
        sorted[p] = incoming;
      }
    }
    for (let i = 0; i < frames; i++) {
      const row = i * classes + c0;
      for (let j = 0; j < w; j++) out[row + j] = res[j * frames + i];
    }
  }
  return out;
}

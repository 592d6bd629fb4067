/**
 * Per-class median filter along time, exactly `scipy.ndimage.median_filter(scores[T, C], size=(w, 1))` with
 * its default mode 'reflect' (half-sample symmetric: … c b a | a b c …): the window of frame i covers
 * i − ⌊w/2⌋ … i + w − ⌊w/2⌋ − 1 and the result is the element of rank ⌊w/2⌋ (for even w the upper median,
 * as scipy does). A sorted sliding window makes each step O(w) instead of a sort per frame, which matters
 * for long files (447 classes × 90 000 frames).
 */

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
  const ext = new Float64Array(frames + window - 1);
  for (let c = 0; c < classes; c++) {
    for (let j = 0; j < ext.length; j++) {
      const i = reflectIndex(j - left, frames);
      const v = scores[i * classes + c];
      // NaN has no rank (and would never be found again in the sorted window).
      if (Number.isNaN(v)) throw new Error(`median filter: score of frame ${i}, class column ${c} is NaN`);
      ext[j] = v;
    }
    for (let j = 0; j < window; j++) sorted[j] = ext[j];
    sorted.sort();
    for (let i = 0; i < frames; i++) {
      out[i * classes + c] = sorted[rank];
      if (i + 1 === frames) break;
      // Slide: drop ext[i], insert ext[i + window], keeping `sorted` ordered.
      const gone = ext[i];
      const incoming = ext[i + window];
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
  return out;
}

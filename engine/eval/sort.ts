/**
 * Stable ascending argsort of float64 values by LSD radix sort on their bit patterns.
 * The PSD-ROC sweep sorts one whole class column (≈500k frames) per class; a comparator sort is several
 * times slower there and even the native TypedArray sort cannot return a permutation.
 */

const BITS = 16;
const BUCKETS = 1 << BITS;
const MASK = BUCKETS - 1;

export interface RadixWorkspace {
  lo: Uint32Array;
  hi: Uint32Array;
  idx: Int32Array;
  lo2: Uint32Array;
  hi2: Uint32Array;
  idx2: Int32Array;
  counts: Uint32Array;
}

export function radixWorkspace(n: number): RadixWorkspace {
  return {
    lo: new Uint32Array(n), hi: new Uint32Array(n), idx: new Int32Array(n),
    lo2: new Uint32Array(n), hi2: new Uint32Array(n), idx2: new Int32Array(n),
    counts: new Uint32Array(4 * BUCKETS),
  };
}

/**
 * Indices of `values` in ascending order (ties keep index order). -0 sorts as +0; NaN must not occur.
 * The result is a view into the workspace (valid until its next use).
 */
export function argsortFloat64(values: Float64Array, ws: RadixWorkspace = radixWorkspace(values.length)): Int32Array {
  const n = values.length;
  const f64 = new Float64Array(1);
  const u32 = new Uint32Array(f64.buffer);
  let { lo, hi, idx, lo2, hi2, idx2 } = ws;
  const counts = ws.counts;
  counts.fill(0);
  for (let i = 0; i < n; i++) {
    f64[0] = values[i] + 0; // folds -0 into +0
    let l = u32[0];
    let h = u32[1];
    // Order-preserving map of IEEE bits to unsigned: flip all bits of negatives, the sign bit of positives.
    if (h & 0x80000000) {
      l = ~l >>> 0;
      h = ~h >>> 0;
    } else {
      h = (h | 0x80000000) >>> 0;
    }
    lo[i] = l;
    hi[i] = h;
    idx[i] = i;
    counts[l & MASK]++;
    counts[BUCKETS + (l >>> BITS)]++;
    counts[2 * BUCKETS + (h & MASK)]++;
    counts[3 * BUCKETS + (h >>> BITS)]++;
  }
  for (let pass = 0; pass < 4; pass++) {
    const base = pass * BUCKETS;
    // A digit shared by every value leaves the order unchanged: skip the pass.
    let trivial = false;
    for (let b = 0; b < BUCKETS; b++) {
      const c = counts[base + b];
      if (c === n) { trivial = true; break; }
      if (c !== 0) break;
    }
    if (trivial) continue;
    let sum = 0;
    for (let b = 0; b < BUCKETS; b++) {
      const c = counts[base + b];
      counts[base + b] = sum;
      sum += c;
    }
    const useHi = pass >= 2;
    const shift = pass % 2 === 0 ? 0 : BITS;
    for (let i = 0; i < n; i++) {
      const key = useHi ? hi[i] : lo[i];
      const d = shift ? key >>> BITS : key & MASK;
      const pos = counts[base + d]++;
      lo2[pos] = lo[i];
      hi2[pos] = hi[i];
      idx2[pos] = idx[i];
    }
    [lo, lo2] = [lo2, lo];
    [hi, hi2] = [hi2, hi];
    [idx, idx2] = [idx2, idx];
  }
  return idx;
}

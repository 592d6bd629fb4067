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

function hashBits(lo: number, hi: number): number {
  const h = Math.imul(lo ^ (lo >>> 16), 0x9e3779b1) ^ Math.imul(hi ^ (hi >>> 15), 0x85ebca77);
  return h ^ (h >>> 13);
}

/** The distinct values of a column (ascending) and the level index of every frame. */
export interface LevelRanks {
  levels: Float64Array;
  /** index into `levels` of every frame; −1 for −∞ (never active) */
  rank: Int32Array;
}

/**
 * Rank the frames of a column by distinct value. Distinct values are found with an open-addressing hash
 * table on the bit patterns, so only the (usually few thousand) distinct values are sorted. Much faster than
 * sorting all frames when values repeat (quantised or median-filtered scores), and no slower than a full
 * radix sort when they do not.
 */
export class LevelRanker {
  private table: Int32Array;
  private ids: Int32Array;
  private distinct: Float64Array;
  private rankBuf: Int32Array;
  /** only for columns with ≥ 2^16 distinct values; allocated on first need */
  private radix: RadixWorkspace | null = null;

  constructor(private readonly n: number) {
    // Starts small so that the table stays in cache for the usual few thousand levels; grows as needed.
    this.table = new Int32Array(4096);
    this.ids = new Int32Array(n);
    this.distinct = new Float64Array(Math.max(n, 1));
    this.rankBuf = new Int32Array(Math.max(n, 1));
  }

  /** Double the hash table and re-insert the u distinct values found so far. */
  private grow(u: number): Int32Array {
    const table = new Int32Array(this.table.length * 2).fill(-1);
    const mask = table.length - 1;
    const f64 = new Float64Array(1);
    const w = new Uint32Array(f64.buffer);
    for (let d = 0; d < u; d++) {
      f64[0] = this.distinct[d];
      let h = hashBits(w[0], w[1]) & mask;
      while (table[h] >= 0) h = (h + 1) & mask;
      table[h] = d;
    }
    this.table = table;
    return table;
  }

  /** The result's arrays are views into this grouper's buffers, valid until its next call. */
  rank(values: Float64Array): LevelRanks {
    const n = this.n;
    if (values.length !== n) throw new Error(`LevelRanker: expected ${n} values, got ${values.length}`);
    const bits = new Uint32Array(values.buffer, values.byteOffset, 2 * n);
    const { ids, distinct } = this;
    let table = this.table;
    let mask = table.length - 1;
    table.fill(-1);
    let u = 0;
    let prev = NaN;
    let prevId = -1;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v === -Infinity) { ids[i] = -1; continue; }
      // Scores come in plateaus (median filtering, quantisation): skip the hash for a repeated value.
      if (v === prev) { ids[i] = prevId; continue; }
      prev = v;
      let lo = bits[2 * i];
      let hi = bits[2 * i + 1];
      if (v === 0) { lo = 0; hi = 0; } // -0 and +0 are one level
      let h = hashBits(lo, hi) & mask;
      for (;;) {
        const d = table[h];
        if (d < 0) {
          table[h] = u;
          distinct[u] = v === 0 ? 0 : v;
          prevId = ids[i] = u++;
          if (2 * u > table.length) {
            table = this.grow(u);
            mask = table.length - 1;
          }
          break;
        }
        if (distinct[d] === v) { prevId = ids[i] = d; break; }
        h = (h + 1) & mask;
      }
    }
    const rankOf = this.rankBuf; // distinct id → rank
    let levels: Float64Array;
    if (u < 1 << 16) {
      // Few levels: a native sort of the values and a binary search per distinct value beat the radix
      // sort's fixed 2^16-bucket passes.
      levels = distinct.slice(0, u).sort();
      for (let d = 0; d < u; d++) {
        const v = distinct[d];
        let lo = 0;
        let hi = u - 1;
        while (lo < hi) {
          const m = (lo + hi) >> 1;
          if (levels[m] < v) lo = m + 1;
          else hi = m;
        }
        rankOf[d] = lo;
      }
    } else {
      this.radix ??= radixWorkspace(this.n);
      const order = argsortFloat64(distinct.subarray(0, u), this.radix); // distinct id by ascending value
      levels = new Float64Array(u);
      for (let q = 0; q < u; q++) {
        rankOf[order[q]] = q;
        levels[q] = distinct[order[q]];
      }
    }
    for (let i = 0; i < n; i++) if (ids[i] >= 0) ids[i] = rankOf[ids[i]];
    return { levels, rank: ids };
  }
}

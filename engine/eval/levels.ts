/**
 * Score levels of class columns: the distinct values of a column (ascending) and the level index (rank) of
 * every frame, which is all the PSD-ROC sweep needs from the scores.
 *
 * Distinct values are found with an open-addressing hash table on the value bits, so only the (usually a
 * few thousand) distinct values are sorted, not all frames.
 */
import { argsortFloat64, radixWorkspace, type RadixWorkspace } from './sort';

/** The distinct values of a column (ascending) and the level index of every frame. */
export interface LevelRanks {
  levels: Float64Array;
  /** index into `levels` of every frame; −1 for −∞ (never active) or a frame left out */
  rank: Int32Array;
}

function hashBits(lo: number, hi: number): number {
  const h = Math.imul(lo ^ (lo >>> 16), 0x9e3779b1) ^ Math.imul(hi ^ (hi >>> 15), 0x85ebca77);
  return h ^ (h >>> 13);
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** Distinct values of one column, with ids in order of first appearance. */
class DistinctTable {
  private table = new Int32Array(4096).fill(-1);
  private mask = 4095;
  values = new Float64Array(1024);
  count = 0;
  private prev = NaN;
  private prevId = -1;

  reset(): void {
    this.table.fill(-1);
    this.count = 0;
    this.prev = NaN;
    this.prevId = -1;
  }

  /** Id of value v (finite or +0/-0; −∞ is handled by the caller); lo/hi are its bits. */
  idOf(v: number, lo: number, hi: number): number {
    // Scores come in plateaus (median filtering, quantisation): skip the hash for a repeated value.
    if (v === this.prev) return this.prevId;
    this.prev = v;
    if (v === 0) { lo = 0; hi = 0; } // -0 and +0 are one level
    const table = this.table;
    let h = hashBits(lo, hi) & this.mask;
    for (;;) {
      const d = table[h];
      if (d < 0) break;
      if (this.values[d] === v) return (this.prevId = d);
      h = (h + 1) & this.mask;
    }
    const d = this.count++;
    if (d === this.values.length) {
      const grown = new Float64Array(d * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[d] = v === 0 ? 0 : v;
    table[h] = d;
    if (2 * this.count > table.length) this.grow();
    return (this.prevId = d);
  }

  private grow(): void {
    const table = new Int32Array(this.table.length * 2).fill(-1);
    const mask = table.length - 1;
    for (let d = 0; d < this.count; d++) {
      f64[0] = this.values[d];
      let h = hashBits(u32[0], u32[1]) & mask;
      while (table[h] >= 0) h = (h + 1) & mask;
      table[h] = d;
    }
    this.table = table;
    this.mask = mask;
  }

  /** Sorted distinct values, and ids[i] (for i in [from, to)) rewritten from id to rank. */
  finish(ids: Int32Array, from: number, to: number, rankOf: Int32Array, radix: () => RadixWorkspace): Float64Array {
    const u = this.count;
    const distinct = this.values;
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
      const order = argsortFloat64(distinct.subarray(0, u), radix());
      levels = new Float64Array(u);
      for (let q = 0; q < u; q++) {
        rankOf[order[q]] = q;
        levels[q] = distinct[order[q]];
      }
    }
    for (let i = from; i < to; i++) if (ids[i] >= 0) ids[i] = rankOf[ids[i]];
    return levels;
  }
}

/** Ranks of one column at a time. */
export class LevelRanker {
  private readonly table = new DistinctTable();
  private readonly ids: Int32Array;
  private rankOf: Int32Array;
  private radix: RadixWorkspace | null = null;

  constructor(private readonly n: number) {
    this.ids = new Int32Array(n);
    this.rankOf = new Int32Array(Math.max(n, 1));
  }

  /** The result's `rank` is a view into this ranker's buffer, valid until its next call. */
  /**
   * With `include`, only frames with include[i] ≠ 0 are ranked (and only their values become levels); the
   * others get rank −1 like −∞ frames.
   */
  rank(values: Float64Array, include: Uint8Array | null = null): LevelRanks {
    const n = this.n;
    if (values.length !== n) throw new Error(`LevelRanker: expected ${n} values, got ${values.length}`);
    const bits = new Uint32Array(values.buffer, values.byteOffset, 2 * n);
    const { table, ids } = this;
    table.reset();
    for (let i = 0; i < n; i++) {
      const v = values[i];
      ids[i] = v === -Infinity || (include !== null && include[i] === 0) ? -1 : table.idOf(v, bits[2 * i], bits[2 * i + 1]);
    }
    const levels = table.finish(ids, 0, n, this.rankOf, () => (this.radix ??= radixWorkspace(n)));
    return { levels, rank: ids };
  }
}

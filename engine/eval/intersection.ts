/**
 * Intersection-based counts (PSDS_SPEC §3.1) at every score level of one class (§2.1, §2.3, §4.1).
 *
 * Instead of re-detecting events at each of the U levels (O(U·T) per file, as the reference does), one
 * descending sweep over the class column switches frames on level by level. Runs of active frames merge as
 * the level drops; every change touches only the merged run, the GT events it overlaps, and — for cross
 * triggers — the other classes' GT events it overlaps. Counts are carried from level to level and updated
 * by ±1 per change.
 *
 * Files without GT events of the class (and, with cross triggers, without any GT) take a shortcut, as in the
 * reference: every run is a false positive, so FP changes by 1 − (left neighbour on) − (right neighbour on)
 * per frame switched on.
 */
import { roundHalfEven } from './round';
import { LevelRanker } from './levels';
import { ColumnReader, type PreparedEval } from './scores';

const FIRST = 1;
const LAST = 2;
const SHORTCUT = 4;
/** the frame overlaps a GT event of the current class */
const TARGET = 8;

/** Set `bit` on every frame of file f that overlaps [p, q) by a positive length. */
function markOverlap(prep: PreparedEval, f: number, p: number, q: number, out: Uint8Array, bit: number): void {
  let lo = prep.fileStart[f];
  let hi = prep.fileStart[f + 1];
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (prep.tOff[m] <= p) lo = m + 1;
    else hi = m;
  }
  for (let g = lo; g < prep.fileStart[f + 1] && prep.tOn[g] < q; g++) out[g] |= bit;
}

export interface IntersectionCriteria {
  dtc: number;
  gtc: number;
  /** null: no cross-trigger counting */
  cttc: number | null;
  timeDecimals: number;
}

/** Counts of one class at each of its distinct score levels, highest level first. */
export interface LevelStats {
  levels: Float64Array;
  tp: Int32Array;
  fp: Int32Array;
  /**
   * Cross-trigger changes against other classes, in level order (null without cttc): at level index
   * `level[i]` the count for class `cls[i]` changes by `delta[i]`. A log instead of a [U, K] table, because
   * only few (level, class) pairs ever change.
   */
  ct: CtLog | null;
}

export interface CtLog {
  level: Int32Array;
  cls: Int32Array;
  delta: Int8Array;
}

/** The first `len` log entries, stably ordered by level (a counting sort: files were swept one by one). */
function sortLog(level: Int32Array, cls: Int32Array, delta: Int8Array, len: number, U: number): CtLog {
  const pos = new Int32Array(U + 1);
  for (let i = 0; i < len; i++) pos[level[i] + 1]++;
  for (let r = 0; r < U; r++) pos[r + 1] += pos[r];
  const out = { level: new Int32Array(len), cls: new Int32Array(len), delta: new Int8Array(len) };
  for (let i = 0; i < len; i++) {
    const p = pos[level[i]]++;
    out.level[p] = level[i];
    out.cls[p] = cls[i];
    out.delta[p] = delta[i];
  }
  return out;
}

/** Reusable buffers sized to the global frame count. */
export class IntersectionSweep {
  private readonly columns: ColumnReader;
  private readonly ranker: LevelRanker;
  private readonly stamp: Int32Array;
  private readonly runEndAt: Int32Array;
  private readonly runStartAt: Int32Array;
  private readonly passAt: Uint8Array;
  private readonly ctStart: Int32Array;
  private readonly ctLen: Int32Array;
  /** per frame: FIRST / LAST frame of its file, SHORTCUT file for the current class; 1 byte keeps it in cache */
  private readonly flags: Uint8Array;
  private readonly active: Uint8Array;
  /** shortcut files: change of the run count when the frame switches on */
  private readonly delta: Int8Array;
  /** frames that need a level */
  private readonly include: Uint8Array;
  /** per frame: overlaps a GT event of any class (a run without such frames cannot cross-trigger) */
  private readonly anyZone: Uint8Array;
  /** per run (at its first frame): touches TARGET frames / anyZone frames */
  private readonly touchT: Uint8Array;
  private readonly touchA: Uint8Array;
  private ctPool = new Int32Array(1024);
  private logLevel = new Int32Array(1024);
  private logCls = new Int32Array(1024);
  private logDelta = new Int8Array(1024);
  /** a general file's frames sorted by level (ascending), ascending frame index within a level */
  private order: Int32Array;
  private orderTmp: Int32Array;
  private readonly digitCounts = new Int32Array(257);
  private stampCounter = 0;

  constructor(private readonly prep: PreparedEval) {
    const n = prep.n;
    this.columns = new ColumnReader(prep);
    this.ranker = new LevelRanker(n);
    this.stamp = new Int32Array(n);
    this.runEndAt = new Int32Array(n);
    this.runStartAt = new Int32Array(n);
    this.passAt = new Uint8Array(n);
    this.ctStart = new Int32Array(n);
    this.ctLen = new Int32Array(n);
    this.flags = new Uint8Array(n);
    let maxT = 0;
    for (let f = 0; f < prep.audioIds.length; f++) maxT = Math.max(maxT, prep.fileStart[f + 1] - prep.fileStart[f]);
    this.order = new Int32Array(maxT);
    this.orderTmp = new Int32Array(maxT);
    this.active = new Uint8Array(n);
    this.delta = new Int8Array(n);
    this.include = new Uint8Array(n);
    this.touchT = new Uint8Array(n);
    this.touchA = new Uint8Array(n);
    this.anyZone = new Uint8Array(n);
    for (const ev of prep.events) {
      for (let f = 0; f < prep.audioIds.length; f++) {
        for (let k = ev.ptr[f]; k < ev.ptr[f + 1]; k++) markOverlap(prep, f, ev.on[k], ev.off[k], this.anyZone, 1);
      }
    }
  }

  /**
   * Frames g in [fs, fe) with rank ≥ qMin into this.order, sorted by rank (stable: ascending frame index
   * within a rank), by LSD radix on 8-bit digits — a file has a few hundred frames, so this stays in cache.
   * Returns the count.
   */
  private sortFileByRank(rank: Int32Array, fs: number, fe: number, qMin: number): number {
    let src = this.order;
    let dst = this.orderTmp;
    let m = 0;
    let maxRank = 0;
    for (let g = fs; g < fe; g++) {
      const q = rank[g];
      if (q < qMin) continue;
      src[m++] = g;
      if (q > maxRank) maxRank = q;
    }
    const counts = this.digitCounts;
    for (let shift = 0; maxRank >>> shift > 0; shift += 8) {
      counts.fill(0);
      for (let j = 0; j < m; j++) counts[((rank[src[j]] >>> shift) & 255) + 1]++;
      for (let d = 0; d < 256; d++) counts[d + 1] += counts[d];
      for (let j = 0; j < m; j++) dst[counts[(rank[src[j]] >>> shift) & 255]++] = src[j];
      const t = src;
      src = dst;
      dst = t;
    }
    this.order = src;
    this.orderTmp = dst;
    return m;
  }

  /**
   * Counts of class `c` at its levels, from the highest down. Levels are distinct scores of the class;
   * scores at which no count can change (inside a rising or falling stretch in a file without GT) are left
   * out — the counts there are those of the next listed level above. With `above`, only levels strictly
   * above it are swept (used when lower levels cannot matter).
   */
  run(c: number, crit: IntersectionCriteria, above = -Infinity): LevelStats {
    const prep = this.prep;
    const scale = 10 ** crit.timeDecimals;
    const { dtc, gtc } = crit;
    const cttc = crit.cttc ?? 0;
    const withCt = crit.cttc !== null;
    const { fileOf, fileStart, tOn, tOff, fileClassPtr, fileClasses } = prep;
    const allEvents = prep.events;
    const { on: gOn, off: gOff, ptr: gPtr } = allEvents[c];
    const nGt = gOn.length;
    const gtThr = new Float64Array(nGt);
    for (let k = 0; k < nGt; k++) gtThr[k] = roundHalfEven(gtc * (gOff[k] - gOn[k]) * scale) / scale;
    const gtSum = new Float64Array(nGt);
    const gtPass = new Uint8Array(nGt);
    const gtDirty = new Int32Array(nGt);
    const dirtyList = new Int32Array(nGt);

    const F = prep.audioIds.length;
    const flags = this.flags;
    for (let f = 0; f < F; f++) {
      const hasTarget = gPtr[f + 1] > gPtr[f];
      const hasAny = fileClassPtr[f + 1] > fileClassPtr[f];
      const s0 = fileStart[f];
      const e0 = fileStart[f + 1];
      flags.fill(hasTarget || (withCt && hasAny) ? 0 : SHORTCUT, s0, e0);
      flags[s0] |= FIRST;
      flags[e0 - 1] |= LAST;
      for (let k = gPtr[f]; k < gPtr[f + 1]; k++) markOverlap(prep, f, gOn[k], gOff[k], flags, TARGET);
    }

    // In shortcut files only the frames where the run count changes (local maxima +1, minima −1, as the
    // reference's onset deltas) matter; only they and the frames of the other files need a level.
    const col = this.columns.get(c);
    const { delta, include } = this;
    for (let f = 0; f < F; f++) {
      const fs = fileStart[f];
      const fe = fileStart[f + 1];
      if (!(flags[fs] & SHORTCUT)) {
        include.fill(1, fs, fe);
        continue;
      }
      for (let g = fs; g < fe; g++) {
        const v = col[g];
        // Switching on, a frame adds a run and merges away each neighbour already on (left: level ≥ its
        // own, as equal levels switch on left to right; right: strictly higher). −∞ never switches on.
        const d = v === -Infinity ? 0 : 1 - (g > fs && col[g - 1] >= v ? 1 : 0) - (g + 1 < fe && col[g + 1] > v ? 1 : 0);
        delta[g] = d;
        include[g] = d === 0 ? 0 : 1;
      }
    }
    const { levels: ascending, rank } = this.ranker.rank(col, include);
    const Uall = ascending.length;
    let U = 0;
    while (U < Uall && ascending[Uall - 1 - U] > above) U++;
    const qMin = Uall - U; // levels below this rank are not swept
    const levels = new Float64Array(U);
    for (let r = 0; r < U; r++) levels[r] = ascending[Uall - 1 - r];
    const fp = new Int32Array(U); // per-level deltas first, prefix-summed at the end
    const tp = new Int32Array(U);

    const { stamp, active, runEndAt, runStartAt, passAt, ctStart, ctLen, touchT, touchA, anyZone } = this;
    let ctPool = this.ctPool;
    let ctPoolLen = 0;
    let logLen = 0;
    let r = 0; // level index of the frames being switched on (0 = highest)
    let nDirty = 0;
    let cur = this.stampCounter;

    // First GT event of class c in [k0, k1) that may overlap an interval starting at time a.
    const firstEvent = (k0: number, k1: number, a: number) => {
      let lo = k0;
      let hi = k1;
      while (lo < hi) {
        const m = (lo + hi) >> 1;
        if (gOff[m] <= a) lo = m + 1;
        else hi = m;
      }
      return lo;
    };
    const logCt = (o: number, d: number) => {
      if (logLen === this.logLevel.length) {
        const size = logLen * 2;
        const lv = new Int32Array(size); lv.set(this.logLevel); this.logLevel = lv;
        const lc = new Int32Array(size); lc.set(this.logCls); this.logCls = lc;
        const ld = new Int8Array(size); ld.set(this.logDelta); this.logDelta = ld;
      }
      this.logLevel[logLen] = r;
      this.logCls[logLen] = o;
      this.logDelta[logLen++] = d;
    };

    // Runs touching no GT frame skip the GT loops (their overlaps are all 0).
    const removeRun = (s: number, e: number) => {
      if (passAt[s]) {
        if (!touchT[s]) return;
        const a = tOn[s];
        const b = tOff[e - 1];
        const f = fileOf[s];
        const k1 = gPtr[f + 1];
        for (let k = firstEvent(gPtr[f], k1, a); k < k1 && gOn[k] < b; k++) {
          const ov = Math.min(b, gOff[k]) - Math.max(a, gOn[k]);
          if (ov > 0) {
            gtSum[k] -= ov;
            if (gtDirty[k] !== cur) { gtDirty[k] = cur; dirtyList[nDirty++] = k; }
          }
        }
        return;
      }
      fp[r]--;
      if (withCt) {
        const p1 = ctStart[s] + ctLen[s];
        for (let p = ctStart[s]; p < p1; p++) logCt(ctPool[p], -1);
      }
    };

    const dtcPasses = (a: number, b: number, len: number, f: number) => {
      const k1 = gPtr[f + 1];
      let inter = 0;
      for (let k = firstEvent(gPtr[f], k1, a); k < k1 && gOn[k] < b; k++) {
        const ov = Math.min(b, gOff[k]) - Math.max(a, gOn[k]);
        if (ov > 0) inter += ov;
      }
      return roundHalfEven(inter * scale) / scale >= roundHalfEven(dtc * len * scale) / scale;
    };
    const addCoverage = (a: number, b: number, f: number) => {
      const k1 = gPtr[f + 1];
      for (let k = firstEvent(gPtr[f], k1, a); k < k1 && gOn[k] < b; k++) {
        const ov = Math.min(b, gOff[k]) - Math.max(a, gOn[k]);
        if (ov > 0) {
          gtSum[k] += ov;
          if (gtDirty[k] !== cur) { gtDirty[k] = cur; dirtyList[nDirty++] = k; }
        }
      }
    };

    const addRun = (s: number, e: number, tT: number, tA: number) => {
      runEndAt[s] = e;
      runStartAt[e - 1] = s;
      touchT[s] = tT;
      touchA[s] = tA;
      const a = tOn[s];
      const b = tOff[e - 1];
      const len = b - a;
      const f = fileOf[s];
      // No GT overlap (inter = 0): passes DTC only if round(dtc·len) is 0, i.e. dtc·len·10^d ≤ 0.5.
      const pass = tT
        ? dtcPasses(a, b, len, f)
        : dtc * len * scale <= 0.5;
      if (pass) {
        passAt[s] = 1;
        if (tT) addCoverage(a, b, f);
        return;
      }
      passAt[s] = 0;
      fp[r]++;
      if (!withCt) return;
      ctStart[s] = ctPoolLen;
      ctLen[s] = 0;
      const thr = roundHalfEven(cttc * len * scale) / scale;
      if (!tA && thr > 0) return;
      for (let q = fileClassPtr[f]; q < fileClassPtr[f + 1]; q++) {
        const o = fileClasses[q];
        if (o === c) continue;
        const ev = allEvents[o];
        const j1 = ev.ptr[f + 1];
        let sum = 0;
        for (let j = ev.ptr[f]; j < j1 && ev.on[j] < b; j++) {
          const ov = Math.min(b, ev.off[j]) - Math.max(a, ev.on[j]);
          if (ov > 0) sum += ov;
        }
        if (roundHalfEven(sum * scale) / scale >= thr) {
          logCt(o, 1);
          if (ctPoolLen === ctPool.length) {
            const grown = new Int32Array(ctPool.length * 2);
            grown.set(ctPool);
            ctPool = this.ctPool = grown;
          }
          ctPool[ctPoolLen++] = o;
        }
      }
      ctLen[s] = ctPoolLen - ctStart[s];
    };

    for (let f = 0; f < F; f++) {
      const fs = fileStart[f];
      const fe = fileStart[f + 1];
      if (flags[fs] & SHORTCUT) {
        // Every run is an FP here, so FP(u) is the number of runs: add the run-count changes. No sorting.
        for (let g = fs; g < fe; g++) {
          if (delta[g] === 0) continue;
          const q = rank[g];
          if (q >= qMin) fp[Uall - 1 - q] += delta[g];
        }
        continue;
      }
      const lo = 0;
      const hi = this.sortFileByRank(rank, fs, fe, qMin);
      const order = this.order;
      active.fill(0, fs, fe);
      let jEnd = hi; // frames order[jStart .. jEnd) share one level, in ascending frame order
      while (jEnd > lo) {
        const q = rank[order[jEnd - 1]];
        let jStart = jEnd - 1;
        while (jStart > lo && rank[order[jStart - 1]] === q) jStart--;
        r = Uall - 1 - q;
        cur++;
        nDirty = 0;
        for (let j = jStart; j < jEnd; j++) {
          const g = order[j];
          active[g] = 1;
          stamp[g] = cur;
        }
        let doneUntil = -1;
        for (let j = jStart; j < jEnd; j++) {
          const g = order[j];
          if (g < doneUntil) continue;
          let s0 = g;
          let tT = flags[g] & TARGET ? 1 : 0;
          let tA = anyZone[g];
          // Frames left of g that are on form one old run (new ones were merged by an earlier g).
          if (!(flags[g] & FIRST) && active[g - 1]) {
            const s1 = runStartAt[g - 1];
            tT |= touchT[s1];
            tA |= touchA[s1];
            removeRun(s1, g);
            s0 = s1;
          }
          let e0 = g + 1;
          while (e0 < fe && active[e0]) {
            if (stamp[e0] === cur) {
              if (flags[e0] & TARGET) tT = 1;
              tA |= anyZone[e0];
              e0++;
            } else {
              const e1 = runEndAt[e0];
              tT |= touchT[e0];
              tA |= touchA[e0];
              removeRun(e0, e1);
              e0 = e1;
            }
          }
          addRun(s0, e0, tT, tA);
          doneUntil = e0;
        }
        for (let j = 0; j < nDirty; j++) {
          const k = dirtyList[j];
          const pass = roundHalfEven(gtSum[k] * scale) / scale >= gtThr[k] ? 1 : 0;
          if (pass !== gtPass[k]) {
            gtPass[k] = pass;
            tp[r] += pass ? 1 : -1;
          }
        }
        jEnd = jStart;
      }
    }
    this.stampCounter = cur;
    for (let q = 1; q < U; q++) {
      fp[q] += fp[q - 1];
      tp[q] += tp[q - 1];
    }
    const ct = withCt ? sortLog(this.logLevel, this.logCls, this.logDelta, logLen, U) : null;
    return { levels, tp, fp, ct };
  }
}

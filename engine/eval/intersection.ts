/**
 * Intersection-based counts (PSDS_SPEC §3.1) at every score level of one class (§2.1, §2.3, §4.1).
 *
 * Instead of re-detecting events at each of the U levels (O(U·T) per file, as the reference does), one
 * descending sweep over the class column switches frames on level by level. Runs of active frames merge as
 * the level drops; every change touches only the merged run, the GT events it overlaps, and — for cross
 * triggers — the other classes' GT events it overlaps. Each change is recorded as a ±1 delta at the current
 * level, and a prefix sum over the levels (highest first) yields TP(u), FP(u) and CT_o(u).
 */
import { makeRounder } from './round';
import { argsortFloat64, radixWorkspace, type RadixWorkspace } from './sort';
import { classColumn, type PreparedEval } from './scores';

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

/** Reusable buffers sized to the global frame count. */
export class IntersectionSweep {
  private readonly col: Float64Array;
  private readonly radix: RadixWorkspace;
  private readonly stamp: Int32Array;
  private readonly runEndAt: Int32Array;
  private readonly runStartAt: Int32Array;
  private readonly passAt: Uint8Array;
  private readonly ctStart: Int32Array;
  private readonly ctLen: Int32Array;
  private ctPool = new Int32Array(1024);
  private ctPoolLen = 0;
  private logLevel = new Int32Array(1024);
  private logCls = new Int32Array(1024);
  private logDelta = new Int8Array(1024);
  private logLen = 0;

  constructor(private readonly prep: PreparedEval) {
    const n = prep.n;
    this.col = new Float64Array(n);
    this.radix = radixWorkspace(n);
    this.stamp = new Int32Array(n);
    this.runEndAt = new Int32Array(n);
    this.runStartAt = new Int32Array(n);
    this.passAt = new Uint8Array(n);
    this.ctStart = new Int32Array(n);
    this.ctLen = new Int32Array(n);
  }

  /** Counts of class `c` at all of its levels. */
  run(c: number, crit: IntersectionCriteria): LevelStats {
    const prep = this.prep;
    const round = makeRounder(crit.timeDecimals);
    const { dtc, gtc } = crit;
    const cttc = crit.cttc;
    const { fileOf, fileStart, tOn, tOff, fileClassPtr, fileClasses } = prep;
    const allEvents = prep.events;
    const { on: gOn, off: gOff, ptr: gPtr } = allEvents[c];
    const nGt = gOn.length;
    const gtThr = new Float64Array(nGt);
    for (let k = 0; k < nGt; k++) gtThr[k] = round(gtc * (gOff[k] - gOn[k]));
    const gtSum = new Float64Array(nGt);
    const gtPass = new Uint8Array(nGt);
    const gtDirty = new Int32Array(nGt);
    const dirtyList = new Int32Array(nGt);

    const col = classColumn(prep, c, this.col);
    const perm = argsortFloat64(col, this.radix);
    const n = prep.n;
    // Distinct finite levels (−∞ frames never switch on).
    let firstFinite = 0;
    while (firstFinite < n && col[perm[firstFinite]] === -Infinity) firstFinite++;
    let U = 0;
    for (let i = n - 1; i >= firstFinite; i--) if (i === n - 1 || col[perm[i]] !== col[perm[i + 1]]) U++;
    const levels = new Float64Array(U);
    const tp = new Int32Array(U);
    const fp = new Int32Array(U);
    const withCt = cttc !== null;

    const { stamp, runEndAt, runStartAt, passAt, ctStart, ctLen } = this;
    stamp.fill(0);
    this.ctPoolLen = 0;
    this.logLen = 0;
    let r = -1; // current level index (0 = highest)
    let nDirty = 0;
    let cur = 0;

    const markDirty = (k: number) => {
      if (gtDirty[k] !== cur) {
        gtDirty[k] = cur;
        dirtyList[nDirty++] = k;
      }
    };
    // First GT event of file f (class c) that may overlap a run starting at time a.
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
    const pushCt = (o: number) => {
      if (this.ctPoolLen === this.ctPool.length) {
        const grown = new Int32Array(this.ctPool.length * 2);
        grown.set(this.ctPool);
        this.ctPool = grown;
      }
      this.ctPool[this.ctPoolLen++] = o;
    };
    const logCt = (o: number, d: number) => {
      if (this.logLen === this.logLevel.length) {
        const size = this.logLen * 2;
        const lv = new Int32Array(size); lv.set(this.logLevel); this.logLevel = lv;
        const lc = new Int32Array(size); lc.set(this.logCls); this.logCls = lc;
        const ld = new Int8Array(size); ld.set(this.logDelta); this.logDelta = ld;
      }
      this.logLevel[this.logLen] = r;
      this.logCls[this.logLen] = o;
      this.logDelta[this.logLen++] = d;
    };

    const removeRun = (s: number, e: number) => {
      if (passAt[s]) {
        const a = tOn[s];
        const b = tOff[e - 1];
        const f = fileOf[s];
        const k1 = gPtr[f + 1];
        for (let k = firstEvent(gPtr[f], k1, a); k < k1 && gOn[k] < b; k++) {
          const ov = Math.min(b, gOff[k]) - Math.max(a, gOn[k]);
          if (ov > 0) {
            gtSum[k] -= ov;
            markDirty(k);
          }
        }
      } else {
        fp[r]--;
        if (withCt) {
          const p0 = ctStart[s];
          const p1 = p0 + ctLen[s];
          for (let p = p0; p < p1; p++) logCt(this.ctPool[p], -1);
        }
      }
    };

    const addRun = (s: number, e: number) => {
      runEndAt[s] = e;
      runStartAt[e - 1] = s;
      const a = tOn[s];
      const b = tOff[e - 1];
      const len = b - a;
      const f = fileOf[s];
      const k1 = gPtr[f + 1];
      const kFirst = firstEvent(gPtr[f], k1, a);
      let inter = 0;
      for (let k = kFirst; k < k1 && gOn[k] < b; k++) {
        const ov = Math.min(b, gOff[k]) - Math.max(a, gOn[k]);
        if (ov > 0) inter += ov;
      }
      const pass = round(inter) >= round(dtc * len);
      passAt[s] = pass ? 1 : 0;
      if (pass) {
        for (let k = kFirst; k < k1 && gOn[k] < b; k++) {
          const ov = Math.min(b, gOff[k]) - Math.max(a, gOn[k]);
          if (ov > 0) {
            gtSum[k] += ov;
            markDirty(k);
          }
        }
        return;
      }
      fp[r]++;
      if (!withCt) return;
      ctStart[s] = this.ctPoolLen;
      const thr = round((cttc as number) * len);
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
        if (round(sum) >= thr) {
          logCt(o, 1);
          pushCt(o);
        }
      }
      ctLen[s] = this.ctPoolLen - ctStart[s];
    };

    // Blocks of equal values in `perm` are contiguous and in ascending frame order (stable sort).
    let blockEnd = n;
    while (blockEnd > firstFinite) {
      const v = col[perm[blockEnd - 1]];
      let blockStart = blockEnd - 1;
      while (blockStart > firstFinite && col[perm[blockStart - 1]] === v) blockStart--;
      r++;
      cur = r + 1;
      levels[r] = v;
      if (r > 0) {
        fp[r] = fp[r - 1];
        tp[r] = tp[r - 1];
      }
      nDirty = 0;
      for (let i = blockStart; i < blockEnd; i++) stamp[perm[i]] = cur;
      let doneUntil = -1;
      for (let i = blockStart; i < blockEnd; i++) {
        const g = perm[i];
        if (g < doneUntil) continue;
        const f = fileOf[g];
        const fs = fileStart[f];
        const fe = fileStart[f + 1];
        let start = g;
        // Frames left of g that are on belong to one old run (new ones were merged by an earlier g).
        if (start > fs && stamp[start - 1] !== 0) {
          const s0 = runStartAt[start - 1];
          removeRun(s0, start);
          start = s0;
        }
        let end = g + 1;
        while (end < fe && stamp[end] !== 0) {
          if (stamp[end] === cur) end++;
          else {
            const e0 = runEndAt[end];
            removeRun(end, e0);
            end = e0;
          }
        }
        addRun(start, end);
        doneUntil = end;
      }
      for (let q = 0; q < nDirty; q++) {
        const k = dirtyList[q];
        const pass = round(gtSum[k]) >= gtThr[k] ? 1 : 0;
        if (pass !== gtPass[k]) {
          gtPass[k] = pass;
          tp[r] += pass ? 1 : -1;
        }
      }
      blockEnd = blockStart;
    }
    const ct = withCt
      ? { level: this.logLevel.slice(0, this.logLen), cls: this.logCls.slice(0, this.logLen), delta: this.logDelta.slice(0, this.logLen) }
      : null;
    return { levels, tp, fp, ct };
  }
}

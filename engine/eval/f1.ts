/**
 * Fixed-threshold F1 (PSDS_SPEC §2.2, §5): detections are runs of frames with score > θ (strict), counted
 * with the intersection criteria (§3.1) or the collar criteria (§3.2), summed over files, then per-class,
 * macro and micro precision/recall/F1.
 */
import { collarMatches, type CollarParams } from './collar';
import { makeRounder } from './round';
import { ColumnReader, pyList, type PreparedEval } from './scores';

export interface ClassF1 {
  f: number;
  p: number;
  r: number;
  tp: number;
  fp: number;
  n_ref: number;
}

export interface F1Result {
  per_class: Record<string, ClassF1>;
  macro: { f: number; p: number; r: number };
  micro: { f: number; p: number; r: number };
}

export interface IntersectionF1Params {
  /** one threshold for all classes, or one per class name */
  threshold: number | Record<string, number>;
  dtc: number;
  gtc: number;
  timeDecimals: number;
}

export interface CollarF1Params extends CollarParams {
  threshold: number | Record<string, number>;
  timeDecimals: number;
}

export const INTERSECTION_F1_DEFAULTS: Readonly<IntersectionF1Params> = Object.freeze({ threshold: 0.5, dtc: 0.5, gtc: 0.5, timeDecimals: 6 });
export const COLLAR_F1_DEFAULTS: Readonly<CollarF1Params> = Object.freeze({
  threshold: 0.5, onsetCollar: 0.2, offsetCollar: 0.2, offsetCollarRate: 0.2, timeDecimals: 6,
});

/** Runs of frames g in [g0, g1) with col[g] > θ, as time intervals; returns the count written. */
export function runsAboveThreshold(
  col: Float64Array, g0: number, g1: number, theta: number,
  tOn: Float64Array, tOff: Float64Array, outOn: Float64Array, outOff: Float64Array,
): number {
  let n = 0;
  let g = g0;
  while (g < g1) {
    if (!(col[g] > theta)) { g++; continue; }
    const s = g;
    while (g < g1 && col[g] > theta) g++;
    outOn[n] = tOn[s];
    outOff[n] = tOff[g - 1];
    n++;
  }
  return n;
}

/**
 * Intersection-based TP/FP of one set of detections against one class's GT events [k0, k1)
 * (the reference's per-detection sums and per-GT sums over DTC-passing detections, in time order).
 */
export function intersectionCounts(
  dOn: ArrayLike<number>, dOff: ArrayLike<number>, nDet: number,
  gOn: ArrayLike<number>, gOff: ArrayLike<number>, k0: number, k1: number,
  dtc: number, gtc: number, round: (x: number) => number,
): { tp: number; fp: number } {
  const passes = new Uint8Array(nDet);
  let fp = 0;
  for (let i = 0; i < nDet; i++) {
    let inter = 0;
    for (let k = k0; k < k1; k++) inter += Math.max(Math.min(dOff[i], gOff[k]) - Math.max(dOn[i], gOn[k]), 0);
    if (round(inter) >= round(dtc * (dOff[i] - dOn[i]))) passes[i] = 1;
    else fp++;
  }
  let tp = 0;
  for (let k = k0; k < k1; k++) {
    let cover = 0;
    for (let i = 0; i < nDet; i++) if (passes[i]) cover += Math.max(Math.min(dOff[i], gOff[k]) - Math.max(dOn[i], gOn[k]), 0);
    if (round(cover) >= round(gtc * (gOff[k] - gOn[k]))) tp++;
  }
  return { tp, fp };
}

function thresholdFor(prep: PreparedEval, threshold: number | Record<string, number>, c: number): number {
  if (typeof threshold === 'number') return threshold;
  const t = threshold[prep.classes[c]];
  if (typeof t !== 'number') throw new Error(`threshold: no value for class '${prep.classes[c]}'`);
  return t;
}

type Counter = (dOn: Float64Array, dOff: Float64Array, nDet: number, c: number, k0: number, k1: number) => { tp: number; fp: number };

function countAll(prep: PreparedEval, threshold: number | Record<string, number>, tpOf: Counter): F1Result {
  const K = prep.classes.length;
  const without = prep.classes.filter((_, c) => prep.nRef[c] === 0);
  if (without.length) throw new Error(`No ground truth events for classes ${pyList(without)}.`);
  let maxT = 0;
  for (let f = 0; f < prep.audioIds.length; f++) maxT = Math.max(maxT, prep.fileStart[f + 1] - prep.fileStart[f]);
  const dOn = new Float64Array(maxT);
  const dOff = new Float64Array(maxT);
  const columns = new ColumnReader(prep);
  const perClass: Record<string, ClassF1> = {};
  let sumF = 0;
  let sumP = 0;
  let sumR = 0;
  let tpAll = 0;
  let fpAll = 0;
  let nAll = 0;
  for (let c = 0; c < K; c++) {
    const col = columns.get(c);
    const theta = thresholdFor(prep, threshold, c);
    const ptr = prep.events[c].ptr;
    let tp = 0;
    let fp = 0;
    for (let f = 0; f < prep.audioIds.length; f++) {
      const nDet = runsAboveThreshold(col, prep.fileStart[f], prep.fileStart[f + 1], theta, prep.tOn, prep.tOff, dOn, dOff);
      if (nDet === 0) continue;
      const counts = tpOf(dOn, dOff, nDet, c, ptr[f], ptr[f + 1]);
      tp += counts.tp;
      fp += counts.fp;
    }
    const nRef = prep.nRef[c];
    const p = tp + fp === 0 ? 1 : tp / (tp + fp);
    const r = tp / nRef;
    const fScore = (2 * p * r) / Math.max(p + r, 1e-15);
    perClass[prep.classes[c]] = { f: fScore, p, r, tp, fp, n_ref: nRef };
    sumF += fScore;
    sumP += p;
    sumR += r;
    tpAll += tp;
    fpAll += fp;
    nAll += nRef;
  }
  const p = tpAll / Math.max(tpAll + fpAll, 1);
  const r = tpAll / Math.max(nAll, 1);
  return {
    per_class: perClass,
    macro: { f: sumF / K, p: sumP / K, r: sumR / K },
    micro: { f: (2 * p * r) / Math.max(p + r, 1e-15), p, r },
  };
}

/** Intersection-based F1 (DCASE convention: θ 0.5, dtc = gtc = 0.5). */
export function intersectionF1(prep: PreparedEval, params: IntersectionF1Params = INTERSECTION_F1_DEFAULTS): F1Result {
  const round = makeRounder(params.timeDecimals);
  return countAll(prep, params.threshold, (dOn, dOff, nDet, c, k0, k1) => {
    const ev = prep.events[c];
    return intersectionCounts(dOn, dOff, nDet, ev.on, ev.off, k0, k1, params.dtc, params.gtc, round);
  });
}

/** Collar-based F1 (DCASE "event-based F1": θ 0.5, onset collar 0.2 s, offset collar max(0.2 s, 20 %)). */
export function collarF1(prep: PreparedEval, params: CollarF1Params = COLLAR_F1_DEFAULTS): F1Result {
  const round = makeRounder(params.timeDecimals);
  return countAll(prep, params.threshold, (dOn, dOff, nDet, c, k0, k1) => {
    const ev = prep.events[c];
    const tp = collarMatches(dOn, dOff, nDet, ev.on, ev.off, k0, k1, params, round);
    return { tp, fp: nDet - tp };
  });
}

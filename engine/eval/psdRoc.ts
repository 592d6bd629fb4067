/**
 * PSD-ROC construction (PSDS_SPEC §4.2–4.4): per-class (eFPR, TPR) staircases from the level counts, their
 * combination into the effective PSD-ROC, and the normalised staircase area.
 * Floating-point operations follow the reference's order where equality of values matters (eFPR values are
 * deduplicated and merged by exact equality).
 */
import type { LevelStats } from './intersection';

export interface ClassRoc {
  efpr: Float64Array;
  tpr: Float64Array;
  /** the score level of each point (+Infinity: nothing detected) — informative only */
  thresholds: Float64Array;
}

export interface PsdRoc {
  efpr: Float64Array;
  etpr: Float64Array;
}

export interface ClassRocContext {
  /** index of the class */
  c: number;
  nRef: Int32Array;
  tRef: Float64Array;
  datasetDuration: number;
  alphaCt: number;
  secondsPerUnit: number;
  maxEfpr: number;
}

/**
 * eFPR of every level (highest level first): 3600·[FP/D + α_ct · mean_{o≠c} CT_o / max(T_ref[o], 1e-12)].
 */
function effectiveFpRates(stats: LevelStats, ctx: ClassRocContext): Float64Array {
  const U = stats.levels.length;
  const out = new Float64Array(U);
  const D = ctx.datasetDuration;
  const unit = ctx.secondsPerUnit;
  if (ctx.alphaCt === 0 || stats.ct === null) {
    for (let r = 0; r < U; r++) out[r] = (stats.fp[r] / D) * unit;
    return out;
  }
  const K = ctx.tRef.length;
  const denom = new Float64Array(K);
  for (let o = 0; o < K; o++) denom[o] = Math.max(ctx.tRef[o], 1e-12);
  const counts = new Int32Array(K);
  const { level, cls, delta } = stats.ct;
  let p = 0;
  let mean = 0;
  for (let r = 0; r < U; r++) {
    let changed = false;
    while (p < level.length && level[p] === r) {
      counts[cls[p]] += delta[p];
      p++;
      changed = true;
    }
    if (changed) {
      // Sequential sum over the other classes in class order, then divide (numpy's mean along axis 0).
      let sum = 0;
      let first = true;
      for (let o = 0; o < K; o++) {
        if (o === ctx.c) continue;
        const rate = counts[o] / denom[o];
        sum = first ? rate : sum + rate;
        first = false;
      }
      mean = sum / (K - 1);
    }
    out[r] = (stats.fp[r] / D + ctx.alphaCt * mean) * unit;
  }
  return out;
}

/**
 * The class's monotone ("oracle") ROC: points sorted by (eFPR, TPR), kept only where TPR strictly rises,
 * the highest TPR per eFPR, eFPR ≤ max_efpr.
 */
export function classRoc(stats: LevelStats, ctx: ClassRocContext): ClassRoc {
  const U = stats.levels.length;
  const efprDesc = effectiveFpRates(stats, ctx);
  const nRef = Math.max(ctx.nRef[ctx.c], 1);
  // Points from the highest level down, +∞ first: among exact (eFPR, TPR) ties the stable sort below then
  // keeps the highest level, as the reference reports it.
  const m = U + 1;
  const efpr = new Float64Array(m);
  const tpr = new Float64Array(m);
  const thr = new Float64Array(m);
  efpr[0] = 0;
  tpr[0] = 0;
  thr[0] = Infinity;
  for (let r = 0; r < U; r++) {
    efpr[r + 1] = efprDesc[r];
    tpr[r + 1] = stats.tp[r] / nRef;
    thr[r + 1] = stats.levels[r];
  }
  // Points beyond max_efpr sort after all others and are cut at the end, so they can go first.
  const idx: number[] = [];
  for (let i = 0; i < m; i++) if (efpr[i] <= ctx.maxEfpr) idx.push(i);
  idx.sort((a, b) => efpr[a] - efpr[b] || tpr[a] - tpr[b]);
  const keep: number[] = [];
  let best = -Infinity;
  for (let j = 0; j < idx.length; j++) {
    const i = idx[j];
    if (j === 0 || tpr[i] > best) {
      best = Math.max(best, tpr[i]);
      if (keep.length && efpr[keep[keep.length - 1]] === efpr[i]) keep[keep.length - 1] = i;
      else keep.push(i);
    }
  }
  return {
    efpr: Float64Array.from(keep, (i) => efpr[i]),
    tpr: Float64Array.from(keep, (i) => tpr[i]),
    thresholds: Float64Array.from(keep, (i) => thr[i]),
  };
}

/**
 * Effective PSD-ROC over all classes: on the union grid of the classes' eFPRs, etpr = max(0, μ − α_st·σ)
 * of the right-continuous class staircases (σ the population std), plus the final point at max_efpr.
 */
export function psdRoc(rocs: ClassRoc[], alphaSt: number, maxEfpr: number): PsdRoc {
  const all: number[] = [];
  for (const r of rocs) for (const x of r.efpr) all.push(x);
  all.sort((a, b) => a - b);
  const grid: number[] = [];
  for (const x of all) if (grid.length === 0 || grid[grid.length - 1] !== x) grid.push(x);
  const G = grid.length;
  const K = rocs.length;
  const interp = rocs.map((roc) => {
    const y = new Float64Array(G);
    let p = -1;
    for (let i = 0; i < G; i++) {
      while (p + 1 < roc.efpr.length && roc.efpr[p + 1] <= grid[i]) p++;
      y[i] = p < 0 ? 0 : roc.tpr[p];
    }
    return y;
  });
  const efpr = new Float64Array(G + 1);
  const etpr = new Float64Array(G + 1);
  for (let i = 0; i < G; i++) {
    let sum = 0;
    for (let c = 0; c < K; c++) sum += interp[c][i];
    const mu = sum / K;
    let sq = 0;
    for (let c = 0; c < K; c++) {
      const d = interp[c][i] - mu;
      sq += d * d;
    }
    const sigma = Math.sqrt(sq / K);
    efpr[i] = grid[i];
    etpr[i] = Math.max(mu - alphaSt * sigma, 0);
  }
  efpr[G] = maxEfpr;
  etpr[G] = etpr[G - 1];
  return { efpr, etpr };
}

/** Staircase area under (x, y) up to maxX (each y held until the next x, the last one until maxX), / maxX. */
export function psdsFromRoc(y: ArrayLike<number>, x: ArrayLike<number>, maxX: number): number {
  let cut = 0;
  while (cut < x.length && x[cut] <= maxX) cut++;
  if (cut === 0) throw new Error(`PSD-ROC has no point at or below max_efpr ${maxX}`);
  let auc = 0;
  for (let i = 0; i < cut; i++) {
    const next = i + 1 < cut ? x[i + 1] : maxX;
    auc += y[i] * (next - x[i]);
  }
  return auc / maxX;
}

/**
 * Polyphonic Sound Detection Score (PSDS_SPEC §0, §4): parameters, the PSDS1/PSDS2 presets, validation of
 * parameter combinations, and the computation from prepared inputs.
 */
import { IntersectionSweep } from './intersection';
import { classRoc, psdRoc, psdsFromRoc, type ClassRoc, type PsdRoc } from './psdRoc';
import { pyList, type PreparedEval } from './scores';

export const SECONDS_PER_UNIT = { second: 1, minute: 60, hour: 3600 } as const;
export type UnitOfTime = keyof typeof SECONDS_PER_UNIT;

export interface PsdsParams {
  dtc: number;
  gtc: number;
  /** cross-trigger tolerance criterion; must be null exactly when alphaCt is 0 */
  cttc: number | null;
  alphaCt: number;
  alphaSt: number;
  maxEfpr: number;
  unitOfTime: UnitOfTime;
  timeDecimals: number;
}

export const PSDS1: Readonly<PsdsParams> = Object.freeze({
  dtc: 0.7, gtc: 0.7, cttc: null, alphaCt: 0, alphaSt: 1, maxEfpr: 100, unitOfTime: 'hour', timeDecimals: 6,
});

export const PSDS2: Readonly<PsdsParams> = Object.freeze({
  dtc: 0.1, gtc: 0.1, cttc: 0.3, alphaCt: 0.5, alphaSt: 1, maxEfpr: 100, unitOfTime: 'hour', timeDecimals: 6,
});

export interface PsdsResult {
  params: PsdsParams;
  psds: number;
  /** class → PSDS of its own ROC (alpha_st plays no role) */
  perClassPsds: Record<string, number>;
  /** mean of the per-class values (= PSDS with alpha_st 0; EfficientSED's `psds1_macro_averaged`) */
  macroPsdsAlphaSt0: number;
  psdRoc: PsdRoc;
  perClassRoc: Record<string, ClassRoc>;
}

/** Throws for parameter combinations the reference rejects (and K = 1 with cross triggers). */
export function validatePsdsParams(p: PsdsParams, nClasses: number): void {
  const frac = (name: string, v: number) => {
    if (!(Number.isFinite(v) && v >= 0 && v <= 1)) throw new Error(`${name} must be a number in [0, 1], got ${v}`);
  };
  frac('dtc_threshold', p.dtc);
  frac('gtc_threshold', p.gtc);
  if (p.alphaCt === 0) {
    if (p.cttc !== null) throw new Error('cttc_threshold has been provided but alpha_ct is 0.');
  } else {
    if (p.cttc === null) throw new Error('alpha_ct is not 0 but no cttc_threshold has been provided.');
    frac('cttc_threshold', p.cttc);
    if (nClasses < 2) throw new Error('alpha_ct > 0 needs at least 2 classes (the cross-trigger mean over the other classes is empty)');
  }
  if (!(Number.isFinite(p.alphaCt) && p.alphaCt >= 0)) throw new Error(`alpha_ct must be ≥ 0, got ${p.alphaCt}`);
  if (!(Number.isFinite(p.alphaSt) && p.alphaSt >= 0)) throw new Error(`alpha_st must be ≥ 0, got ${p.alphaSt}`);
  if (!(Number.isFinite(p.maxEfpr) && p.maxEfpr > 0)) throw new Error(`max_efpr must be > 0, got ${p.maxEfpr}`);
  if (!(Number.isInteger(p.timeDecimals) && p.timeDecimals >= 0 && p.timeDecimals <= 15)) {
    throw new Error(`time_decimals must be an integer in [0, 15], got ${p.timeDecimals}`);
  }
  if (!(p.unitOfTime in SECONDS_PER_UNIT)) {
    throw new Error(`Invalid unit_of_time ${p.unitOfTime}. Valid units are ${Object.keys(SECONDS_PER_UNIT).join(', ')}.`);
  }
}

/** PSDS, per-class PSDS and the PSD-ROC of prepared inputs. Pass a sweep to reuse its buffers across calls. */
export function computePsds(prep: PreparedEval, params: PsdsParams, sweep = new IntersectionSweep(prep)): PsdsResult {
  const K = prep.classes.length;
  validatePsdsParams(params, K);
  const without = prep.classes.filter((_, c) => prep.nRef[c] === 0);
  if (without.length) throw new Error(`No ground truth events for classes ${pyList(without)}.`);
  const rocs: ClassRoc[] = [];
  const unit = SECONDS_PER_UNIT[params.unitOfTime];
  for (let c = 0; c < K; c++) {
    const crit = { dtc: params.dtc, gtc: params.gtc, cttc: params.cttc, timeDecimals: params.timeDecimals };
    let above = -Infinity;
    if (params.cttc !== null) {
      // Cross triggers only add to the eFPR, so where the FP rate alone exceeds max_efpr the point is cut
      // anyway. A cheap sweep without them finds the lowest level L whose FP rate is within max_efpr; below
      // the next lower level of that sweep, FP stays beyond it, so the costly sweep with cross triggers
      // stops there. (The two sweeps may list different levels: levels are only skipped where nothing
      // changes for the criteria at hand.)
      const plain = sweep.run(c, { ...crit, cttc: null });
      let last = -1;
      for (let r = 0; r < plain.fp.length; r++) if ((plain.fp[r] / prep.datasetDuration) * unit <= params.maxEfpr) last = r;
      above = last + 1 < plain.levels.length ? plain.levels[last + 1] : -Infinity;
    }
    const stats = sweep.run(c, crit, above);
    rocs.push(classRoc(stats, {
      c, nRef: prep.nRef, tRef: prep.tRef, datasetDuration: prep.datasetDuration,
      alphaCt: params.alphaCt, secondsPerUnit: unit, maxEfpr: params.maxEfpr,
    }));
  }
  const roc = psdRoc(rocs, params.alphaSt, params.maxEfpr);
  const perClassPsds: Record<string, number> = {};
  const perClassRoc: Record<string, ClassRoc> = {};
  let sum = 0;
  prep.classes.forEach((name, c) => {
    const v = psdsFromRoc(rocs[c].tpr, rocs[c].efpr, params.maxEfpr);
    perClassPsds[name] = v;
    perClassRoc[name] = rocs[c];
    sum += v;
  });
  return {
    params: { ...params },
    psds: psdsFromRoc(roc.etpr, roc.efpr, params.maxEfpr),
    perClassPsds,
    macroPsdsAlphaSt0: sum / K,
    psdRoc: roc,
    perClassRoc,
  };
}

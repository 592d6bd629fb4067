/**
 * Parity with sed_scores_eval: every case folder in SED_PSDS_DIR against its expected.json, within the
 * fixture README's tolerances (PSDS rel 1e-6; ROC arrays same length, efpr rel 1e-9, etpr abs 1e-9;
 * F1 counts exact, f/p/r 1e-12); cases with `expect_error` must throw for every metric.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readDurationsTsv, readGroundTruthTsv } from '../../engine/detect/groundTruth';
import { readScoresFolder } from '../../engine/detect/scoresTsv';
import {
  collarF1, COLLAR_F1_DEFAULTS, computePsds, evaluate, intersectionF1, INTERSECTION_F1_DEFAULTS, prepareEvaluation,
  PSDS1, PSDS2, type PsdsParams, type PsdsJson, psdsToJson, type F1Result,
} from '../../engine/eval/index';
import { PSDS_DIR } from '../helpers/paths';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Expected = any;

/** Within rel·|expected|, or within abs when expected is 0 or rel is 0. */
function close(actual: number, expected: number, rel: number, abs: number, what: string): void {
  const tol = expected === 0 || rel === 0 ? abs : Math.abs(expected) * rel;
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, expected ${expected} (tolerance ${tol})`);
}

function paramsOf(p: any): PsdsParams {
  return {
    dtc: p.dtc_threshold, gtc: p.gtc_threshold, cttc: p.cttc_threshold, alphaCt: p.alpha_ct, alphaSt: p.alpha_st,
    maxEfpr: p.max_efpr, unitOfTime: p.unit_of_time, timeDecimals: p.time_decimals,
  };
}

function checkPsds(got: PsdsJson, exp: any, what: string): void {
  close(got.psds, exp.psds, 1e-6, 1e-9, `${what}.psds`);
  close(got.macro_psds_alpha_st0, exp.macro_psds_alpha_st0, 1e-6, 1e-9, `${what}.macro_psds_alpha_st0`);
  for (const [cls, v] of Object.entries(exp.per_class_psds)) close(got.per_class_psds[cls], v as number, 1e-6, 1e-9, `${what}.per_class_psds.${cls}`);
  assert.equal(got.psd_roc.efpr.length, exp.psd_roc.efpr.length, `${what}.psd_roc length (got efpr ${JSON.stringify(got.psd_roc.efpr.slice(0, 12))}…)`);
  exp.psd_roc.efpr.forEach((x: number, i: number) => close(got.psd_roc.efpr[i], x, 1e-9, 1e-12, `${what}.psd_roc.efpr[${i}]`));
  exp.psd_roc.etpr.forEach((y: number, i: number) => assert.ok(Math.abs(got.psd_roc.etpr[i] - y) <= 1e-9, `${what}.psd_roc.etpr[${i}]: ${got.psd_roc.etpr[i]} vs ${y}`));
  if (exp.per_class_roc) {
    for (const [cls, roc] of Object.entries<any>(exp.per_class_roc)) {
      const g = got.per_class_roc[cls];
      assert.equal(g.efpr.length, roc.efpr.length, `${what}.per_class_roc.${cls} length`);
      roc.efpr.forEach((x: number, i: number) => close(g.efpr[i], x, 1e-9, 1e-12, `${what}.per_class_roc.${cls}.efpr[${i}]`));
      roc.tpr.forEach((y: number, i: number) => assert.ok(Math.abs(g.tpr[i] - y) <= 1e-9, `${what}.per_class_roc.${cls}.tpr[${i}]`));
      // Informative only per the README, but we pick the same level among ties as the reference.
      assert.deepEqual(g.thresholds, roc.thresholds, `${what}.per_class_roc.${cls}.thresholds`);
    }
  }
}

function checkF1(got: F1Result, exp: any, what: string): void {
  for (const [cls, e] of Object.entries<any>(exp.per_class)) {
    const g = got.per_class[cls];
    assert.deepEqual([g.tp, g.fp, g.n_ref], [e.tp, e.fp, e.n_ref], `${what}.per_class.${cls} tp/fp/n_ref`);
    for (const k of ['f', 'p', 'r'] as const) close(g[k], e[k], 0, 1e-12, `${what}.per_class.${cls}.${k}`);
  }
  for (const avg of ['macro', 'micro'] as const) {
    for (const k of ['f', 'p', 'r'] as const) close(got[avg][k], exp[avg][k], 0, 1e-12, `${what}.${avg}.${k}`);
  }
}

const cases = fs.existsSync(PSDS_DIR)
  ? fs.readdirSync(PSDS_DIR).filter((d) => fs.existsSync(path.join(PSDS_DIR, d, 'expected.json'))).sort()
  : [];

describe(`PSDS fixtures (${PSDS_DIR})`, () => {
  it('has case folders', () => {
    assert.ok(cases.length > 0, `no case folders with expected.json in ${PSDS_DIR} (set SED_PSDS_DIR)`);
  });

  for (const name of cases) {
    const dir = path.join(PSDS_DIR, name);
    describe(name, () => {
      const exp: Expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8'));
      const load = () => ({
        scores: readScoresFolder(path.join(dir, exp.inputs?.scores_dir ?? 'scores')),
        gt: readGroundTruthTsv(path.join(dir, exp.inputs?.ground_truth ?? 'ground_truth.tsv')),
        durations: readDurationsTsv(path.join(dir, exp.inputs?.durations ?? 'durations.tsv')),
      });

      if (exp.expect_error) {
        for (const metric of Object.keys(exp.expect_error)) {
          it(`${metric} throws like the reference`, () => {
            const { scores, gt, durations } = load();
            const run = () => {
              const prep = prepareEvaluation(scores, gt, durations, { requireGtForEveryClass: false });
              if (metric === 'psds1') computePsds(prep, PSDS1);
              else if (metric === 'psds2') computePsds(prep, PSDS2);
              else if (metric === 'intersection_f1') intersectionF1(prep, INTERSECTION_F1_DEFAULTS);
              else if (metric === 'collar_f1') collarF1(prep, COLLAR_F1_DEFAULTS);
              else throw new Error(`unknown metric ${metric} in expect_error`);
            };
            assert.throws(run, (err: Error) => err.message.includes(exp.expect_error[metric].message));
          });
        }
        it('evaluate() throws too', () => {
          const { scores, gt, durations } = load();
          assert.throws(() => evaluate(scores, gt, durations), /No ground truth events for classes/);
        });
        return;
      }

      let result: ReturnType<typeof evaluate>;
      before(() => {
        const { scores, gt, durations } = load();
        assert.deepEqual(scores.classes, exp.event_classes, 'class order');
        result = evaluate(scores, gt, durations, {
          psds1: exp.psds1 ? paramsOf(exp.psds1.params) : false,
          psds2: exp.psds2 ? paramsOf(exp.psds2.params) : false,
        });
      });

      it('inputs: audio ids, D, n_ref, t_ref', () => {
        assert.deepEqual(result.audio_ids, exp.audio_ids);
        close(result.dataset_duration_s, exp.dataset_duration_s, 1e-12, 1e-12, 'dataset_duration_s');
        assert.deepEqual(result.n_ref, exp.n_ref);
        for (const [c, t] of Object.entries<number>(exp.t_ref_s)) close(result.t_ref_s[c], t, 1e-12, 1e-12, `t_ref_s.${c}`);
      });
      if (exp.psds1) it('PSDS1', () => checkPsds(result.psds1!, exp.psds1, 'psds1'));
      if (exp.psds2) it('PSDS2', () => checkPsds(result.psds2!, exp.psds2, 'psds2'));
      if (exp.intersection_f1) it('intersection F1', () => checkF1(result.intersection_f1!, exp.intersection_f1, 'intersection_f1'));
      if (exp.collar_f1) it('collar F1', () => checkF1(result.collar_f1!, exp.collar_f1, 'collar_f1'));
    });
  }
});

export { psdsToJson };

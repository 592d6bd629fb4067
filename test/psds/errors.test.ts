/**
 * PSDS_SPEC §0, §1, §6 errors and options: invalid parameter combinations, inconsistent inputs, the merge /
 * drop helpers, the worked example through `evaluate`, and `sed eval --json` end to end.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import {
  computePsds, evaluate, evaluateFiles, mergeConnectedEvents, prepareEvaluation, PSDS1, PSDS2, validatePsdsParams,
  type GroundTruth, type ScoreSet,
} from '../../engine/eval/index';
import { formatEvaluation } from '../../engine/cli/commands/eval';
import { PSDS_DIR, REPO_ROOT } from '../helpers/paths';

/** The worked example of PSDS_SPEC §7. */
function tiny(): { scores: ScoreSet; gt: GroundTruth; durations: Map<string, number> } {
  const table = (cat: number[], dog: number[]) => ({
    timestamps: Float64Array.from({ length: cat.length + 1 }, (_, i) => i),
    scores: Float64Array.from(cat.flatMap((v, i) => [v, dog[i]])),
  });
  return {
    scores: {
      classes: ['cat', 'dog'],
      files: new Map([
        ['a', table([0.1, 0.1, 0.2, 0.2, 0.1, 0.7, 0.8, 0.3, 0.1, 0.1], [0.2, 0.8, 0.9, 0.6, 0.2, 0.1, 0.3, 0.7, 0.1, 0.1])],
        ['b', table([0.6, 0.6, 0.2, 0.1, 0.1], [0.1, 0.1, 0.4, 0.4, 0.1])],
      ]),
    },
    gt: new Map([
      ['a', [{ onset: 1, offset: 4, label: 'dog' }, { onset: 5, offset: 7, label: 'cat' }]],
      ['b', [{ onset: 2, offset: 4, label: 'dog' }]],
    ]),
    durations: new Map([['a', 360], ['b', 360]]),
  };
}

describe('PSDS parameters and inputs: errors', () => {
  it('rejects cttc/alpha_ct combinations like the reference, and K = 1 with cross triggers', () => {
    assert.throws(() => validatePsdsParams({ ...PSDS1, cttc: 0.3 }, 3), /cttc_threshold has been provided but alpha_ct is 0/);
    assert.throws(() => validatePsdsParams({ ...PSDS2, cttc: null }, 3), /alpha_ct is not 0 but no cttc_threshold/);
    assert.throws(() => validatePsdsParams(PSDS2, 1), /at least 2 classes/);
    assert.throws(() => validatePsdsParams({ ...PSDS1, unitOfTime: 'day' as never }, 3), /Invalid unit_of_time day\. Valid units are second, minute, hour/);
    assert.throws(() => validatePsdsParams({ ...PSDS1, dtc: 1.5 }, 3), /dtc_threshold must be a number in \[0, 1\]/);
    assert.throws(() => validatePsdsParams({ ...PSDS1, maxEfpr: 0 }, 3), /max_efpr must be > 0/);
    assert.throws(() => validatePsdsParams({ ...PSDS1, timeDecimals: 2.5 }, 3), /time_decimals/);
  });

  it('rejects inconsistent audio ids, unknown labels, connected events and bad frames', () => {
    const { scores, gt, durations } = tiny();
    const gtMissing = new Map(gt);
    gtMissing.delete('b');
    assert.throws(() => prepareEvaluation(scores, gtMissing, durations), /missing in ground truth: 'b'/);
    assert.throws(() => prepareEvaluation(scores, new Map([...gt, ['c', []]]), durations), /without scores: 'c'/);
    assert.throws(() => prepareEvaluation(scores, gt, new Map([['a', 360]])), /missing durations: 'b'/);
    const unknown = new Map(gt).set('b', [{ onset: 1, offset: 2, label: 'cow' }]);
    assert.throws(() => prepareEvaluation(scores, unknown, durations), /label 'cow' in 'b' is not a score class; classes: cat, dog/);
    const touching = new Map(gt).set('b', [{ onset: 2, offset: 4, label: 'dog' }, { onset: 4, offset: 5, label: 'dog' }]);
    assert.throws(() => prepareEvaluation(scores, touching, durations), /connected\/overlapping events of class 'dog' in 'b'/);
    const noCat = new Map([['a', [{ onset: 1, offset: 4, label: 'dog' }]], ['b', []]]);
    assert.throws(() => prepareEvaluation(scores, noCat, durations), /No ground truth events for classes \['cat'\]\./);
    const gap = { classes: scores.classes, files: new Map(scores.files).set('b', { timestamps: Float64Array.from([0, 1, 1]), scores: new Float64Array(4) }) };
    assert.throws(() => prepareEvaluation(gap, gt, durations), /scores of 'b': frame 1 \[1, 1\) has no positive length/);
  });

  it('merges connected events and drops classes without GT on request', () => {
    const merged = mergeConnectedEvents(new Map([['x', [
      { onset: 4, offset: 5, label: 'dog' }, { onset: 2, offset: 4, label: 'dog' }, { onset: 4.5, offset: 6, label: 'dog' }, { onset: 0, offset: 1, label: 'cat' },
    ]]]));
    assert.deepEqual(merged.get('x'), [{ onset: 0, offset: 1, label: 'cat' }, { onset: 2, offset: 6, label: 'dog' }]);
    const { scores, gt, durations } = tiny();
    const onlyDog = new Map([...gt].map(([id, evs]) => [id, evs.filter((e) => e.label === 'dog')]));
    assert.throws(() => evaluate(scores, onlyDog, durations), /No ground truth events for classes \['cat'\]/);
    const r = evaluate(scores, onlyDog, durations, { dropClassesWithoutGroundTruth: true, psds2: false });
    assert.deepEqual(r.event_classes, ['dog']);
    assert.deepEqual(r.dropped_classes, ['cat']);
    // dog alone: its staircase is the PSD-ROC (alpha_st has no effect with one class)
    assert.equal(r.psds1!.psds, 0.95);
  });
});

describe('evaluate: the worked example (PSDS_SPEC §7)', () => {
  it('gives PSDS1 0.95, PSDS2 1, the ROC and both F1s', () => {
    const { scores, gt, durations } = tiny();
    const r = evaluate(scores, gt, durations);
    assert.equal(r.psds1!.psds, 0.95);
    assert.deepEqual(r.psds1!.psd_roc, { efpr: [0, 5, 100], etpr: [0, 1, 1] });
    assert.deepEqual(r.psds1!.per_class_roc.dog, { efpr: [0, 5], tpr: [0, 1], thresholds: ['Infinity', 0.4] });
    assert.equal(r.psds1!.macro_psds_alpha_st0, 0.975);
    assert.equal(r.psds2!.psds, 1);
    assert.deepEqual([r.intersection_f1!.per_class.cat.tp, r.intersection_f1!.per_class.cat.fp], [1, 1]);
    assert.ok(Math.abs(r.collar_f1!.micro.f - 0.5714285714285715) < 1e-15);
    // alpha_st = 0 makes PSDS the mean of the per-class values
    const flat = computePsds(prepareEvaluation(scores, gt, durations), { ...PSDS1, alphaSt: 0 });
    assert.ok(Math.abs(flat.psds - 0.975) < 1e-12);
    assert.match(formatEvaluation(r), /PSDS1 0\.9500/);
  });

  it('falls back to the score tables\' spans without durations, and says so', () => {
    const { scores, gt } = tiny();
    const r = evaluate(scores, gt, null, { psds2: false });
    assert.equal(r.durations_source, 'score_tables');
    assert.equal(r.dataset_duration_s, 15);
  });
});

describe('sed eval', () => {
  const dir = path.join(PSDS_DIR, 'small_basic');
  const args = ['--scores', path.join(dir, 'scores'), '--ground-truth', path.join(dir, 'ground_truth.tsv'), '--durations', path.join(dir, 'durations.tsv')];

  it('--json prints the expected.json key layout with the reference values', function () {
    this.timeout(120000);
    const out = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'engine', 'main.ts'), 'eval', ...args, '--json'], { encoding: 'utf8', cwd: REPO_ROOT });
    assert.equal(out.status, 0, out.stderr);
    const got = JSON.parse(out.stdout);
    const ref = evaluateFiles({ scoresDir: path.join(dir, 'scores'), groundTruthTsv: path.join(dir, 'ground_truth.tsv'), durationsTsv: path.join(dir, 'durations.tsv') });
    for (const key of ['psds1', 'psds2', 'intersection_f1', 'collar_f1']) assert.ok(key in got, key);
    assert.equal(got.psds1.psds, ref.psds1!.psds);
    assert.deepEqual(Object.keys(got.psds1), ['params', 'psds', 'per_class_psds', 'macro_psds_alpha_st0', 'psd_roc', 'per_class_roc']);
    assert.deepEqual(Object.keys(got.intersection_f1).sort(), ['macro', 'micro', 'params', 'per_class']);
  });

  it('prints a table, and --psds1-only skips the rest; a missing file is a clear error', function () {
    this.timeout(120000);
    const run = (extra: string[]) => spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'engine', 'main.ts'), 'eval', ...extra], { encoding: 'utf8', cwd: REPO_ROOT });
    const table = run([...args, '--psds1-only']);
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /^PSDS1 \d\.\d{4}/m);
    assert.doesNotMatch(table.stdout, /PSDS2/);
    const bad = run(['--scores', '/nonexistent', '--ground-truth', 'x.tsv']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /scores folder \/nonexistent: cannot read/);
  });
});

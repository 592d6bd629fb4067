/**
 * PSDS benchmark on the reference timing case (../shared/fixtures/psds/README.md): 2000 files × 50 classes,
 * ≈500k frames, recreated with the fixture folder's make_timing_case.py (needs python3 with numpy and scipy)
 * into .sed-cache/psds_timing_2000x50 (or $SED_PSDS_TIMING_DIR). Times PSDS1, PSDS2 and both F1s against the
 * reference's single-threaded figures on this kind of machine, checks the values against the reference
 * values, reports peak RSS, and writes bench/results/psds.json.
 *
 *   npx tsx bench/psds.bench.ts
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readDurationsTsv, readGroundTruthTsv } from '../engine/detect/groundTruth';
import { readScoresFolder } from '../engine/detect/scoresTsv';
import { collarF1, computePsds, intersectionF1, IntersectionSweep, prepareEvaluation, PSDS1, PSDS2 } from '../engine/eval/index';
import { PSDS_DIR, REPO_ROOT } from '../test/helpers/paths';
import { table, writeResults } from './common';

/** Reference (sed_scores_eval, numpy + Cython, single-threaded) figures from make_timing_case.py's header. */
const REFERENCE = {
  psds1: { value: 0.560585008296938, seconds: 7.45 },
  psds2: { value: 0.8084826992672944, seconds: 85 },
  collar_f1_macro: { value: 0.7450447259642367, seconds: 8.0 },
  intersection_f1_macro: { value: 0.7593756623275751, seconds: 8.0 },
};
const TARGET_SPEEDUP = 3;

function timingCaseDir(): string {
  const dir = path.resolve(REPO_ROOT, process.env.SED_PSDS_TIMING_DIR || '.sed-cache/psds_timing_2000x50');
  if (fs.existsSync(path.join(dir, 'durations.tsv'))) return dir;
  const script = path.join(PSDS_DIR, 'make_timing_case.py');
  process.stderr.write(`recreating the timing case in ${dir} with ${script} (about a minute)…\n`);
  const tmp = `${dir}.partial`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const r = spawnSync('python3', [script, tmp], { stdio: 'inherit' });
  if (r.error || r.status !== 0) {
    throw new Error(`could not recreate the timing case: python3 ${script} failed (${r.error?.message ?? `exit ${r.status}`}); `
      + 'it needs python3 with numpy and scipy (Debian: python3-numpy python3-scipy), or set SED_PSDS_TIMING_DIR to an existing copy');
  }
  fs.renameSync(tmp, dir); // only a complete case ever appears under the final name
  return dir;
}

function time<T>(fn: () => T): { value: T; seconds: number } {
  const t0 = process.hrtime.bigint();
  const value = fn();
  return { value, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

function main(): void {
  const dir = timingCaseDir();
  const load = time(() => ({
    scores: readScoresFolder(path.join(dir, 'scores')),
    gt: readGroundTruthTsv(path.join(dir, 'ground_truth.tsv')),
    durations: readDurationsTsv(path.join(dir, 'durations.tsv')),
  }));
  const { scores, gt, durations } = load.value;
  const prep = time(() => prepareEvaluation(scores, gt, durations));
  const p = prep.value;
  const sweep = new IntersectionSweep(p);
  const psds1 = time(() => computePsds(p, PSDS1, sweep));
  const psds2 = time(() => computePsds(p, PSDS2, sweep));
  const inter = time(() => intersectionF1(p));
  const collar = time(() => collarF1(p));
  const peakRssMb = process.resourceUsage().maxRSS / 1024;

  const rows = [
    { metric: 'PSDS1', value: psds1.value.psds, reference: REFERENCE.psds1.value, seconds: psds1.seconds, ref_seconds: REFERENCE.psds1.seconds },
    { metric: 'PSDS2', value: psds2.value.psds, reference: REFERENCE.psds2.value, seconds: psds2.seconds, ref_seconds: REFERENCE.psds2.seconds },
    { metric: 'intersection F1 macro', value: inter.value.macro.f, reference: REFERENCE.intersection_f1_macro.value, seconds: inter.seconds, ref_seconds: REFERENCE.intersection_f1_macro.seconds },
    { metric: 'collar F1 macro', value: collar.value.macro.f, reference: REFERENCE.collar_f1_macro.value, seconds: collar.seconds, ref_seconds: REFERENCE.collar_f1_macro.seconds },
  ].map((r) => ({
    ...r,
    rel_error: Math.abs(r.value - r.reference) / r.reference,
    speedup: r.ref_seconds / r.seconds,
  }));
  const frames = p.n;
  console.log(`timing case: ${p.audioIds.length} files × ${p.classes.length} classes, ${frames} frames (${dir})`);
  console.log(`load TSVs ${load.seconds.toFixed(2)} s, validate/prepare ${prep.seconds.toFixed(2)} s (not part of the metric timings)`);
  console.log(table(rows.map((r) => ({
    metric: r.metric, value: r.value.toPrecision(15), reference: r.reference.toPrecision(15), 'rel err': r.rel_error.toExponential(1),
    's (ours)': r.seconds, 's (ref)': r.ref_seconds, speedup: `${r.speedup.toFixed(1)}×`,
  }))));
  console.log(`peak RSS ${peakRssMb.toFixed(0)} MB (limit 1024 MB)`);
  const ok = rows.every((r) => r.rel_error <= 1e-6)
    && rows[0].speedup >= TARGET_SPEEDUP && rows[1].speedup >= TARGET_SPEEDUP && peakRssMb <= 1024;
  console.log(ok ? `OK: values match, PSDS1/PSDS2 ≥ ${TARGET_SPEEDUP}× faster, memory within 1 GB` : 'NOT MET: see the table above');
  const file = writeResults('psds', {
    case: { dir, files: p.audioIds.length, classes: p.classes.length, frames },
    load_seconds: load.seconds,
    prepare_seconds: prep.seconds,
    results: rows,
    peak_rss_mb: peakRssMb,
    target_speedup: TARGET_SPEEDUP,
    ok,
  });
  console.log(`wrote ${file}`);
  if (!ok) process.exitCode = 1;
}

main();

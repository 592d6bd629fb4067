/**
 * The incremental level sweep against brute force: on random score sets (variable frames, ties, −∞ scores,
 * files without GT, constant files), TP/FP/CT at every level must equal a direct evaluation of the
 * detections `score ≥ level` with the spec's formulas (PSDS_SPEC §2.1, §3.1).
 */
import * as assert from 'node:assert/strict';
import { intersectionCounts } from '../../engine/eval/f1';
import { IntersectionSweep, type LevelStats } from '../../engine/eval/intersection';
import { computePsds, PSDS2 } from '../../engine/eval/psds';
import { classRoc } from '../../engine/eval/psdRoc';
import { makeRounder } from '../../engine/eval/round';
import { LevelRanker } from '../../engine/eval/levels';
import { prepareEvaluation, type GroundTruth, type PreparedEval, type ScoreSet } from '../../engine/eval/scores';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomCase(seed: number): { scores: ScoreSet; gt: GroundTruth; durations: Map<string, number> } {
  const r = rng(seed);
  const K = 2 + Math.floor(r() * 3);
  const classes = Array.from({ length: K }, (_, k) => `c${k}`);
  const files = new Map();
  const gt: GroundTruth = new Map();
  const durations = new Map<string, number>();
  const nFiles = 3 + Math.floor(r() * 4);
  for (let f = 0; f < nFiles; f++) {
    const T = 5 + Math.floor(r() * 40);
    const ts = new Float64Array(T + 1);
    for (let i = 1; i <= T; i++) ts[i] = Math.round((ts[i - 1] + [0.04, 0.1, 0.25, 0.5][Math.floor(r() * 4)]) * 1e6) / 1e6;
    const s = new Float64Array(T * K);
    const kind = r();
    for (let i = 0; i < s.length; i++) {
      // coarse values → many ties; some constant files; a few −∞ frames
      s[i] = kind < 0.15 ? 0.5 : Math.round(r() * 10) / 10;
      if (r() < 0.03) s[i] = -Infinity;
    }
    const id = `f${f}`;
    files.set(id, { timestamps: ts, scores: s });
    durations.set(id, ts[T] + r());
    const events = [];
    if (r() > 0.25) {
      for (const label of classes) {
        let t = r() * ts[T] * 0.3;
        while (t < ts[T] && r() < 0.7) {
          const len = 0.01 + r() * ts[T] * 0.3;
          const on = Math.round(t * 1e3) / 1e3;
          const off = Math.round(Math.min(t + len, ts[T] + 0.2) * 1e3) / 1e3;
          if (off > on) events.push({ onset: on, offset: off, label });
          t = off + 0.05 + r() * 2;
        }
      }
    }
    gt.set(id, events);
  }
  return { scores: { classes, files }, gt, durations };
}

/** Detections of class c in file f at level u: runs of frames with score ≥ u (−∞ never). */
function detectionsAt(prep: PreparedEval, f: number, c: number, u: number): { on: number[]; off: number[] } {
  const K = prep.classes.length;
  const t = prep.tables[f];
  const T = t.timestamps.length - 1;
  const on: number[] = [];
  const off: number[] = [];
  let i = 0;
  while (i < T) {
    const v = t.scores[i * K + c];
    if (!(v >= u && v > -Infinity)) { i++; continue; }
    const s = i;
    while (i < T && t.scores[i * K + c] >= u && t.scores[i * K + c] > -Infinity) i++;
    on.push(t.timestamps[s]);
    off.push(t.timestamps[i]);
  }
  return { on, off };
}

function bruteForce(prep: PreparedEval, c: number, u: number, dtc: number, gtc: number, cttc: number | null) {
  const round = makeRounder(6);
  const K = prep.classes.length;
  let tp = 0;
  let fp = 0;
  const ct = new Int32Array(K);
  for (let f = 0; f < prep.audioIds.length; f++) {
    const d = detectionsAt(prep, f, c, u);
    const ev = prep.events[c];
    const counts = intersectionCounts(d.on, d.off, d.on.length, ev.on, ev.off, ev.ptr[f], ev.ptr[f + 1], dtc, gtc, round);
    tp += counts.tp;
    fp += counts.fp;
    if (cttc === null) continue;
    for (let j = 0; j < d.on.length; j++) {
      let inter = 0;
      for (let k = ev.ptr[f]; k < ev.ptr[f + 1]; k++) inter += Math.max(Math.min(d.off[j], ev.off[k]) - Math.max(d.on[j], ev.on[k]), 0);
      const len = d.off[j] - d.on[j];
      if (round(inter) >= round(dtc * len)) continue; // passes DTC: not a cross trigger
      for (let o = 0; o < K; o++) {
        const eo = prep.events[o];
        if (o === c || eo.ptr[f + 1] === eo.ptr[f]) continue;
        let sum = 0;
        for (let k = eo.ptr[f]; k < eo.ptr[f + 1]; k++) sum += Math.max(Math.min(d.off[j], eo.off[k]) - Math.max(d.on[j], eo.on[k]), 0);
        if (round(sum) >= round(cttc * len)) ct[o]++;
      }
    }
  }
  return { tp, fp, ct };
}

function ctAt(stats: LevelStats, K: number): Int32Array[] {
  const out: Int32Array[] = [];
  const cur = new Int32Array(K);
  let p = 0;
  for (let r = 0; r < stats.levels.length; r++) {
    while (p < stats.ct!.level.length && stats.ct!.level[p] === r) {
      cur[stats.ct!.cls[p]] += stats.ct!.delta[p];
      p++;
    }
    out.push(cur.slice());
  }
  return out;
}

describe('intersection level sweep vs brute force', () => {
  for (let seed = 1; seed <= 40; seed++) {
    it(`random case ${seed}`, () => {
      const { scores, gt, durations } = randomCase(seed);
      const prep = prepareEvaluation(scores, gt, durations, { requireGtForEveryClass: false });
      const sweep = new IntersectionSweep(prep);
      const K = prep.classes.length;
      for (const [dtc, gtc, cttc] of [[0.7, 0.7, null], [0.1, 0.1, 0.3], [0.5, 0.5, 0.5]] as const) {
        for (let c = 0; c < K; c++) {
          const stats = sweep.run(c, { dtc, gtc, cttc, timeDecimals: 6 });
          const cts = cttc === null ? null : ctAt(stats, K);
          // Levels are distinct scores, highest first. Scores left out (no change there) must have the
          // counts of the next listed level above them (nothing detected above the highest).
          const values = new Set<number>();
          for (const t of prep.tables) for (let i = c; i < t.scores.length; i += K) if (t.scores[i] > -Infinity) values.add(t.scores[i]);
          const listed = [...stats.levels];
          for (let r = 1; r < listed.length; r++) assert.ok(listed[r] < listed[r - 1], 'levels strictly descending');
          for (const u of listed) assert.ok(values.has(u), `level ${u} is a score`);
          for (const u of values) {
            const want = bruteForce(prep, c, u, dtc, gtc, cttc);
            let r = listed.length - 1;
            while (r >= 0 && listed[r] < u) r--;
            const what = `class ${c} score ${u} (level ${listed[r]}, dtc ${dtc}, cttc ${cttc})`;
            assert.equal(r < 0 ? 0 : stats.tp[r], want.tp, `TP ${what}`);
            assert.equal(r < 0 ? 0 : stats.fp[r], want.fp, `FP ${what}`);
            if (cts) assert.deepEqual([...(r < 0 ? new Int32Array(K) : cts[r])], [...want.ct], `CT ${what}`);
          }
          // a sweep stopped early gives the same counts for the levels it covers
          const cut = stats.levels.length ? stats.levels[Math.floor(stats.levels.length / 2)] : 0;
          const part = sweep.run(c, { dtc, gtc, cttc, timeDecimals: 6 }, cut);
          assert.deepEqual([...part.levels], listed.filter((u) => u > cut));
          assert.deepEqual([...part.fp], [...stats.fp.subarray(0, part.levels.length)]);
          assert.deepEqual([...part.tp], [...stats.tp.subarray(0, part.levels.length)]);
        }
      }
    });
  }
});

describe('LevelRanker', () => {
  for (const [name, n, distinctLimit] of [['few levels (native sort path)', 5000, 300], ['many levels (radix path)', 150000, 0]] as const) {
    it(`ranks frames by value: ${name}`, () => {
      const r = rng(11);
      const values = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        values[i] = distinctLimit ? Math.floor(r() * distinctLimit) / distinctLimit - 0.5 : (r() - 0.5) * 1e6;
        if (i % 97 === 0) values[i] = -Infinity;
        if (i % 101 === 0) values[i] = -0;
        if (i % 103 === 0) values[i] = 0;
        if (i % 7 === 0 && i > 0 && values[i - 1] > -Infinity) values[i] = values[i - 1]; // plateaus
      }
      const { levels, rank } = new LevelRanker(n).rank(values);
      const expected = [...new Set([...values].filter((v) => v > -Infinity).map((v) => v + 0))].sort((a, b) => a - b);
      assert.deepEqual([...levels], expected);
      for (let i = 0; i < n; i++) {
        if (values[i] === -Infinity) assert.equal(rank[i], -1);
        else assert.equal(levels[rank[i]], values[i] + 0, `frame ${i}`);
      }
    });
  }
});

describe('PSDS with cross triggers: the cut-short sweep', () => {
  it('gives the same per-class ROCs as sweeping every level', () => {
    for (let seed = 100; seed < 130; seed++) {
      const { scores, gt, durations } = randomCase(seed);
      // short durations make max_efpr bite, so the cut matters
      for (const d of durations.keys()) durations.set(d, 5);
      const prep = prepareEvaluation(scores, gt, durations, { requireGtForEveryClass: false });
      const K = prep.classes.length;
      if ([...prep.nRef].some((x) => x === 0)) continue;
      for (const maxEfpr of [100, 1500, 20000]) {
        const params = { ...PSDS2, maxEfpr };
        const result = computePsds(prep, params);
        const sweep = new IntersectionSweep(prep);
        for (let c = 0; c < K; c++) {
          const full = classRoc(sweep.run(c, { dtc: params.dtc, gtc: params.gtc, cttc: params.cttc, timeDecimals: 6 }), {
            c, nRef: prep.nRef, tRef: prep.tRef, datasetDuration: prep.datasetDuration, alphaCt: params.alphaCt, secondsPerUnit: 3600, maxEfpr,
          });
          const got = result.perClassRoc[prep.classes[c]];
          assert.deepEqual([...got.efpr], [...full.efpr], `seed ${seed} class ${c} max_efpr ${maxEfpr}`);
          assert.deepEqual([...got.tpr], [...full.tpr], `seed ${seed} class ${c} max_efpr ${maxEfpr}`);
        }
      }
    }
  });
});

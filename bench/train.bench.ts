/**
 * Training speed: seconds per epoch of the 600-clip shared train split (batch 32, the reference recipe,
 * wasm), extrapolated from one epoch over the first `--clips` clips (default 64) after the audio cache is
 * warm, against the reference PyTorch's 36–45 s per epoch for fmn04+tf:64 on this kind of machine.
 * Each model runs on this thread alone (`--workers 0`) and with the default data-parallel worker threads.
 * Usage: npx tsx bench/train.bench.ts [--models fmn04+tf:64,fmn04+hybrid:104] [--clips 64]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../engine/backend/select';
import { train } from '../engine/train/index';
import { SHARED_DIR } from '../test/helpers/paths';
import { arg, table, writeResults } from './common';

const REFERENCE_S_PER_EPOCH = { low: 36, high: 45 }; // fmn04+tf:64, anchors/README.md

async function main() {
  const backend = await initBackend(arg('backend', 'wasm'));
  const clips = Number(arg('clips', '64'));
  const data = path.join(SHARED_DIR, 'data', 'dcase2016t2-soundscapes');
  const rows: Record<string, string | number>[] = [];
  for (const model of arg('models', 'fmn04+tf:64,fmn04+hybrid:104').split(',')) {
    for (const workers of [0, undefined]) {
      const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sed-train-bench-'));
      const common = { model, trainTsv: path.join(data, 'metadata', 'train.tsv'), trainAudio: path.join(data, 'audio', 'train'), outDir, batchSize: 32, limit: clips, seed: 0, workers };
      await train({ ...common, epochs: 1 }); // warms the decoded-audio cache
      fs.rmSync(outDir, { recursive: true, force: true });
      const t0 = performance.now();
      const summary = await train({ ...common, epochs: 1 });
      const seconds = summary.secondsPerEpoch ?? (performance.now() - t0) / 1000;
      const perEpoch = (seconds / clips) * 600;
      rows.push({ model, worker_threads: summary.workerThreads, clips, seconds, s_per_600_clip_epoch: perEpoch, reference_s: `${REFERENCE_S_PER_EPOCH.low}–${REFERENCE_S_PER_EPOCH.high}`, ratio_to_reference_high: perEpoch / REFERENCE_S_PER_EPOCH.high });
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  }
  console.log(`backend: ${backend.backend} (${backend.device})`);
  console.log(table(rows));
  console.log(`results: ${writeResults('train', { backend, rows })}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

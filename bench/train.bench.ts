/**
 * Training speed: seconds per epoch of the 600-clip shared train split (batch 32, the reference recipe,
 * wasm), extrapolated from epochs over the first `--clips` clips (default 64), against the reference
 * PyTorch's 36–45 s per epoch for fmn04+tf:64 on this kind of machine. Each run trains two epochs: the
 * first also warms the decoded-audio cache, the JIT and the worker threads; the second is the steady-state
 * figure the ratio uses (both are printed). Each model runs on this thread alone (`--workers 0`) and with
 * the default data-parallel worker threads.
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
      const summary = await train({ model, trainTsv: path.join(data, 'metadata', 'train.tsv'), trainAudio: path.join(data, 'audio', 'train'), outDir, batchSize: 32, limit: clips, seed: 0, workers, epochs: 2 });
      const [first, steady] = summary.history.map((e) => (e.seconds / clips) * 600);
      rows.push({ model, worker_threads: summary.workerThreads, clips, first_epoch_s: first, s_per_600_clip_epoch: steady, reference_s: `${REFERENCE_S_PER_EPOCH.low}–${REFERENCE_S_PER_EPOCH.high}`, ratio_to_reference_high: steady / REFERENCE_S_PER_EPOCH.high });
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

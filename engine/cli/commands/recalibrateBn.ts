/** `sed recalibrate-bn`: recompute a checkpoint's BatchNorm running statistics over clean training clips. */
import type { Command } from 'commander';
import { initBackend } from '../../backend/select';
import { fetchWeights, loadCheckpoint, saveCheckpoint } from '../../checkpoint/index';
import { computeMel } from '../../frontend/mel';
import { AudioCache } from '../../train/cache';
import { loadLabelledSet } from '../../train/data';
import { ProgressBar } from '../../train/progress';
import { recalibrateBatchNorm } from '../../train/recalibrateBn';

export function register(program: Command): void {
  program
    .command('recalibrate-bn')
    .description('replace a checkpoint\'s BatchNorm running statistics by the mean batch statistics of training-mode passes over the (unaugmented) training clips; writes a new checkpoint')
    .requiredOption('-m, --model <ckpt>', 'checkpoint folder')
    .requiredOption('--train-tsv <file>', 'strong-label TSV of the training clips (filename onset offset event_label)')
    .requiredOption('--audio <dir>', 'folder with the training audio')
    .requiredOption('-o, --out <dir>', 'output checkpoint folder (written atomically)')
    .option('--batch <n>', '10 s clips per forward pass', '8')
    .option('--limit <n>', 'use only the first n training files')
    .option('--cache <dir>', 'decoded-audio cache folder')
    .option('--no-progress', 'no progress bar on stderr')
    .action(async (o: { model: string; trainTsv: string; audio: string; out: string; batch: string; limit?: string; cache?: string; progress: boolean }) => {
      const batch = Number(o.batch);
      if (!Number.isInteger(batch) || batch < 2) throw new Error(`--batch: '${o.batch}' must be an integer ≥ 2 (batch statistics need several clips)`);
      const limit = o.limit === undefined ? undefined : Number(o.limit);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new Error(`--limit: '${o.limit}' is not a positive integer`);
      await initBackend(process.env.SED_BACKEND || 'auto');
      const { model, meta } = loadCheckpoint(o.model);
      const set = await loadLabelledSet({ labelsTsv: o.trainTsv, audioDir: o.audio, classes: meta.classes, limit, cache: new AudioCache(o.cache) });
      const bar = new ProgressBar();
      const start = Date.now();
      const batches = await recalibrateBatchNorm(model, set.segments.map((s) => s.wave), {
        batchSize: batch,
        melOf: (w) => computeMel(w),
        onProgress: o.progress ? (d, n) => bar.update(d / n, `${d}/${n} clips`, (((Date.now() - start) / d) * (n - d)) / 1000, d === n) : undefined,
      });
      await fetchWeights(model);
      const training = { ...(meta.training ?? {}), batchNormRecalibration: { clips: set.segments.length, batches, batchSize: batch } };
      saveCheckpoint(o.out, model, { ...meta, training });
      bar.log(`recalibrated BatchNorm statistics over ${set.segments.length} clips (${batches} batches) → ${o.out}`);
    });
}

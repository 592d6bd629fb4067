/** `sed pseudo-label`: store a teacher's (or an ensemble's mean) frame-wise probabilities per audio file for KD training. */
import type { Command } from 'commander';
import { initBackend } from '../../backend/select';
import { ProgressBar } from '../../train/progress';
import { writeTeacherPseudoLabels } from '../../train/pseudoLabelRun';

export function register(program: Command): void {
  program
    .command('pseudo-label')
    .description('run a teacher checkpoint (several: an ensemble, probabilities averaged) over audio and write <out>/<file name>.safetensors (probs [frames, classes], 40 ms) for `sed train --pseudo-labels`')
    .requiredOption('-m, --model <ckpts...>', 'teacher checkpoint folder(s); several form an ensemble (same classes)')
    .requiredOption('--audio <paths...>', 'audio files or folders')
    .requiredOption('-o, --out <dir>', 'output folder')
    .option('--batch <n>', '10 s chunks per forward pass (default 8; on wasm ⌊1.6/α⌋, its heap is 4 GB)')
    .option('--cache <dir>', 'decoded-audio cache folder')
    .option('--no-progress', 'no progress bar on stderr')
    .action(async (o: { model: string[]; audio: string[]; out: string; batch?: string; cache?: string; progress: boolean }) => {
      await initBackend(process.env.SED_BACKEND || 'auto');
      const batch = o.batch === undefined ? undefined : Number(o.batch);
      if (batch !== undefined && (!Number.isInteger(batch) || batch < 1)) throw new Error(`--batch: '${o.batch}' is not a positive integer`);
      const bar = new ProgressBar();
      const start = Date.now();
      const r = await writeTeacherPseudoLabels({
        teacher: o.model, inputs: o.audio, outDir: o.out, batchSize: batch, cacheDir: o.cache,
        onProgress: o.progress ? (d, n) => bar.update(d / n, `${d}/${n} files`, (((Date.now() - start) / d) * (n - d)) / 1000, d === n) : undefined,
      });
      bar.log(`wrote ${r.files.length} pseudo-label files to ${r.outDir}`);
    });
}

/**
 * `sed train`: train a model with the reference recipe (optionally with KD) on a strong-label TSV and
 * an audio folder; see engine/train/trainer.ts. Ctrl-C stops after saving; `--resume` continues.
 */
import type { Command } from 'commander';
import { initBackend } from '../../backend/select';
import { readClassesFile } from '../../checkpoint/index';
import { ProgressBar } from '../../train/progress';
import { train, type TrainOptions } from '../../train/trainer';

interface TrainCliOptions {
  model?: string;
  trainTsv: string;
  audio: string;
  durations?: string;
  valTsv?: string;
  valAudio?: string;
  valDurations?: string;
  out: string;
  epochs: string;
  batch: string;
  accumulate: string;
  microBatch?: string;
  workers?: string;
  lr: string;
  seqLr: string;
  layerDecay: string;
  warmupSteps?: string;
  warmup: string;
  teacher?: string;
  pseudoLabels?: string;
  kdWeight: string;
  init?: string;
  freezeBackbone?: boolean;
  validateEvery: string;
  median: string;
  seed: string;
  resume?: boolean;
  classes?: string;
  cache?: string;
  limit?: string;
  valLimit?: string;
  wavemix: string;
  shift: string;
  mixup: string;
  jitter: boolean;
  progress: boolean;
}

function num(name: string, v: string | undefined, integer = false): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new Error(`${name}: '${v}' is not ${integer ? 'an integer' : 'a number'}`);
  return n;
}

export function register(program: Command): void {
  program
    .command('train')
    .description('train a model (Adam + warm-up/cosine, layer-wise LR decay, wave-mix/shift/mixup, optional KD); saves best/ and last/ checkpoints')
    .option('-m, --model <name>', 'architecture, e.g. fmn04+tf:64 (default: the --init checkpoint\'s)')
    .requiredOption('--train-tsv <file>', 'strong labels: filename<TAB>onset<TAB>offset<TAB>event_label')
    .requiredOption('--audio <dir>', 'folder with the training audio')
    .option('--durations <file>', 'training durations TSV (filename<TAB>duration)')
    .option('--val-tsv <file>', 'validation strong labels (enables PSDS1 model selection)')
    .option('--val-audio <dir>', 'folder with the validation audio')
    .option('--val-durations <file>', 'validation durations TSV')
    .requiredOption('-o, --out <dir>', 'output folder (best/, last/, resume.safetensors, history.json)')
    .option('--epochs <n>', 'epochs', '60')
    .option('--batch <n>', 'batch size', '32')
    .option('--accumulate <n>', 'batches per optimizer step (gradient accumulation)', '1')
    .option('--micro-batch <n>', 'clips per forward/backward pass (default: the batch; on wasm ⌊1.6/α⌋, its heap is 4 GB)')
    .option('--workers <n>', 'wasm/cpu: worker threads sharing each batch\'s micro-batches (default: one per further core, at most 3; 0 = off)')
    .option('--lr <x>', 'backbone learning rate (last backbone block; earlier ones ×layer-decay each)', '3e-3')
    .option('--seq-lr <x>', 'learning rate of the sequence model and heads', '1.5e-3')
    .option('--layer-decay <x>', 'layer-wise LR decay over features.<i>', '0.9')
    .option('--warmup-steps <n>', 'warm-up optimizer steps (default: --warmup fraction of all steps)')
    .option('--warmup <fraction>', 'warm-up as a fraction of all optimizer steps', '0.1')
    .option('--teacher <ckpt>', 'online KD: teacher checkpoint run on every augmented batch')
    .option('--pseudo-labels <dir>', 'stored KD targets written by `sed pseudo-label`')
    .option('--kd-weight <w>', 'KD loss weight w: w·BCE(student, teacher) + (1−w)·BCE(student, labels)', '0.9')
    .option('--init <ckpt>', 'start from this checkpoint (folder or upstream .pt); heads re-initialised for other classes')
    .option('--freeze-backbone', 'train only the sequence model and heads')
    .option('--validate-every <n>', 'validation PSDS1 every n epochs (and after the last)', '5')
    .option('--median <frames>', 'median filter window for validation', '9')
    .option('--seed <n>', 'random seed (init, shuffling, augmentation)', '0')
    .option('--resume', 'continue the run in --out from its last saved state')
    .option('--classes <file>', 'class list (JSON list or one name per line); default: the labels in --train-tsv')
    .option('--cache <dir>', 'decoded-audio cache folder (default $SED_CACHE_DIR or ~/.cache/sed-studio/audio)')
    .option('--limit <n>', 'use only the first n training files (quick runs)')
    .option('--val-limit <n>', 'use only the first n validation files')
    .option('--wavemix <p>', 'wave-mix probability (0 = off)', '0.5')
    .option('--shift <sigma>', 'frame-shift standard deviation in mel frames (0 = off)', '125')
    .option('--mixup <p>', 'mel mixup probability (0 = off)', '0.3')
    .option('--no-jitter', 'no fmin/fmax jitter of the mel filterbank')
    .option('--no-progress', 'no progress bar on stderr')
    .action(async (o: TrainCliOptions) => {
      const info = await initBackend(process.env.SED_BACKEND || 'auto');
      const bar = new ProgressBar();
      bar.log(`backend: ${info.backend} (${info.device})`);
      const controller = new AbortController();
      let interrupts = 0;
      const onSigint = () => {
        interrupts++;
        if (interrupts > 1) process.exit(130);
        bar.log('stopping after the current batch and saving (Ctrl-C again to quit without saving)…');
        controller.abort();
      };
      // SIGTERM too (kill, timeout, service managers): stop as cleanly as on Ctrl-C.
      process.on('SIGINT', onSigint);
      process.on('SIGTERM', onSigint);
      const opts: TrainOptions = {
        model: o.model,
        trainTsv: o.trainTsv,
        trainAudio: o.audio,
        trainDurations: o.durations,
        valTsv: o.valTsv,
        valAudio: o.valAudio,
        valDurations: o.valDurations,
        outDir: o.out,
        epochs: num('--epochs', o.epochs, true)!,
        batchSize: num('--batch', o.batch, true),
        accumulate: num('--accumulate', o.accumulate, true),
        microBatch: num('--micro-batch', o.microBatch, true),
        workers: num('--workers', o.workers, true),
        backboneLr: num('--lr', o.lr),
        seqLr: num('--seq-lr', o.seqLr),
        layerDecay: num('--layer-decay', o.layerDecay),
        warmupSteps: num('--warmup-steps', o.warmupSteps, true),
        warmupFraction: num('--warmup', o.warmup),
        teacher: o.teacher,
        pseudoLabels: o.pseudoLabels,
        kdWeight: num('--kd-weight', o.kdWeight),
        init: o.init,
        freezeBackbone: !!o.freezeBackbone,
        validateEvery: num('--validate-every', o.validateEvery, true),
        medianWindow: num('--median', o.median, true),
        seed: num('--seed', o.seed, true),
        resume: !!o.resume,
        classes: o.classes ? readClassesFile(o.classes) : undefined,
        cacheDir: o.cache,
        limit: num('--limit', o.limit, true),
        valLimit: num('--val-limit', o.valLimit, true),
        augment: { waveMixP: num('--wavemix', o.wavemix)!, frameShiftSigma: num('--shift', o.shift)!, melMixupP: num('--mixup', o.mixup)!, freqJitter: o.jitter },
        signal: controller.signal,
        log: (line) => bar.log(line),
        onProgress: o.progress
          ? (p) => {
              const label = p.phase === 'load' ? `loading audio ${p.batch}/${p.batches}` : p.phase === 'validate' ? `epoch ${p.epoch}/${p.epochs} validating` : `epoch ${p.epoch}/${p.epochs} batch ${p.batch}/${p.batches} loss ${p.loss?.toFixed(4)}`;
              bar.update(p.fraction, label, p.etaSeconds);
            }
          : undefined,
      };
      try {
        const summary = await train(opts);
        const best = summary.best ? `best epoch ${summary.best.epoch}: val PSDS1 ${summary.best.psds1Macro.toFixed(4)} → ${summary.bestCheckpoint}` : 'no validation set: no best checkpoint';
        bar.log(`${summary.stopped ? 'stopped' : 'done'}: ${summary.epochsDone} epochs, ${summary.steps} optimizer steps${summary.secondsPerEpoch ? `, ${summary.secondsPerEpoch.toFixed(1)} s/epoch` : ''}; last → ${summary.lastCheckpoint}; ${best}`);
        process.stdout.write(JSON.stringify({ ...summary, history: undefined }, null, 1) + '\n');
        if (summary.stopped) process.exitCode = 130;
      } finally {
        process.off('SIGINT', onSigint);
        process.off('SIGTERM', onSigint);
      }
    });
}

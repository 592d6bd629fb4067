import * as fs from 'node:fs';
import * as path from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { initBackend } from '../../backend/select';
import { collectAudioFiles } from '../../detect/audioFiles';
import { EXPORT_FORMATS, formatAudacityLabels, formatDcaseTsv, formatEventsJson, writeScoresForAudio, type ExportFormat, type FileEvents } from '../../detect/exports';
import * as os from 'node:os';
import { readCheckpointConfig } from '../../checkpoint/index';
import { loadModel, resolveModelDir } from '../../detect/modelStore';
import { detectFilesParallel } from '../../detect/parallel';
import { workerEntry } from '../../workerEntry';
import { detectFile, selectClasses, type DetectResult } from '../../detect/pipeline';
import { writeFileAtomic } from '../../io/atomicWrite';
import { cachedOnnxModel } from '../../onnx/cache';
import { chooseRuntime, OnnxChunkScorer, RUNTIME_NAMES } from '../../onnx/select';

interface DetectCliOptions {
  model?: string;
  threshold?: string[];
  median?: string;
  classes?: string;
  format: string;
  out?: string;
  jobs?: string;
  runtime?: string;
  progress: boolean;
}

/**
 * Worker threads for many files. wasm/cpu: one per core (those backends run one thread each). webgpu: up to 4,
 * each with its own Dawn device: a tfjs-webgpu forward pass is bound by the JavaScript issuing its kernels, so
 * parallel streams keep the GPU busier (fmn10+tf:256 at batch 64 on an H200: 1 stream 1,405 clips/s, 2 streams
 * 2,791, 4 streams 3,030; bench/RESULTS.md).
 */
function defaultJobs(backend: string, files: number): number {
  if (!workerEntry()) return 1;
  const cores = os.availableParallelism();
  if (backend === 'wasm' || backend === 'cpu') return Math.max(1, Math.min(files, cores));
  if (backend === 'webgpu') return Math.max(1, Math.min(files, 4, cores));
  return 1;
}

function parseThresholds(values: string[] | undefined): number[] | undefined {
  if (!values?.length) return undefined;
  return values.flatMap((v) => v.split(',')).map((v) => {
    const th = Number(v);
    if (!(th >= 0 && th <= 1) || v.trim() === '') throw new Error(`--threshold: '${v}' is not a number between 0 and 1`);
    return th;
  });
}

function parseFormat(value: string): ExportFormat {
  if (!(EXPORT_FORMATS as readonly string[]).includes(value)) throw new Error(`--format: unknown format '${value}'. Valid formats: ${EXPORT_FORMATS.join(', ')}`);
  return value as ExportFormat;
}

/** Writes the results in the chosen format to `out` (file or folder) or stdout. */
function writeOutputs(results: DetectResult[], format: ExportFormat, out: string | undefined, model: string): void {
  const files: FileEvents[] = results.map((r) => ({ filename: path.basename(r.file), events: r.events }));
  const thresholds = [...new Set(results.flatMap((r) => r.thresholds))];
  const emit = (text: string, file?: string) => (file ? writeFileAtomic(file, text) : process.stdout.write(text));
  switch (format) {
    case 'scores':
      if (!out) throw new Error('--format scores needs --out <folder> (one <audio name>.tsv per input file)');
      for (const r of results) writeScoresForAudio(out, r.file, r.classes, r.scores, r.frames, r.frameSeconds);
      return;
    case 'json':
      emit(formatEventsJson(files, { model, thresholds }), out);
      return;
    case 'tsv':
      // A DCASE table holds one operating point: one table per threshold.
      for (const th of thresholds) {
        const file = out && thresholds.length > 1 ? out.replace(/(\.tsv)?$/, `.th${th}.tsv`) : out;
        emit(formatDcaseTsv(files, { threshold: th }), file);
      }
      return;
    case 'audacity': {
      const th = thresholds[0];
      if (results.length === 1 && (!out || !fs.existsSync(out) || !fs.statSync(out).isDirectory()) && !out?.endsWith(path.sep)) {
        emit(formatAudacityLabels(results[0].events, { threshold: th }), out);
        return;
      }
      if (!out) throw new Error('--format audacity with several audio files needs --out <folder> (one <audio name>.txt label track per file)');
      for (const r of results) writeFileAtomic(path.join(out, path.basename(r.file).replace(/\.[^.]+$/, '') + '.txt'), formatAudacityLabels(r.events, { threshold: th }));
    }
  }
}

export function register(program: Command): void {
  program
    .command('detect')
    .description('detect sound events in audio files or folders (decode → 10 s chunks → mel → model → median filter → events)')
    .argument('<inputs...>', 'audio files (wav, flac, mp3, ogg, opus) or folders of them')
    .option('-m, --model <name|dir>', 'checkpoint folder or pulled model name (default: the bundled default model)')
    .option('-t, --threshold <values...>', 'decision threshold(s) in [0,1]; one event list per threshold (default: the model\'s)')
    .option('--median <frames>', 'median filter window in frames of 40 ms (default: the model\'s, 9; 1 = off)')
    .option('--classes <names>', 'comma-separated subset of class names to report')
    .option('-f, --format <format>', `output format: ${EXPORT_FORMATS.join(', ')}`, 'tsv')
    .option('-o, --out <path>', 'output file (tsv, json, audacity for one file) or folder (scores, audacity for several files)')
    .option('-j, --jobs <n>', 'worker threads, each with its own backend and model (default: one per core on wasm/cpu, up to 4 on webgpu, 1 on tensorflow)')
    .option('--runtime <name>', `model runtime: ${RUNTIME_NAMES.join(', ')} (auto: onnx = onnxruntime-node on the CPU backends wasm/cpu when it loads, else tfjs; default $SED_RUNTIME or auto)`)
    .option('--no-progress', 'no progress bar on stderr')
    .action(async (inputs: string[], opts: DetectCliOptions) => {
      const format = parseFormat(opts.format);
      const thresholds = parseThresholds(opts.threshold);
      const medianWindow = opts.median === undefined ? undefined : Number(opts.median);
      if (medianWindow !== undefined && !(Number.isInteger(medianWindow) && medianWindow >= 1)) throw new Error(`--median: '${opts.median}' is not a positive whole number of frames`);
      const classes = opts.classes?.split(',').map((c) => c.trim()).filter(Boolean);
      const files = collectAudioFiles(inputs);
      if (!files.length) throw new Error(`no audio files found in ${inputs.join(', ')}`);
      const backend = await initBackend(process.env.SED_BACKEND || 'auto');
      const jobs = opts.jobs === undefined ? defaultJobs(backend.backend, files.length) : Number(opts.jobs);
      if (!(Number.isInteger(jobs) && jobs >= 1)) throw new Error(`--jobs: '${opts.jobs}' is not a positive whole number`);
      const modelDir = resolveModelDir(opts.model);
      const config = readCheckpointConfig(modelDir);
      selectClasses(config.classes, classes); // unknown names fail here, once, listing the valid ones
      const runtime = await chooseRuntime(opts.runtime ?? (process.env.SED_RUNTIME || 'auto'), backend.backend);
      // Export (or find) the ONNX model once here, so worker threads only read the cached file.
      if (runtime.runtime === 'onnx') cachedOnnxModel(modelDir);
      const bar = opts.progress ? new SingleBar({ format: 'detect |{bar}| {value}/{total} files | ETA {eta_formatted}', stream: process.stderr }, Presets.shades_classic) : undefined;
      const runtimeText = runtime.runtime === 'onnx' ? `onnxruntime-node ${runtime.version ?? ''} (CPU), frontend on ${backend.backend}` : backend.backend;
      process.stderr.write(`model: ${config.model} (${config.classes.length} classes) on ${runtimeText}${jobs > 1 ? `, ${jobs} worker threads` : ''}\n`);
      bar?.start(files.length, 0);
      const detectOptions = { thresholds, medianWindow, classes };
      let outcomes: Array<DetectResult | Error>;
      if (jobs > 1) {
        outcomes = await detectFilesParallel(files, modelDir, backend.backend, detectOptions, jobs, () => bar?.increment(), runtime.runtime);
      } else {
        const ckpt = loadModel(modelDir);
        const scorer = runtime.runtime === 'onnx' ? await OnnxChunkScorer.create(modelDir) : undefined;
        outcomes = [];
        for (const file of files) {
          outcomes.push(await detectFile(file, ckpt, { ...detectOptions, scorer }).catch((err: Error) => err));
          bar?.increment();
        }
        await scorer?.dispose();
      }
      bar?.stop();
      const results = outcomes.filter((o): o is DetectResult => !(o instanceof Error));
      const failures = outcomes.flatMap((o, i) => (o instanceof Error ? [o.message.includes(files[i]) ? o.message : `${files[i]}: ${o.message}`] : []));
      for (const f of failures) process.stderr.write(`sed detect: skipped ${f}\n`);
      if (results.length) writeOutputs(results, format, opts.out, config.model);
      if (failures.length) {
        process.stderr.write(`sed detect: ${failures.length} of ${files.length} files failed\n`);
        process.exitCode = 1;
      }
    });
}

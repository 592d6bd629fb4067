import * as fs from 'node:fs';
import * as path from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { initBackend } from '../../backend/select';
import { collectAudioFiles } from '../../detect/audioFiles';
import { EXPORT_FORMATS, formatAudacityLabels, formatDcaseTsv, formatEventsJson, writeScoresForAudio, type ExportFormat, type FileEvents } from '../../detect/exports';
import { loadModel } from '../../detect/modelStore';
import { detectFile, type DetectResult } from '../../detect/pipeline';
import { writeFileAtomic } from '../../io/atomicWrite';

interface DetectCliOptions {
  model?: string;
  threshold?: string[];
  median?: string;
  classes?: string;
  format: string;
  out?: string;
  progress: boolean;
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
      const ckpt = loadModel(opts.model);
      const bar = opts.progress ? new SingleBar({ format: 'detect |{bar}| {value}/{total} files | ETA {eta_formatted} | {file}', stream: process.stderr }, Presets.shades_classic) : undefined;
      process.stderr.write(`model: ${ckpt.meta.model} (${ckpt.classes.length} classes) on ${backend.backend}\n`);
      bar?.start(files.length, 0, { file: '' });
      const results: DetectResult[] = [];
      const failures: string[] = [];
      for (const file of files) {
        bar?.update({ file: path.basename(file) });
        try {
          results.push(await detectFile(file, ckpt, { thresholds, medianWindow, classes }));
        } catch (err) {
          const message = (err as Error).message;
          failures.push(message.includes(file) ? message : `${file}: ${message}`);
          if (classes && /Unknown class/.test(message)) throw err; // same for every file
        }
        bar?.increment();
      }
      bar?.stop();
      for (const f of failures) process.stderr.write(`sed detect: skipped ${f}\n`);
      if (results.length) writeOutputs(results, format, opts.out, ckpt.meta.model);
      if (failures.length) {
        process.stderr.write(`sed detect: ${failures.length} of ${files.length} files failed\n`);
        process.exitCode = 1;
      }
    });
}

import type { Command } from 'commander';
import { writeFileAtomic } from '../../io/atomicWrite';
import { initBackend } from '../../backend/select';
import { collectAudioFiles } from '../../detect/audioFiles';
import { readDurationsTsv, readGroundTruthTsv } from '../../detect/groundTruth';
import { loadModel, resolveModelDir } from '../../detect/modelStore';
import { scorerForCheckpoint } from '../../onnx/select';
import { scoreAudioFiles } from '../../detect/scoreSet';
import { evaluate, evaluateFiles, type EvaluateOptions, type EvaluationResult } from '../../eval/index';

interface EvalOpts {
  scores?: string;
  audio?: string[];
  model?: string;
  median?: string;
  saveScores?: string;
  groundTruth: string;
  durations?: string;
  json?: boolean;
  out?: string;
  psds1Only?: boolean;
  threshold?: string;
  dropClassesWithoutGt?: boolean;
  mergeGt?: boolean;
}

function num(v: number | undefined, digits = 4): string {
  return v === undefined ? '–' : v.toFixed(digits);
}

/** The human-readable report: headline metrics, then one row per class. */
export function formatEvaluation(r: EvaluationResult): string {
  const lines: string[] = [];
  lines.push(`${r.audio_ids.length} files, ${r.event_classes.length} classes, ${(r.dataset_duration_s / 3600).toFixed(3)} h`
    + (r.durations_source === 'score_tables' ? ' (durations from the score tables: no --durations given)' : ''));
  if (r.dropped_classes.length) lines.push(`dropped classes without GT: ${r.dropped_classes.join(', ')}`);
  if (r.psds1) lines.push(`PSDS1 ${num(r.psds1.psds)}   (mean of per-class PSDS1, alpha_st 0: ${num(r.psds1.macro_psds_alpha_st0)})`);
  if (r.psds2) lines.push(`PSDS2 ${num(r.psds2.psds)}   (mean of per-class PSDS2, alpha_st 0: ${num(r.psds2.macro_psds_alpha_st0)})`);
  for (const [key, name] of [['intersection_f1', 'intersection F1'], ['collar_f1', 'collar F1']] as const) {
    const f = key === 'intersection_f1' ? r.intersection_f1 : r.collar_f1;
    if (!f) continue;
    lines.push(`${name} @ ${JSON.stringify(f.params.threshold)}: macro F ${num(f.macro.f)} P ${num(f.macro.p)} R ${num(f.macro.r)}`
      + `   micro F ${num(f.micro.f)} P ${num(f.micro.p)} R ${num(f.micro.r)}`);
  }
  // Columns only for the metrics that were computed.
  const columns: Array<[string, (c: string) => string]> = [['n_ref', (c) => String(r.n_ref[c])]];
  if (r.psds1) columns.push(['PSDS1', (c) => num(r.psds1!.per_class_psds[c])]);
  if (r.psds2) columns.push(['PSDS2', (c) => num(r.psds2!.per_class_psds[c])]);
  if (r.intersection_f1) columns.push(['iF1', (c) => num(r.intersection_f1!.per_class[c].f)]);
  if (r.collar_f1) columns.push(['cF1', (c) => num(r.collar_f1!.per_class[c].f)]);
  const header = ['class', ...columns.map(([name]) => name)];
  const rows = r.event_classes.map((c) => [c, ...columns.map(([, cell]) => cell(c))]);
  const width = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((v, i) => (i === 0 ? v.padEnd(width[i]) : v.padStart(width[i]))).join('  ');
  lines.push('', line(header), line(width.map((w) => '-'.repeat(w))), ...rows.map(line));
  return lines.join('\n') + '\n';
}

export function register(program: Command): void {
  program
    .command('eval')
    .description('evaluate sed_scores_eval score TSVs against DCASE ground truth: PSDS1, PSDS2 (intersection-based, per class), intersection and collar F1')
    .option('--scores <folder>', 'folder of <audio_id>.tsv score files (onset, offset, one column per class)')
    .option('--audio <paths...>', 'instead of --scores: audio files or folders, scored first with --model')
    .option('-m, --model <name|dir>', 'with --audio: checkpoint folder or pulled model (default: the bundled default model)')
    .option('--median <frames>', 'with --audio: median filter window in frames (default: the model\'s, 9)')
    .option('--save-scores <folder>', 'with --audio: also write the score TSVs there')
    .requiredOption('--ground-truth <tsv>', 'DCASE ground truth: filename, onset, offset, event_label (files without events: empty fields)')
    .option('--durations <tsv>', 'filename, duration table (default: the score tables\' spans)')
    .option('--json', 'print one JSON object (keys as in the PSDS fixtures\' expected.json)')
    .option('--out <file>', 'also write the JSON result to this file')
    .option('--psds1-only', 'compute PSDS1 only')
    .option('--threshold <theta>', 'decision threshold for both F1s (default 0.5)')
    .option('--drop-classes-without-gt', 'drop score columns of classes without GT events (as EfficientSED does) instead of failing')
    .option('--merge-gt', 'merge overlapping/touching same-class GT events instead of failing')
    .action(async (opts: EvalOpts) => {
      if (!opts.scores === !opts.audio) throw new Error('give either --scores <folder> or --audio <files or folders> (with --model)');
      const options: EvaluateOptions = {
        dropClassesWithoutGroundTruth: opts.dropClassesWithoutGt,
        mergeConnectedEvents: opts.mergeGt,
      };
      if (opts.threshold !== undefined) {
        const t = Number(opts.threshold);
        if (!Number.isFinite(t)) throw new Error(`--threshold: '${opts.threshold}' is not a number`);
        options.intersectionF1 = { threshold: t };
        options.collarF1 = { threshold: t };
      }
      if (opts.psds1Only) Object.assign(options, { psds2: false, intersectionF1: false, collarF1: false });
      let result: EvaluationResult;
      if (opts.audio) {
        const medianWindow = opts.median === undefined ? undefined : Number(opts.median);
        if (medianWindow !== undefined && !(Number.isInteger(medianWindow) && medianWindow >= 1)) throw new Error(`--median: '${opts.median}' is not a positive whole number of frames`);
        const backend = await initBackend(process.env.SED_BACKEND || 'auto');
        const files = collectAudioFiles(opts.audio);
        if (!files.length) throw new Error(`no audio files found in ${opts.audio.join(', ')}`);
        const scorer = await scorerForCheckpoint(resolveModelDir(opts.model), backend.backend);
        const scored = await scoreAudioFiles(files, loadModel(opts.model), {
          medianWindow,
          scorer,
          saveScoresDir: opts.saveScores,
          onFile: (done, total) => process.stderr.write(`\rscoring ${done}/${total}`),
        });
        process.stderr.write('\n');
        // Durations come from the audio unless a table is given.
        const durations = opts.durations ? readDurationsTsv(opts.durations) : scored.durations;
        result = evaluate(scored.scores, readGroundTruthTsv(opts.groundTruth), durations, options);
      } else {
        if (!opts.durations && !opts.json) process.stderr.write('note: no --durations given; using the score tables\' spans as file durations\n');
        result = evaluateFiles({ scoresDir: opts.scores!, groundTruthTsv: opts.groundTruth, durationsTsv: opts.durations }, options);
      }
      const json = JSON.stringify(result, null, 2) + '\n';
      if (opts.out) writeFileAtomic(opts.out, json);
      process.stdout.write(opts.json ? json : formatEvaluation(result));
    });
}

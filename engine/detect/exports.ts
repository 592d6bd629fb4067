/**
 * Detection outputs in formats people already use: DCASE event TSV (`filename onset offset event_label`),
 * Audacity label tracks (`start\tend\tlabel`), JSON, and sed_scores_eval score TSVs (one per audio file).
 * Every write goes through writeFileAtomic, so an interrupted run never leaves a half-written file.
 */
import * as path from 'node:path';
import { writeFileAtomic } from '../io/atomicWrite';
import type { SedEvent } from './events';
import { formatScoresTsv, frameTimestamps } from './scoresTsv';

/** The events of one audio file. */
export interface FileEvents {
  /** the audio file name as it should appear in the table (e.g. `clip.wav`) */
  filename: string;
  events: SedEvent[];
}

export const EXPORT_FORMATS = ['tsv', 'audacity', 'json', 'scores'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

function fmtTime(t: number): string {
  return String(Math.round(t * 1e6) / 1e6);
}

function onlyThreshold(events: SedEvent[], threshold: number | undefined): SedEvent[] {
  return threshold === undefined ? events : events.filter((e) => e.threshold === threshold);
}

function checkTsvField(value: string, what: string): string {
  if (/[\t\r\n]/.test(value)) throw new Error(`cannot write ${what} '${value}' to a TSV: it contains a tab or newline`);
  return value;
}

/**
 * DCASE event TSV with a header. With several thresholds in the events, pass `threshold` to pick one
 * (a DCASE table holds one operating point). `includeEmptyFiles` adds `filename\t\t\t` rows for files without
 * events, the convention of ground-truth tables.
 */
export function formatDcaseTsv(files: FileEvents[], opts: { threshold?: number; includeEmptyFiles?: boolean } = {}): string {
  const lines = ['filename\tonset\toffset\tevent_label'];
  for (const file of files) {
    const name = checkTsvField(file.filename, 'file name');
    const evs = onlyThreshold(file.events, opts.threshold);
    if (evs.length === 0 && opts.includeEmptyFiles) lines.push(`${name}\t\t\t`);
    for (const e of evs) lines.push(`${name}\t${fmtTime(e.onset)}\t${fmtTime(e.offset)}\t${checkTsvField(e.label, 'label')}`);
  }
  return lines.join('\n') + '\n';
}

/** Audacity label track (no header): `start\tend\tlabel`, times with 6 decimals. */
export function formatAudacityLabels(events: SedEvent[], opts: { threshold?: number } = {}): string {
  return onlyThreshold(events, opts.threshold)
    .map((e) => `${e.onset.toFixed(6)}\t${e.offset.toFixed(6)}\t${checkTsvField(e.label, 'label')}`)
    .join('\n') + '\n';
}

/** JSON: `{ files: [{ filename, events: [{onset, offset, label, max_score, mean_score, threshold}] }] }`. */
export function formatEventsJson(files: FileEvents[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    ...extra,
    files: files.map((f) => ({
      filename: f.filename,
      events: f.events.map((e) => ({
        onset: e.onset, offset: e.offset, label: e.label, max_score: e.maxScore, mean_score: e.meanScore, threshold: e.threshold,
      })),
    })),
  }, null, 2) + '\n';
}

export function writeDcaseTsv(file: string, files: FileEvents[], opts: { threshold?: number; includeEmptyFiles?: boolean } = {}): void {
  writeFileAtomic(file, formatDcaseTsv(files, opts));
}

export function writeAudacityLabels(file: string, events: SedEvent[], opts: { threshold?: number } = {}): void {
  writeFileAtomic(file, formatAudacityLabels(events, opts));
}

export function writeEventsJson(file: string, files: FileEvents[], extra: Record<string, unknown> = {}): void {
  writeFileAtomic(file, formatEventsJson(files, extra));
}

/** `<audio name without extension>.tsv`, the score-file name sed_scores_eval expects for an audio file. */
export function scoresFileName(audioFile: string): string {
  const base = path.basename(audioFile);
  const dot = base.lastIndexOf('.');
  return `${dot > 0 ? base.slice(0, dot) : base}.tsv`;
}

/**
 * Write one file's [frames, classes] scores as a sed_scores_eval score TSV into `dir`
 * (frame edges 0, hop, 2·hop, …). Returns the written path.
 */
export function writeScoresForAudio(dir: string, audioFile: string, classes: string[], scores: Float32Array | Float64Array, frames: number, frameSeconds = 0.04): string {
  const file = path.join(dir, scoresFileName(audioFile));
  writeFileAtomic(file, formatScoresTsv(classes, frameTimestamps(frames, frameSeconds), scores));
  return file;
}

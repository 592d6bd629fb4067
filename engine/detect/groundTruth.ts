/**
 * DCASE ground-truth and duration tables (tab-separated, with a header):
 *   ground truth: `filename onset offset event_label` — a file without events is one row with the three
 *   other fields empty; durations: `filename duration`.
 * The audio id is the filename with its last extension removed (`a.wav` → `a`), as sed_scores_eval does.
 */
import * as fs from 'node:fs';
import type { Durations, GroundTruth } from '../eval/scores';

export function audioIdOf(filename: string): string {
  const base = filename.trim();
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

function readText(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${what} ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

function headerIndex(header: string[], names: string[], label: string): number[] {
  return names.map((name) => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`${label}: header has no '${name}' column (found: ${header.join(', ')}; expected ${names.join(', ')})`);
    return i;
  });
}

function rows(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => line.trim() !== '');
}

function parseTime(field: string, label: string, line: number, name: string): number {
  const v = Number(field);
  if (field.trim() === '' || !Number.isFinite(v)) throw new Error(`${label}:${line}: ${name} '${field}' is not a number`);
  return v;
}

/** Parse a DCASE ground-truth TSV. `label` names the source in errors. */
export function parseGroundTruthTsv(text: string, label = 'ground truth'): GroundTruth {
  const lines = rows(text);
  if (lines.length === 0) throw new Error(`${label}: empty file`);
  const [iFile, iOn, iOff, iLabel] = headerIndex(lines[0].split('\t').map((s) => s.trim()), ['filename', 'onset', 'offset', 'event_label'], label);
  const gt: GroundTruth = new Map();
  for (let n = 1; n < lines.length; n++) {
    const fields = lines[n].split('\t');
    const id = audioIdOf(fields[iFile] ?? '');
    if (!id) throw new Error(`${label}:${n + 1}: empty filename`);
    if (!gt.has(id)) gt.set(id, []);
    const on = (fields[iOn] ?? '').trim();
    const off = (fields[iOff] ?? '').trim();
    const lab = (fields[iLabel] ?? '').trim();
    if (on === '' && off === '' && lab === '') continue; // a file without events
    if (lab === '') throw new Error(`${label}:${n + 1}: event without a label`);
    gt.get(id)!.push({ onset: parseTime(on, label, n + 1, 'onset'), offset: parseTime(off, label, n + 1, 'offset'), label: lab });
  }
  return gt;
}

/** Parse a durations TSV (`filename duration`). */
export function parseDurationsTsv(text: string, label = 'durations'): Durations {
  const lines = rows(text);
  if (lines.length === 0) throw new Error(`${label}: empty file`);
  const [iFile, iDur] = headerIndex(lines[0].split('\t').map((s) => s.trim()), ['filename', 'duration'], label);
  const out: Durations = new Map();
  for (let n = 1; n < lines.length; n++) {
    const fields = lines[n].split('\t');
    const id = audioIdOf(fields[iFile] ?? '');
    if (!id) throw new Error(`${label}:${n + 1}: empty filename`);
    if (out.has(id)) throw new Error(`${label}:${n + 1}: duplicate entry for '${id}'`);
    const d = parseTime(fields[iDur] ?? '', label, n + 1, 'duration');
    if (d < 0) throw new Error(`${label}:${n + 1}: negative duration ${d}`);
    out.set(id, d);
  }
  return out;
}

export function readGroundTruthTsv(file: string): GroundTruth {
  return parseGroundTruthTsv(readText(file, 'ground truth'), file);
}

export function readDurationsTsv(file: string): Durations {
  return parseDurationsTsv(readText(file, 'durations'), file);
}

/**
 * sed_scores_eval score TSVs: one file per audio id (`<audio_id>.tsv`), header `onset offset <class...>`,
 * one row per frame, gapless (each offset equals the next onset).
 * Numbers are written in shortest round-trip form, so reading a written file gives back the same values
 * (float32 scores are written as their shortest float32 decimal, which preserves their order and ties —
 * all that PSDS depends on).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../io/atomicWrite';
import type { ScoreSet, ScoreTable } from '../eval/scores';

export interface ParsedScores {
  classes: string[];
  table: ScoreTable;
}

/** Parse one score TSV. `label` names the source in errors. */
export function parseScoresTsv(text: string, label = 'scores'): ParsedScores {
  const lines = text.split('\n');
  let end = lines.length;
  while (end > 0 && lines[end - 1].trim() === '') end--;
  if (end === 0) throw new Error(`${label}: empty file`);
  const header = lines[0].replace(/\r$/, '').split('\t');
  if (header[0] !== 'onset' || header[1] !== 'offset' || header.length < 3) {
    throw new Error(`${label}: header must be 'onset<TAB>offset<TAB><class...>', got '${header.slice(0, 4).join('\t')}'`);
  }
  const classes = header.slice(2);
  const K = classes.length;
  const T = end - 1;
  if (T < 1) throw new Error(`${label}: no frames`);
  const timestamps = new Float64Array(T + 1);
  const scores = new Float64Array(T * K);
  let prevOffset = NaN;
  for (let i = 0; i < T; i++) {
    const line = lines[i + 1];
    const fields = line.split('\t');
    if (fields.length !== K + 2) throw new Error(`${label}:${i + 2}: ${fields.length} fields, expected ${K + 2}`);
    const on = Number(fields[0]);
    const off = Number(fields[1]);
    if (!Number.isFinite(on) || !Number.isFinite(off)) throw new Error(`${label}:${i + 2}: onset/offset '${fields[0]}', '${fields[1]}' are not numbers`);
    if (i > 0 && on !== prevOffset) throw new Error(`${label}:${i + 2}: frames are not gapless (onset ${on} ≠ previous offset ${prevOffset})`);
    if (!(off > on)) throw new Error(`${label}:${i + 2}: frame [${on}, ${off}) has no positive length`);
    timestamps[i] = on;
    prevOffset = off;
    const row = i * K;
    for (let j = 0; j < K; j++) {
      const f = fields[j + 2];
      const v = Number(f);
      if (Number.isNaN(v) || f.trim() === '') throw new Error(`${label}:${i + 2}: score '${f}' for class '${classes[j]}' is not a number`);
      scores[row + j] = v;
    }
  }
  timestamps[T] = prevOffset;
  return { classes, table: { timestamps, scores } };
}

export function readScoresTsv(file: string): ParsedScores {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`scores ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseScoresTsv(text, file);
}

/**
 * Read a folder of `<audio_id>.tsv` score files. The class list comes from the file whose id sorts first
 * (as in the reference); every other file must have the same columns in the same order.
 */
export function readScoresFolder(dir: string): ScoreSet {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith('.tsv')).sort();
  } catch (err) {
    throw new Error(`scores folder ${dir}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (names.length === 0) throw new Error(`scores folder ${dir}: no .tsv score files`);
  const files = new Map<string, ScoreTable>();
  let classes: string[] | null = null;
  for (const name of names) {
    const file = path.join(dir, name);
    const parsed = readScoresTsv(file);
    if (classes === null) classes = parsed.classes;
    else if (parsed.classes.length !== classes.length || parsed.classes.some((c, i) => c !== classes![i])) {
      throw new Error(`${file}: class columns differ from ${path.join(dir, names[0])} (every score file must have the same classes in the same order)`);
    }
    files.set(name.slice(0, -4), parsed.table);
  }
  return { classes: classes!, files };
}

/** Shortest decimal that reads back as the same float32. */
export function formatFloat32(v: number): string {
  if (!Number.isFinite(v) || v === 0) return String(v);
  for (let p = 1; p < 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(Number(v.toPrecision(9)));
}

/**
 * Score TSV text for a [T, K] table. `scores` may be float32 (model output) or float64.
 * `timestamps` are the T+1 frame boundaries.
 */
export function formatScoresTsv(classes: string[], timestamps: ArrayLike<number>, scores: Float32Array | Float64Array): string {
  const K = classes.length;
  const T = timestamps.length - 1;
  if (scores.length !== T * K) throw new Error(`formatScoresTsv: ${scores.length} scores for ${T} frames × ${K} classes`);
  const fmt = scores instanceof Float32Array ? formatFloat32 : (v: number) => String(v);
  const out: string[] = [['onset', 'offset', ...classes].join('\t')];
  for (let i = 0; i < T; i++) {
    const row = [String(timestamps[i]), String(timestamps[i + 1])];
    for (let j = 0; j < K; j++) row.push(fmt(scores[i * K + j]));
    out.push(row.join('\t'));
  }
  return out.join('\n') + '\n';
}

export function writeScoresTsv(file: string, classes: string[], timestamps: ArrayLike<number>, scores: Float32Array | Float64Array): void {
  writeFileAtomic(file, formatScoresTsv(classes, timestamps, scores));
}

/** Frame boundaries 0, hop, 2·hop, … (T+1 values), rounded to 6 decimals so that they print cleanly. */
export function frameTimestamps(frames: number, hopSeconds = 0.04): Float64Array {
  const t = new Float64Array(frames + 1);
  for (let i = 0; i <= frames; i++) t[i] = Math.round(i * hopSeconds * 1e6) / 1e6;
  return t;
}

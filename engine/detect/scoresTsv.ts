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

const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);
const TAB = 9;
const CR = 13;

/**
 * The number in text[start, end). Plain decimals with an integer mantissa below 2^53 and at most 22
 * fraction digits are computed as mantissa / 10^k: both operands are exact doubles, so the correctly
 * rounded quotient is exactly what `Number` returns (Clinger's fast path), several times faster.
 * Anything else (exponents, Infinity, long mantissas) goes through `Number`. NaN for non-numbers.
 */
function parseNumber(text: string, start: number, end: number): number {
  let i = start;
  let negative = false;
  if (i < end && text.charCodeAt(i) === 45) { negative = true; i++; }
  let mantissa = 0;
  let digits = 0;
  let fraction = -1;
  for (; i < end; i++) {
    const ch = text.charCodeAt(i);
    if (ch >= 48 && ch <= 57) {
      mantissa = mantissa * 10 + (ch - 48);
      digits++;
      if (fraction >= 0) fraction++;
    } else if (ch === 46 && fraction < 0) {
      fraction = 0;
    } else {
      break;
    }
  }
  if (i === end && digits > 0 && mantissa < 2 ** 53 && fraction <= 22) {
    const v = fraction > 0 ? mantissa / POW10[fraction] : mantissa;
    return negative ? -v : v;
  }
  const field = text.slice(start, end);
  return field.trim() === '' ? NaN : Number(field);
}

/** Parse one score TSV. `label` names the source in errors. */
export function parseScoresTsv(text: string, label = 'scores'): ParsedScores {
  let headerEnd = text.indexOf('\n');
  if (headerEnd < 0) headerEnd = text.length;
  const header = text.slice(0, headerEnd).replace(/\r$/, '').split('\t');
  if (header[0] !== 'onset' || header[1] !== 'offset' || header.length < 3) {
    throw new Error(`${label}: header must be 'onset<TAB>offset<TAB><class...>', got '${header.slice(0, 4).join('\t')}'`);
  }
  const classes = header.slice(2);
  const K = classes.length;
  const fieldsPerRow = K + 2;
  // Rows are parsed in place (no per-line or per-field strings): score files can be hundreds of MB.
  let times: number[] = [];
  let scores = new Float64Array(Math.max(1024, K * 256));
  let T = 0;
  let pos = headerEnd + 1;
  let line = 1;
  let prevOffset = NaN;
  const n = text.length;
  while (pos < n) {
    line++;
    let lineEnd = text.indexOf('\n', pos);
    if (lineEnd < 0) lineEnd = n;
    let contentEnd = lineEnd;
    if (contentEnd > pos && text.charCodeAt(contentEnd - 1) === CR) contentEnd--;
    if (contentEnd === pos || text.slice(pos, contentEnd).trim() === '') {
      pos = lineEnd + 1;
      continue;
    }
    if ((T + 1) * K > scores.length) {
      const grown = new Float64Array(scores.length * 2);
      grown.set(scores);
      scores = grown;
    }
    let field = 0;
    let start = pos;
    let on = NaN;
    for (let i = pos; i <= contentEnd; i++) {
      if (i < contentEnd && text.charCodeAt(i) !== TAB) continue;
      if (field >= fieldsPerRow) { field++; break; }
      const v = parseNumber(text, start, i);
      if (field === 0) on = v;
      else if (field === 1) {
        if (!Number.isFinite(on) || !Number.isFinite(v)) {
          throw new Error(`${label}:${line}: onset/offset '${text.slice(pos, i).replace('\t', "', '")}' are not numbers`);
        }
        if (T > 0 && on !== prevOffset) throw new Error(`${label}:${line}: frames are not gapless (onset ${on} ≠ previous offset ${prevOffset})`);
        if (!(v > on)) throw new Error(`${label}:${line}: frame [${on}, ${v}) has no positive length`);
        times.push(on);
        prevOffset = v;
      } else {
        if (Number.isNaN(v)) throw new Error(`${label}:${line}: score '${text.slice(start, i)}' for class '${classes[field - 2]}' is not a number`);
        scores[T * K + field - 2] = v;
      }
      field++;
      start = i + 1;
    }
    if (field !== fieldsPerRow) {
      const count = text.slice(pos, contentEnd).split('\t').length;
      throw new Error(`${label}:${line}: ${count} fields, expected ${fieldsPerRow}`);
    }
    T++;
    pos = lineEnd + 1;
  }
  if (T < 1) throw new Error(`${label}: no frames`);
  const timestamps = new Float64Array(T + 1);
  timestamps.set(times);
  timestamps[T] = prevOffset;
  times = [];
  return { classes, table: { timestamps, scores: scores.slice(0, T * K) } };
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

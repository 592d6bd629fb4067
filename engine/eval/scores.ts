/**
 * Evaluation data model (PSDS_SPEC §1): score tables per audio id, ground truth, durations, and their
 * validation into one flat, typed-array representation that every metric works on.
 *
 * All frames of all files are concatenated into one global frame axis (files in sorted-id order), so the
 * metrics can sweep a whole class column at once without per-file allocations.
 */

/** One audio file's scores: `timestamps` holds the T+1 frame boundaries, `scores` is [T, K] row-major. */
export interface ScoreTable {
  timestamps: Float64Array;
  scores: Float64Array;
}

/** Scores of a whole evaluation set; every table has the columns `classes`, in that order. */
export interface ScoreSet {
  classes: string[];
  files: Map<string, ScoreTable>;
}

export interface GtEvent {
  onset: number;
  offset: number;
  label: string;
}

/** audio id → events (a file without events maps to an empty list; it must still be present). */
export type GroundTruth = Map<string, GtEvent[]>;
/** audio id → seconds. */
export type Durations = Map<string, number>;

/** GT events of one class, concatenated over files; file f owns [ptr[f], ptr[f+1]), sorted by onset. */
export interface ClassEvents {
  on: Float64Array;
  off: Float64Array;
  ptr: Int32Array;
}

export interface PreparedEval {
  classes: string[];
  audioIds: string[];
  /** total frame count over all files */
  n: number;
  /** file f owns global frames [fileStart[f], fileStart[f+1]) */
  fileStart: Int32Array;
  fileOf: Int32Array;
  /** onset and offset time of every global frame (gapless within a file) */
  tOn: Float64Array;
  tOff: Float64Array;
  tables: ScoreTable[];
  events: ClassEvents[];
  /** classes with at least one GT event in file f: fileClasses[fileClassPtr[f] .. fileClassPtr[f+1]) */
  fileClassPtr: Int32Array;
  fileClasses: Int32Array;
  nRef: Int32Array;
  tRef: Float64Array;
  /** D = Σ durations (seconds), the eFPR denominator */
  datasetDuration: number;
}

export interface PrepareOptions {
  /** Require every score class to have a GT event (the reference asserts this for PSDS and both F1s). */
  requireGtForEveryClass?: boolean;
}

function sameKeys(a: string[], b: Set<string>): { missing: string[]; extra: string[] } {
  const as = new Set(a);
  return { missing: a.filter((k) => !b.has(k)), extra: [...b].filter((k) => !as.has(k)) };
}

function listSome(ids: string[]): string {
  return ids.slice(0, 5).map((s) => `'${s}'`).join(', ') + (ids.length > 5 ? `, … (${ids.length} in all)` : '');
}

/** Python-style repr of a list of names, as in the reference's error messages. */
export function pyList(names: string[]): string {
  return `[${names.map((n) => `'${n}'`).join(', ')}]`;
}

/** Check one score table: shape, gapless positive-length frames, no NaN/+∞ scores. */
export function validateScoreTable(id: string, table: ScoreTable, k: number): void {
  const t = table.timestamps;
  const frames = t.length - 1;
  if (frames < 1) throw new Error(`scores of '${id}': no frames`);
  if (table.scores.length !== frames * k) {
    throw new Error(`scores of '${id}': ${table.scores.length} values for ${frames} frames × ${k} classes`);
  }
  for (let i = 0; i < frames; i++) {
    if (!(t[i + 1] > t[i])) throw new Error(`scores of '${id}': frame ${i} [${t[i]}, ${t[i + 1]}) has no positive length`);
  }
  const s = table.scores;
  for (let i = 0; i < s.length; i++) {
    const v = s[i];
    if (Number.isNaN(v) || v === Infinity) {
      throw new Error(`scores of '${id}': frame ${Math.floor(i / k)}, class column ${i % k} is ${v} (scores must be finite or -Infinity)`);
    }
  }
}

/**
 * Validate scores, ground truth and durations against each other (PSDS_SPEC §1) and build the flat
 * representation. Throws with a message naming the offending file, class or event.
 */
export function prepareEvaluation(scores: ScoreSet, groundTruth: GroundTruth, durations: Durations, options: PrepareOptions = {}): PreparedEval {
  const { classes } = scores;
  const K = classes.length;
  if (K === 0) throw new Error('scores: no event classes');
  if (new Set(classes).size !== K) throw new Error(`scores: duplicate class columns in ${pyList(classes)}`);
  const audioIds = [...scores.files.keys()].sort();
  if (audioIds.length === 0) throw new Error('scores: no score files');
  const gtCheck = sameKeys(audioIds, new Set(groundTruth.keys()));
  if (gtCheck.missing.length || gtCheck.extra.length) {
    throw new Error('ground truth and scores must cover the same audio ids (list files without events too): '
      + (gtCheck.missing.length ? `missing in ground truth: ${listSome(gtCheck.missing)}` : '')
      + (gtCheck.missing.length && gtCheck.extra.length ? '; ' : '')
      + (gtCheck.extra.length ? `without scores: ${listSome(gtCheck.extra)}` : ''));
  }
  const durCheck = sameKeys(audioIds, new Set(durations.keys()));
  if (durCheck.missing.length || durCheck.extra.length) {
    throw new Error('durations and scores must cover the same audio ids: '
      + (durCheck.missing.length ? `missing durations: ${listSome(durCheck.missing)}` : '')
      + (durCheck.missing.length && durCheck.extra.length ? '; ' : '')
      + (durCheck.extra.length ? `durations without scores: ${listSome(durCheck.extra)}` : ''));
  }
  let datasetDuration = 0;
  for (const [id, d] of durations) {
    if (!(Number.isFinite(d) && d >= 0)) throw new Error(`durations: '${id}' has invalid duration ${d}`);
    datasetDuration += d;
  }
  if (!(datasetDuration > 0)) throw new Error('durations: the total duration is 0');

  const F = audioIds.length;
  const tables = audioIds.map((id) => scores.files.get(id)!);
  const fileStart = new Int32Array(F + 1);
  for (let f = 0; f < F; f++) {
    validateScoreTable(audioIds[f], tables[f], K);
    fileStart[f + 1] = fileStart[f] + tables[f].timestamps.length - 1;
  }
  const n = fileStart[F];
  const fileOf = new Int32Array(n);
  const tOn = new Float64Array(n);
  const tOff = new Float64Array(n);
  for (let f = 0; f < F; f++) {
    const t = tables[f].timestamps;
    const g0 = fileStart[f];
    fileOf.fill(f, g0, fileStart[f + 1]);
    tOn.set(t.subarray(0, t.length - 1), g0);
    tOff.set(t.subarray(1), g0);
  }

  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const perClass: Array<Array<[number, number, number]>> = classes.map(() => []); // [file, onset, offset]
  const nRef = new Int32Array(K);
  const tRef = new Float64Array(K);
  for (let f = 0; f < F; f++) {
    const id = audioIds[f];
    for (const ev of groundTruth.get(id)!) {
      const c = classIndex.get(ev.label);
      if (c === undefined) throw new Error(`ground truth: event label '${ev.label}' in '${id}' is not a score class; classes: ${classes.join(', ')}`);
      if (!(Number.isFinite(ev.onset) && Number.isFinite(ev.offset) && ev.offset > ev.onset)) {
        throw new Error(`ground truth: event '${ev.label}' [${ev.onset}, ${ev.offset}) in '${id}' has no positive length`);
      }
      perClass[c].push([f, ev.onset, ev.offset]);
      nRef[c] += 1;
      tRef[c] += ev.offset - ev.onset;
    }
  }
  if (options.requireGtForEveryClass !== false) {
    const without = classes.filter((_, c) => nRef[c] === 0);
    if (without.length) throw new Error(`No ground truth events for classes ${pyList(without)}.`);
  }

  const events: ClassEvents[] = perClass.map((list, c) => {
    list.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const on = new Float64Array(list.length);
    const off = new Float64Array(list.length);
    const ptr = new Int32Array(F + 1);
    list.forEach(([f, a, b], i) => {
      on[i] = a;
      off[i] = b;
      ptr[f + 1] += 1;
      if (i > 0 && list[i - 1][0] === f && a <= off[i - 1]) {
        throw new Error(`ground truth: connected/overlapping events of class '${classes[c]}' in '${audioIds[f]}': `
          + `[${on[i - 1]}, ${off[i - 1]}) and [${a}, ${b}) (merge them first, e.g. with mergeConnectedEvents)`);
      }
    });
    for (let f = 0; f < F; f++) ptr[f + 1] += ptr[f];
    return { on, off, ptr };
  });

  const fileClassPtr = new Int32Array(F + 1);
  const fc: number[] = [];
  for (let f = 0; f < F; f++) {
    for (let c = 0; c < K; c++) if (events[c].ptr[f + 1] > events[c].ptr[f]) fc.push(c);
    fileClassPtr[f + 1] = fc.length;
  }
  return {
    classes, audioIds, n, fileStart, fileOf, tOn, tOff, tables, events,
    fileClassPtr, fileClasses: Int32Array.from(fc), nRef, tRef, datasetDuration,
  };
}

/**
 * Class columns on the global frame axis, extracted `width` columns at a time: one pass over the row-major
 * tables reads whole cache lines instead of one strided value per row and class.
 */
export class ColumnReader {
  private block = -1;
  private readonly buf: Float64Array;

  constructor(private readonly prep: PreparedEval, private readonly width = 8) {
    this.buf = new Float64Array(Math.min(width, prep.classes.length) * prep.n);
  }

  /** Column c (a view, valid until a column of another block is requested). */
  get(c: number): Float64Array {
    const { prep, width } = this;
    const K = prep.classes.length;
    const n = prep.n;
    const b = Math.floor(c / width);
    if (b !== this.block) {
      const c0 = b * width;
      const w = Math.min(width, K - c0);
      const buf = this.buf;
      for (let f = 0; f < prep.tables.length; f++) {
        const s = prep.tables[f].scores;
        const T = s.length / K;
        const g0 = prep.fileStart[f];
        // Column by column within one file: the file's rows stay in cache after the first column, and
        // every column is written sequentially.
        for (let j = 0; j < w; j++) {
          const base = j * n + g0;
          for (let i = 0, src = c0 + j; i < T; i++, src += K) buf[base + i] = s[src];
        }
      }
      this.block = b;
    }
    const j = c - b * width;
    return this.buf.subarray(j * n, (j + 1) * n);
  }
}

/**
 * Merge same-class events that overlap or touch (next.onset ≤ current.offset), as EfficientSED does before
 * evaluation; the reference itself rejects such events.
 */
export function mergeConnectedEvents(gt: GroundTruth): GroundTruth {
  const out: GroundTruth = new Map();
  for (const [id, evs] of gt) {
    const sorted = [...evs].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : a.onset - b.onset));
    const merged: GtEvent[] = [];
    for (const ev of sorted) {
      const last = merged[merged.length - 1];
      if (last && last.label === ev.label && ev.onset <= last.offset) last.offset = Math.max(last.offset, ev.offset);
      else merged.push({ ...ev });
    }
    out.set(id, merged.sort((a, b) => a.onset - b.onset || a.offset - b.offset));
  }
  return out;
}

/** Keep only the given score columns (e.g. drop classes without GT, as EfficientSED does). */
export function selectClasses(scores: ScoreSet, keep: string[]): ScoreSet {
  const K = scores.classes.length;
  const idx = keep.map((c) => {
    const i = scores.classes.indexOf(c);
    if (i < 0) throw new Error(`selectClasses: unknown class '${c}'; classes: ${scores.classes.join(', ')}`);
    return i;
  });
  const files = new Map<string, ScoreTable>();
  for (const [id, t] of scores.files) {
    const T = t.timestamps.length - 1;
    const s = new Float64Array(T * idx.length);
    for (let i = 0; i < T; i++) for (let j = 0; j < idx.length; j++) s[i * idx.length + j] = t.scores[i * K + idx[j]];
    files.set(id, { timestamps: t.timestamps, scores: s });
  }
  return { classes: keep.slice(), files };
}

/**
 * Strong labels for training: the DCASE TSV (`filename onset offset event_label`, header optional),
 * optional durations TSV (`filename duration`), the class list, and frame targets at the models'
 * 40 ms output resolution (250 frames per 10 s; MODEL_SPEC §5).
 */
import * as fs from 'node:fs';

export const SEGMENT_SECONDS = 10;
export const FRAMES_PER_SEGMENT = 250;
export const FRAME_SECONDS = SEGMENT_SECONDS / FRAMES_PER_SEGMENT;

export interface StrongEvent {
  onset: number;
  offset: number;
  label: string;
}

/** Events per filename, in file order. Files listed with an empty label (no events) map to []. */
export type StrongLabels = Map<string, StrongEvent[]>;

function readLines(file: string, what: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${what} ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return text.split(/\r?\n/).filter((l) => l.trim() !== '');
}

export function readStrongLabels(file: string): StrongLabels {
  const lines = readLines(file, 'label TSV');
  const out: StrongLabels = new Map();
  lines.forEach((line, i) => {
    const cols = line.split('\t');
    if (i === 0 && cols[0] === 'filename') return;
    const [name, on, off, label] = cols;
    if (!name) throw new Error(`${file}:${i + 1}: missing filename`);
    const events = out.get(name) ?? [];
    out.set(name, events);
    // DCASE files list event-free clips with empty onset/offset/label.
    if ((on ?? '') === '' && (label ?? '') === '') return;
    const onset = Number(on);
    const offset = Number(off);
    if (!Number.isFinite(onset) || !Number.isFinite(offset) || offset < onset || !label) {
      throw new Error(`${file}:${i + 1}: expected 'filename<TAB>onset<TAB>offset<TAB>event_label' with offset ≥ onset, got ${JSON.stringify(line)}`);
    }
    events.push({ onset, offset, label });
  });
  if (out.size === 0) throw new Error(`${file}: no labelled files`);
  return out;
}

export function readDurations(file: string): Map<string, number> {
  const out = new Map<string, number>();
  readLines(file, 'durations TSV').forEach((line, i) => {
    const [name, d] = line.split('\t');
    if (i === 0 && name === 'filename') return;
    const dur = Number(d);
    if (!name || !(dur > 0)) throw new Error(`${file}:${i + 1}: expected 'filename<TAB>duration' with duration > 0, got ${JSON.stringify(line)}`);
    out.set(name, dur);
  });
  return out;
}

/** Sorted label names, or the given list after checking every label in the data is in it. */
export function classList(labels: StrongLabels[], given?: string[]): string[] {
  const seen = new Set<string>();
  for (const l of labels) for (const events of l.values()) for (const e of events) seen.add(e.label);
  if (!given) return [...seen].sort();
  const known = new Set(given);
  if (known.size !== given.length) throw new Error('class list contains duplicate names');
  const unknown = [...seen].filter((c) => !known.has(c));
  if (unknown.length) throw new Error(`labels ${unknown.map((u) => `'${u}'`).join(', ')} are not in the class list (${given.join(', ')})`);
  return given;
}

/**
 * Frame targets [frames, C] for the segment starting at `startSec`: frame f covers
 * [f·40 ms, (f+1)·40 ms) and is active if an event overlaps it (onset floored, offset ceiled, the
 * encoding whose decoding `onset = f·0.04, offset = (last+1)·0.04` inverts).
 */
export function frameTargets(events: StrongEvent[], classes: string[], startSec = 0, frames = FRAMES_PER_SEGMENT): Float32Array {
  const index = new Map(classes.map((c, i) => [c, i]));
  const c = classes.length;
  const out = new Float32Array(frames * c);
  for (const e of events) {
    const k = index.get(e.label);
    if (k === undefined) continue;
    const on = Math.max(0, Math.floor((e.onset - startSec) / FRAME_SECONDS + 1e-9));
    const off = Math.min(frames, Math.ceil((e.offset - startSec) / FRAME_SECONDS - 1e-9));
    for (let f = on; f < off; f++) out[f * c + k] = 1;
  }
  return out;
}

/**
 * Training/validation data: labelled 10 s segments with their 16 kHz waveforms (from the audio cache,
 * decoded once), 40 ms frame targets, and optional stored teacher probabilities (pseudo-labels).
 * Clips longer than 10 s become several segments; shorter ones are zero-padded (as inference does).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AudioCache } from './cache';
import { classList, frameTargets, FRAMES_PER_SEGMENT, readDurations, readStrongLabels, SEGMENT_SECONDS, type StrongLabels } from './labels';
import { readPseudoLabels } from './pseudoLabels';

export const SAMPLE_RATE = 16000;
export const SEGMENT_SAMPLES = SEGMENT_SECONDS * SAMPLE_RATE;

export interface Segment {
  /** Filename as written in the label TSV. */
  name: string;
  file: string;
  /** Start of this 10 s segment in the clip (seconds). */
  startSec: number;
  /** 160 000 samples. */
  wave: Float32Array;
  /** [250, C] hard targets. */
  targets: Float32Array;
  /** [250, C] teacher probabilities, when pseudo-labels were given. */
  teacher?: Float32Array;
}

export interface LabelledSet {
  classes: string[];
  segments: Segment[];
  labels: StrongLabels;
  /** Clip durations (seconds) from the durations TSV or the audio. */
  durations: Map<string, number>;
  audioDir: string;
}

export interface LoadSetOptions {
  labelsTsv: string;
  audioDir: string;
  durationsTsv?: string;
  /** Fixed class list (e.g. the training set's, for validation); default: sorted labels of this TSV. */
  classes?: string[];
  cache?: AudioCache;
  /** Waveform decoder (16 kHz mono); default engine/audio's decodeAudio. */
  decode?: (file: string) => Promise<Float32Array>;
  /** Folder of pseudo-label files (`sed pseudo-label`) to attach as teacher targets. */
  pseudoLabelsDir?: string;
  /** Use only the first n files of the TSV (quick runs, tests). */
  limit?: number;
  onFile?: (done: number, total: number) => void;
}

export async function defaultDecode(file: string): Promise<Float32Array> {
  const { decodeAudio } = await import('../audio/index');
  const decoded = await decodeAudio(file);
  return decoded.samples;
}

function segmentCount(durationSec: number): number {
  return Math.max(1, Math.ceil(durationSec / SEGMENT_SECONDS - 1e-6));
}

export async function loadLabelledSet(opts: LoadSetOptions): Promise<LabelledSet> {
  const labels = readStrongLabels(opts.labelsTsv);
  const classes = classList([labels], opts.classes);
  const givenDurations = opts.durationsTsv ? readDurations(opts.durationsTsv) : undefined;
  if (!fs.existsSync(opts.audioDir) || !fs.statSync(opts.audioDir).isDirectory()) throw new Error(`audio folder ${opts.audioDir}: not found`);
  const cache = opts.cache ?? new AudioCache();
  const decode = opts.decode ?? defaultDecode;
  const names = [...labels.keys()].slice(0, opts.limit ?? Infinity);
  const segments: Segment[] = [];
  const durations = new Map<string, number>();
  let done = 0;
  for (const name of names) {
    const file = path.join(opts.audioDir, name);
    if (!fs.existsSync(file)) throw new Error(`${opts.labelsTsv}: '${name}' has no audio file ${file}`);
    const wave = await cache.waveform(file, decode);
    const duration = givenDurations?.get(name) ?? wave.length / SAMPLE_RATE;
    durations.set(name, duration);
    const teacher = opts.pseudoLabelsDir ? readPseudoLabels(opts.pseudoLabelsDir, name, classes) : undefined;
    const n = segmentCount(duration);
    if (teacher && teacher.frames < n * FRAMES_PER_SEGMENT) {
      throw new Error(`${teacher.file}: ${teacher.frames} frames, but '${name}' (${duration} s) needs ${n * FRAMES_PER_SEGMENT}`);
    }
    for (let k = 0; k < n; k++) {
      const seg = new Float32Array(SEGMENT_SAMPLES);
      seg.set(wave.subarray(k * SEGMENT_SAMPLES, Math.min(wave.length, (k + 1) * SEGMENT_SAMPLES)));
      const c = classes.length;
      segments.push({
        name,
        file,
        startSec: k * SEGMENT_SECONDS,
        wave: seg,
        targets: frameTargets(labels.get(name)!, classes, k * SEGMENT_SECONDS),
        teacher: teacher ? teacher.probs.slice(k * FRAMES_PER_SEGMENT * c, (k + 1) * FRAMES_PER_SEGMENT * c) : undefined,
      });
    }
    opts.onFile?.(++done, names.length);
  }
  return { classes, segments, labels: new Map(names.map((n) => [n, labels.get(n)!])), durations, audioDir: opts.audioDir };
}

/** Batches of segment indices for one epoch (shuffled with `order`; the last batch may be smaller). */
export function epochBatches(order: number[], batchSize: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) out.push(order.slice(i, i + batchSize));
  return out;
}

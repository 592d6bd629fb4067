/**
 * Validation during training: the model's frame probabilities on each validation clip (evaluation
 * frontend, no augmentation; mels cached on disk), median filter (9 frames by default, MODEL_SPEC §5),
 * then PSDS1 with the reference's reported number = mean of the per-class PSDS values.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { medianFilter } from '../detect/medianFilter';
import { computePsds, PSDS1 } from '../eval/psds';
import { mergeConnectedEvents, prepareEvaluation, selectClasses, type GroundTruth, type ScoreSet, type ScoreTable } from '../eval/scores';
import type { SedModel } from '../models/types';
import type { AudioCache } from './cache';
import type { LabelledSet } from './data';
import { FRAME_SECONDS, FRAMES_PER_SEGMENT } from './labels';
import { readBack } from '../backend/gpuErrors';

export type MelFn = (waves: tf.Tensor2D, band: { fminHz: number; fmaxHz: number }) => tf.Tensor4D;

export interface ValidationResult {
  /** Mean of the per-class PSDS1 values (upstream `val/psds1_macro_averaged`). */
  psds1Macro: number;
  /** PSDS1 with alpha_st = 1 (the DCASE definition). */
  psds1: number;
  perClass: Record<string, number>;
}

/** Audio id used for scores and ground truth: the filename without extension. */
export function audioId(name: string): string {
  return name.replace(/\.[^./]+$/, '');
}

/** Frame probabilities [250, C] of every validation segment, in segment order. */
export async function predictSegments(model: SedModel, set: LabelledSet, melOf: MelFn, band: { fminHz: number; fmaxHz: number }, cache: AudioCache, batchSize: number, signal?: AbortSignal): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  const segs = set.segments;
  for (let i = 0; i < segs.length; i += batchSize) {
    if (signal?.aborted) throw new Error('validation aborted');
    const chunk = segs.slice(i, i + batchSize);
    const mels: Float32Array[] = [];
    let melShape: number[] = [];
    for (const s of chunk) {
      const mel = await cache.mel(`${s.file}`, { ...band, startSec: s.startSec, frontend: 'eval' }, async () => {
        const m = tf.tidy(() => melOf(tf.tensor2d(s.wave, [1, s.wave.length]), band));
        const data = await readBack(m, `validation mel of ${s.file}`);
        const shape = m.shape.slice(1);
        m.dispose();
        return { shape, data };
      });
      melShape = mel.shape;
      mels.push(mel.data);
    }
    const flat = new Float32Array(mels.length * mels[0].length);
    mels.forEach((m, k) => flat.set(m, k * m.length));
    const probs = tf.tidy(() => tf.sigmoid(model.forward(tf.tensor4d(flat, [chunk.length, ...melShape] as [number, number, number, number]), { training: false }).strongLogits));
    const data = await readBack(probs, 'validation');
    probs.dispose();
    const per = data.length / chunk.length;
    for (let k = 0; k < chunk.length; k++) out.push(data.slice(k * per, (k + 1) * per));
  }
  return out;
}

/** Per-clip score tables (segments concatenated, trimmed to the duration, median-filtered). */
export function scoreTables(set: LabelledSet, probs: Float32Array[], medianWindow: number): ScoreSet {
  const c = set.classes.length;
  const bySeg = new Map<string, Float32Array[]>();
  set.segments.forEach((s, i) => {
    const list = bySeg.get(s.name) ?? [];
    list.push(probs[i]);
    bySeg.set(s.name, list);
  });
  const files = new Map<string, ScoreTable>();
  for (const [name, parts] of bySeg) {
    const duration = set.durations.get(name)!;
    const frames = Math.min(parts.length * FRAMES_PER_SEGMENT, Math.max(1, Math.ceil(duration / FRAME_SECONDS - 1e-6)));
    const all = new Float32Array(parts.length * FRAMES_PER_SEGMENT * c);
    parts.forEach((p, k) => all.set(p, k * FRAMES_PER_SEGMENT * c));
    const trimmed = all.subarray(0, frames * c);
    const filtered = medianWindow > 1 ? medianFilter(trimmed, frames, c, medianWindow) : trimmed;
    const timestamps = new Float64Array(frames + 1);
    for (let f = 0; f <= frames; f++) timestamps[f] = Math.min(f * FRAME_SECONDS, duration);
    files.set(audioId(name), { timestamps, scores: Float64Array.from(filtered) });
  }
  return { classes: set.classes, files };
}

export function groundTruth(set: LabelledSet): { gt: GroundTruth; durations: Map<string, number> } {
  const gt: GroundTruth = new Map();
  const durations = new Map<string, number>();
  for (const [name, events] of set.labels) {
    gt.set(audioId(name), events.map((e) => ({ onset: e.onset, offset: e.offset, label: e.label })));
    durations.set(audioId(name), set.durations.get(name)!);
  }
  return { gt, durations };
}

/** PSDS1 of score tables against the set's labels; classes without any GT event are left out (as upstream). */
export function psds1Of(scores: ScoreSet, set: LabelledSet): ValidationResult {
  const { gt, durations } = groundTruth(set);
  const present = new Set<string>();
  for (const events of gt.values()) for (const e of events) present.add(e.label);
  const keep = scores.classes.filter((k) => present.has(k));
  if (keep.length === 0) throw new Error(`validation labels ${path.basename(set.audioDir)}: no events of any trained class`);
  const kept = new Set(keep);
  for (const [id, events] of gt) gt.set(id, events.filter((e) => kept.has(e.label)));
  // PSDS rejects overlapping same-class GT events; strong labels of mixed soundscapes have them (two drawer
  // events overlapping in validation_0025), so they are merged into one event first.
  const prep = prepareEvaluation(selectClasses(scores, keep), mergeConnectedEvents(gt), durations);
  const r = computePsds(prep, PSDS1);
  return { psds1Macro: r.macroPsdsAlphaSt0, psds1: r.psds, perClass: r.perClassPsds };
}

export async function validate(model: SedModel, set: LabelledSet, melOf: MelFn, band: { fminHz: number; fmaxHz: number }, cache: AudioCache, opts: { batchSize: number; medianWindow: number; signal?: AbortSignal }): Promise<ValidationResult> {
  const probs = await predictSegments(model, set, melOf, band, cache, opts.batchSize, opts.signal);
  return psds1Of(scoreTables(set, probs, opts.medianWindow), set);
}

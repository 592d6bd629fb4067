/**
 * The detection pipeline (MODEL_SPEC §5): decode → 16 kHz mono → 10 s chunks (last zero-padded) →
 * log-mel → model → sigmoid → per-class median filter over the whole file → events per threshold.
 * Streams the file chunk by chunk, so memory stays bounded for files of any length.
 */
import * as tf from '@tensorflow/tfjs-core';
import { probeAudio, streamChunks, type AudioChunk } from '../audio/index';
import type { LoadedCheckpoint } from '../checkpoint/index';
import { computeMel } from '../frontend/mel';
import { decodeEvents, type SedEvent } from './events';
import { medianFilter } from './medianFilter';
import { readBack } from '../backend/gpuErrors';

/** Seconds per output frame: 4 × the 160-sample hop at 16 kHz. */
export const FRAME_SECONDS = 0.04;
const CHUNK_SECONDS = 10;

export interface DetectOptions {
  /** Decision thresholds; one event list per threshold (default: the checkpoint's). */
  thresholds?: number[];
  /** Median filter length in frames (default: the checkpoint's, 9). 1 disables it. */
  medianWindow?: number;
  /** Restrict the output to these class names (default: all the model's classes). */
  classes?: string[];
  /** Chunks per forward pass. */
  batchChunks?: number;
  /** Runs the model part on another runtime (engine/onnx); default: the checkpoint's tfjs model. */
  scorer?: ChunkScorer;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface DetectResult {
  file: string;
  durationSeconds: number;
  frameSeconds: number;
  classes: string[];
  /** Number of frames covering the audio (ceil(duration / 0.04)). */
  frames: number;
  /** Median-filtered probabilities, [frames, classes] row-major. */
  scores: Float32Array;
  thresholds: number[];
  events: SedEvent[];
}

/** Column indices of `wanted` in `all`; unknown names are an error listing the valid ones. */
export function selectClasses(all: string[], wanted: string[] | undefined): number[] {
  if (!wanted || wanted.length === 0) return all.map((_, i) => i);
  return wanted.map((name) => {
    const i = all.indexOf(name);
    if (i < 0) throw new Error(`Unknown class '${name}'. Valid classes: ${all.join(', ')}`);
    return i;
  });
}

export function defaultThresholds(ckpt: LoadedCheckpoint): number[] {
  return [...new Set(ckpt.meta.postprocessing.thresholds)].sort((a, b) => a - b);
}

/** The model part on another runtime: mel data [b,128,T] (our [b,128,T,1]) → strong logits [b·T/4, C]. */
export interface ChunkScorer {
  readonly runtime: string;
  strongLogits(mel: Float32Array, batch: number, frames: number): Promise<Float32Array>;
}

/** Runs the model over a batch of chunks: [b, chunkSamples] → probabilities [b·250, C]. */
async function scoreChunks(ckpt: LoadedCheckpoint, chunks: AudioChunk[], scorer?: ChunkScorer): Promise<Float32Array> {
  if (scorer) {
    const mel = tf.tidy(() => computeMel(tf.stack(chunks.map((c) => tf.tensor1d(c.samples))) as tf.Tensor2D));
    let data: Float32Array;
    try {
      data = await readBack(mel, 'mel spectrogram');
    } finally {
      mel.dispose();
    }
    const probs = await scorer.strongLogits(data, chunks.length, mel.shape[2]);
    for (let i = 0; i < probs.length; i++) probs[i] = 1 / (1 + Math.exp(-probs[i]));
    return probs;
  }
  const probs = tf.tidy(() => {
    const wave = tf.stack(chunks.map((c) => tf.tensor1d(c.samples))) as tf.Tensor2D;
    const { strongLogits } = ckpt.model.forward(computeMel(wave), { training: false });
    return tf.sigmoid(strongLogits);
  });
  try {
    return await readBack(probs, 'detection');
  } finally {
    probs.dispose();
  }
}

/** Detects sound events in one audio file with a loaded checkpoint. */
export async function detectFile(file: string, ckpt: LoadedCheckpoint, opts: DetectOptions = {}): Promise<DetectResult> {
  const info = await probeAudio(file);
  const columns = selectClasses(ckpt.classes, opts.classes);
  const numClasses = ckpt.classes.length;
  const framesPerChunk = Math.round(CHUNK_SECONDS / FRAME_SECONDS);
  const totalChunks = Math.ceil(info.durationSeconds / CHUNK_SECONDS);
  const frames = Math.min(totalChunks * framesPerChunk, Math.ceil(info.durationSeconds / FRAME_SECONDS - 1e-9));
  const raw = new Float32Array(frames * columns.length);
  const batchChunks = opts.batchChunks ?? 8;

  let frameCursor = 0;
  let done = 0;
  const flush = async (batch: AudioChunk[]) => {
    const probs = await scoreChunks(ckpt, batch, opts.scorer);
    for (let row = 0; row < batch.length * framesPerChunk && frameCursor < frames; row++, frameCursor++) {
      for (let j = 0; j < columns.length; j++) raw[frameCursor * columns.length + j] = probs[row * numClasses + columns[j]];
    }
    done += batch.length;
    opts.onProgress?.(done, totalChunks);
  };
  let batch: AudioChunk[] = [];
  for await (const chunk of streamChunks(file, { chunkSeconds: CHUNK_SECONDS })) {
    if (opts.signal?.aborted) throw new Error(`${file}: detection cancelled`);
    batch.push(chunk);
    if (batch.length === batchChunks) {
      await flush(batch);
      batch = [];
    }
  }
  if (batch.length) await flush(batch);

  const classes = columns.map((i) => ckpt.classes[i]);
  const window = opts.medianWindow ?? ckpt.meta.postprocessing.medianWindowFrames;
  const scores = window > 1 ? medianFilter(raw, frames, classes.length, window) : raw;
  const thresholds = opts.thresholds?.length ? opts.thresholds : defaultThresholds(ckpt);
  const events = decodeEvents(scores, frames, classes, thresholds, { frameSeconds: FRAME_SECONDS, durationSeconds: info.durationSeconds });
  return { file, durationSeconds: info.durationSeconds, frameSeconds: FRAME_SECONDS, classes, frames, scores, thresholds, events };
}

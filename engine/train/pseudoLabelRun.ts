/**
 * `sed pseudo-label`: run a teacher checkpoint over audio files and store its frame-wise probabilities
 * (evaluation frontend, 10 s chunks, 40 ms frames) as pseudo-label files for KD training.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadCheckpoint } from '../checkpoint/index';
import { collectAudioFiles } from '../detect/audioFiles';
import { AudioCache, fileHash } from './cache';
import { defaultDecode, SEGMENT_SAMPLES } from './data';
import { FRAMES_PER_SEGMENT } from './labels';
import { writePseudoLabels } from './pseudoLabels';
import { defaultMicroBatch } from './trainer';
import type { MelFn } from './validation';
import { readBack } from '../backend/gpuErrors';

export interface PseudoLabelOptions {
  /** Teacher checkpoint folder. */
  teacher: string;
  /** Audio files or folders. */
  inputs: string[];
  outDir: string;
  batchSize?: number;
  cacheDir?: string;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, file: string) => void;
  melFn?: MelFn;
  decode?: (file: string) => Promise<Float32Array>;
}

export async function writeTeacherPseudoLabels(o: PseudoLabelOptions): Promise<{ outDir: string; files: string[] }> {
  const files = collectAudioFiles(o.inputs);
  if (files.length === 0) throw new Error(`no audio files in ${o.inputs.join(', ')}`);
  const byName = new Map<string, string>();
  for (const f of files) {
    const prev = byName.get(path.basename(f));
    if (prev) throw new Error(`two inputs share the file name '${path.basename(f)}' (${prev}, ${f}); pseudo-label files are keyed by file name`);
    byName.set(path.basename(f), f);
  }
  const { model, classes, meta } = loadCheckpoint(o.teacher);
  const melOf: MelFn = o.melFn ?? (await import('../frontend/mel')).computeMel;
  const band = { fminHz: meta.frontend.fminHz, fmaxHz: meta.frontend.fmaxHz };
  const cache = new AudioCache(o.cacheDir);
  const batch = o.batchSize ?? defaultMicroBatch(model.config.widthMult, 8);
  const written: string[] = [];
  fs.mkdirSync(o.outDir, { recursive: true });
  try {
    for (const [k, file] of files.entries()) {
      if (o.signal?.aborted) throw new Error('pseudo-labelling cancelled');
      const wave = await cache.waveform(file, o.decode ?? defaultDecode);
      const chunks = Math.max(1, Math.ceil(wave.length / SEGMENT_SAMPLES));
      const probs = new Float32Array(chunks * FRAMES_PER_SEGMENT * classes.length);
      for (let c0 = 0; c0 < chunks; c0 += batch) {
        const n = Math.min(batch, chunks - c0);
        const host = new Float32Array(n * SEGMENT_SAMPLES);
        host.set(wave.subarray(c0 * SEGMENT_SAMPLES, Math.min(wave.length, (c0 + n) * SEGMENT_SAMPLES)));
        const p = tf.tidy(() => tf.sigmoid(model.forward(melOf(tf.tensor2d(host, [n, SEGMENT_SAMPLES]), band), { training: false }).strongLogits));
        probs.set(await readBack(p, `pseudo-labels of ${file}`), c0 * FRAMES_PER_SEGMENT * classes.length);
        p.dispose();
      }
      written.push(writePseudoLabels(o.outDir, path.basename(file), probs, chunks * FRAMES_PER_SEGMENT, classes, { model: meta.model, teacher: path.resolve(o.teacher), source_sha256: fileHash(file) }));
      o.onProgress?.(k + 1, files.length, file);
    }
  } finally {
    model.dispose();
  }
  return { outDir: o.outDir, files: written };
}

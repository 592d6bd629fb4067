/**
 * `sed pseudo-label`: run a teacher checkpoint — or an ensemble, whose probabilities are averaged, as the
 * paper's teachers are — over audio files and store the frame-wise probabilities (evaluation frontend,
 * 10 s chunks, 40 ms frames) as pseudo-label files for KD training.
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
  /** Teacher checkpoint folder, or several (an ensemble: mean probabilities; same classes in the same order). */
  teacher: string | string[];
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
  const teacherDirs = typeof o.teacher === 'string' ? [o.teacher] : o.teacher;
  if (teacherDirs.length === 0) throw new Error('pseudo-labels need at least one teacher checkpoint');
  const teachers: Array<{ dir: string } & ReturnType<typeof loadCheckpoint>> = [];
  try {
    for (const dir of teacherDirs) teachers.push({ dir, ...loadCheckpoint(dir) });
    const { classes } = teachers[0];
    for (const t of teachers.slice(1)) {
      if (t.classes.join('\n') !== classes.join('\n')) {
        throw new Error(`ensemble teachers must share their classes in the same order: ${t.dir} has [${t.classes.join(', ')}], ${teachers[0].dir} has [${classes.join(', ')}]`);
      }
    }
    const melOf: MelFn = o.melFn ?? (await import('../frontend/mel')).computeMel;
    const cache = new AudioCache(o.cacheDir);
    const batch = o.batchSize ?? defaultMicroBatch(Math.max(...teachers.map((t) => t.model.config.widthMult)), 8);
    const written: string[] = [];
    fs.mkdirSync(o.outDir, { recursive: true });
    for (const [k, file] of files.entries()) {
      if (o.signal?.aborted) throw new Error('pseudo-labelling cancelled');
      const wave = await cache.waveform(file, o.decode ?? defaultDecode);
      const chunks = Math.max(1, Math.ceil(wave.length / SEGMENT_SAMPLES));
      const probs = new Float32Array(chunks * FRAMES_PER_SEGMENT * classes.length);
      for (let c0 = 0; c0 < chunks; c0 += batch) {
        const n = Math.min(batch, chunks - c0);
        const host = new Float32Array(n * SEGMENT_SAMPLES);
        host.set(wave.subarray(c0 * SEGMENT_SAMPLES, Math.min(wave.length, (c0 + n) * SEGMENT_SAMPLES)));
        // [n, 250, C] mean over teachers; each with its own frontend band.
        const p = tf.tidy(() => {
          const wav = tf.tensor2d(host, [n, SEGMENT_SAMPLES]);
          const each = teachers.map((t) => tf.sigmoid(t.model.forward(melOf(wav, { fminHz: t.meta.frontend.fminHz, fmaxHz: t.meta.frontend.fmaxHz }), { training: false }).strongLogits));
          return each.length === 1 ? each[0] : tf.div(tf.addN(each), each.length);
        });
        probs.set(await readBack(p, `pseudo-labels of ${file}`), c0 * FRAMES_PER_SEGMENT * classes.length);
        p.dispose();
      }
      written.push(writePseudoLabels(o.outDir, path.basename(file), probs, chunks * FRAMES_PER_SEGMENT, classes, {
        model: teachers.map((t) => t.meta.model).join(' + '),
        teacher: teachers.length === 1 ? path.resolve(teachers[0].dir) : JSON.stringify(teachers.map((t) => path.resolve(t.dir))),
        source_sha256: fileHash(file),
      }));
      o.onProgress?.(k + 1, files.length, file);
    }
    return { outDir: o.outDir, files: written };
  } finally {
    for (const t of teachers) t.model.dispose();
  }
}

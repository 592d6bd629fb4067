/**
 * Pseudo-label files: a teacher's frame-wise probabilities per clip, one safetensors file per audio
 * file (`<out>/<filename>.safetensors`, tensor `probs` [frames, C] at 40 ms, metadata `classes` (JSON
 * list), `model`, `source_sha256`). Written by `sed pseudo-label`, read as KD targets by training,
 * matched to the student's classes by name.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSafetensors, writeSafetensors } from '../io/safetensors';

export function pseudoLabelPath(dir: string, audioName: string): string {
  return path.join(dir, `${audioName}.safetensors`);
}

export function writePseudoLabels(dir: string, audioName: string, probs: Float32Array, frames: number, classes: string[], meta: Record<string, string>): string {
  if (probs.length !== frames * classes.length) throw new Error(`pseudo-labels for ${audioName}: ${probs.length} values for ${frames} frames × ${classes.length} classes`);
  const file = pseudoLabelPath(dir, audioName);
  writeSafetensors(file, new Map([['probs', { shape: [frames, classes.length], data: probs }]]), { ...meta, classes: JSON.stringify(classes) });
  return file;
}

export interface PseudoLabels {
  file: string;
  frames: number;
  /** [frames, C] in the requested class order. */
  probs: Float32Array;
}

/** Read the teacher probabilities for `audioName`, reordered to `classes`. */
export function readPseudoLabels(dir: string, audioName: string, classes: string[]): PseudoLabels {
  const file = pseudoLabelPath(dir, audioName);
  if (!fs.existsSync(file)) throw new Error(`pseudo-labels: ${file} not found (run 'sed pseudo-label' over the training audio first)`);
  const { tensors, metadata } = readSafetensors(file);
  const t = tensors.get('probs');
  if (!t || t.shape.length !== 2 || !(t.data instanceof Float32Array)) throw new Error(`${file}: no F32 'probs' [frames, classes] tensor`);
  let teacherClasses: string[];
  try {
    teacherClasses = JSON.parse(metadata.classes ?? '');
  } catch {
    throw new Error(`${file}: metadata lacks the 'classes' JSON list`);
  }
  if (teacherClasses.length !== t.shape[1]) throw new Error(`${file}: ${teacherClasses.length} class names for ${t.shape[1]} columns`);
  const index = new Map(teacherClasses.map((c, i) => [c, i]));
  const missing = classes.filter((c) => !index.has(c));
  if (missing.length) throw new Error(`${file}: the teacher has no output for ${missing.map((m) => `'${m}'`).join(', ')} (teacher classes: ${teacherClasses.join(', ')})`);
  const [frames, tc] = t.shape;
  const c = classes.length;
  const cols = classes.map((k) => index.get(k)!);
  const probs = new Float32Array(frames * c);
  for (let f = 0; f < frames; f++) for (let j = 0; j < c; j++) probs[f * c + j] = t.data[f * tc + cols[j]];
  return { file, frames, probs };
}

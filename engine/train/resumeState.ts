/**
 * The resume state: one safetensors file (`<out>/resume.safetensors`) holding every model parameter
 * and buffer (`param.<key>`), the Adam moments (`m.<key>`, `v.<key>`) and, in its metadata, the loop
 * position (epoch, batches done in it, optimizer step), the augmentation RNG state, the best score so
 * far and the history. One file written atomically, so model and optimizer can never disagree.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { readSafetensors, writeSafetensors } from '../io/safetensors';
import type { EngineSedModel } from '../models/index';
import type { GroupedAdam, HostArray } from './optimizer';

export const RESUME_FILE = 'resume.safetensors';

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  lr: number;
  seconds: number;
  psds1?: number;
  perClassPsds?: Record<string, number>;
}

export interface LoopPosition {
  /** 0-based epoch in progress (== epochs done when batchInEpoch is 0). */
  epoch: number;
  /** Batches of `epoch` already consumed. */
  batchInEpoch: number;
  optimizerStep: number;
  rngState: number;
  /** Loss sum/count of the partial epoch. */
  lossSum: number;
  lossCount: number;
  bestScore: number | null;
  bestEpoch: number | null;
  history: EpochRecord[];
  /** Recipe fields that must not change across a resume (model, classes, batch, schedule…). */
  fingerprint: Record<string, unknown>;
}

export function resumePath(outDir: string): string {
  return path.join(outDir, RESUME_FILE);
}

export async function saveResumeState(outDir: string, model: EngineSedModel, opt: GroupedAdam, pos: LoopPosition): Promise<void> {
  const tensors = new Map<string, HostArray>();
  for (const [key, v] of model.params) tensors.set(`param.${key}`, { shape: v.shape.slice(), data: Float32Array.from((await v.data()) as Float32Array) });
  const { tensors: moments } = await opt.state();
  for (const [k, t] of moments) tensors.set(k, t);
  // BN counters set the running-statistics momentum: without them a resumed run would restart its averages.
  const bnCounters = JSON.stringify(Object.fromEntries(model.batchNormCounters));
  writeSafetensors(resumePath(outDir), tensors, { format: 'sed-studio-train-state', version: '1', position: JSON.stringify({ ...pos, optimizerStep: opt.step }), bnCounters });
}

/** Restore model + optimizer from the state file and return the loop position. */
export function loadResumeState(outDir: string, model: EngineSedModel, opt: GroupedAdam, fingerprint: Record<string, unknown>): LoopPosition {
  const file = resumePath(outDir);
  if (!fs.existsSync(file)) throw new Error(`--resume: ${file} not found (no earlier run in ${outDir})`);
  const { tensors, metadata } = readSafetensors(file);
  if (metadata.format !== 'sed-studio-train-state') throw new Error(`${file}: not a SED Studio training state`);
  const pos = JSON.parse(metadata.position) as LoopPosition;
  for (const [k, want] of Object.entries(pos.fingerprint)) {
    const have = fingerprint[k];
    if (JSON.stringify(have) !== JSON.stringify(want)) {
      throw new Error(`--resume: ${file} was written with ${k} = ${JSON.stringify(want)}, this run has ${JSON.stringify(have)}; resume with the same settings or start a new --out folder`);
    }
  }
  for (const [key, v] of model.params) {
    const t = tensors.get(`param.${key}`);
    if (!t) throw new Error(`${file}: lacks parameter '${key}'`);
    if (t.shape.join(',') !== v.shape.join(',')) throw new Error(`${file}: parameter '${key}' has shape [${t.shape}], the model needs [${v.shape}]`);
    tf.tidy(() => v.assign(tf.tensor(t.data as Float32Array, v.shape)));
  }
  for (const [key, n] of Object.entries(JSON.parse(metadata.bnCounters ?? '{}') as Record<string, number>)) {
    if (!model.batchNormCounters.has(key)) throw new Error(`${file}: BatchNorm counter '${key}' is not part of the model`);
    model.batchNormCounters.set(key, n);
  }
  opt.loadState(pos.optimizerStep, tensors as Map<string, { shape: number[]; data: Float32Array }>, file);
  return pos;
}

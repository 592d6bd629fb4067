/** W_d = `seq_model.0`: Linear(E→D) with bias, Identity (no keys) when E == D (MODEL_SPEC §3.7). */
import type * as tf from '@tensorflow/tfjs-core';
import type { ParamGetter, ParamSpec } from '../params';
import { linearP, linearSpecs } from '../layers';

export function projectionSpecs(E: number, D: number, std?: number): ParamSpec[] {
  return E === D ? [] : linearSpecs('seq_model.0', E, D, { std });
}

export function project(p: ParamGetter, E: number, D: number, z: tf.Tensor3D): tf.Tensor3D | undefined {
  return E === D ? undefined : linearP(p, 'seq_model.0', z);
}

export function projectionMacs(E: number, D: number, T: number): number {
  return E === D ? 0 : T * E * D;
}

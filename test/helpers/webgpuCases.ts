/**
 * What the webgpu kernel suites share: the backend they run on (the GPU, or Mesa's software adapter on
 * machines without one), seeded host-drawn op cases, and the "one dispatch, equal to the cpu backend" check.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../engine/backend/select';
import { countDispatches } from './webgpuDispatches';

/** Switch to webgpu; without a GPU device node, through Dawn's OpenGL ES path on Mesa (Vulkan rejects lavapipe). */
export async function initTestWebgpu(): Promise<void> {
  if (!fs.existsSync('/dev/dri') && !fs.readdirSync('/dev').some((d) => /^nvidia\d/.test(d))) {
    process.env.SED_WEBGPU_BACKEND ??= 'opengles';
    process.env.EGL_PLATFORM ??= 'surfaceless';
  }
  assert.equal((await initBackend('webgpu')).backend, 'webgpu');
}

let seed = 1;
/** Seeded normal values: the same on every backend for the same draw order. */
export const rand = (shape: number[], scale = 1): tf.Tensor => tf.randomNormal(shape, 0, scale, 'float32', seed++);
/** Seeded uniform values in [0, 1) (gates), drawn in the same sequence as `rand`. */
export const randUnit = (shape: number[]): tf.Tensor => tf.randomUniform(shape, 0, 1, 'float32', seed++);

/** Inputs are drawn on the host (same values on every backend); `op` is what the test counts. */
export interface OpCase {
  name: string;
  inputs: () => tf.Tensor[];
  op: (inputs: tf.Tensor[]) => tf.Tensor;
}

/** Host-drawn inputs of a case, made into tensors of the active backend. */
export function caseInputs(c: OpCase, index: number): tf.Tensor[] {
  seed = 1000 * (index + 1); // seed 0 would mean unseeded
  return c.inputs();
}

/** max |actual − ref| / max(1, max |ref|). */
export function maxRelErr(actual: ArrayLike<number>, ref: ArrayLike<number>): number {
  let scale = 1;
  for (let i = 0; i < ref.length; i++) scale = Math.max(scale, Math.abs(ref[i]));
  let m = 0;
  for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(actual[i] - ref[i]));
  return m / scale;
}

export type CaseResults = Map<string, { shape: number[]; data: Float32Array }>;

/** Every case's result on the active backend (the cpu reference, taken in `before`). */
export async function caseResults(cases: OpCase[]): Promise<CaseResults> {
  const out: CaseResults = new Map();
  for (const [i, c] of cases.entries()) {
    const inputs = caseInputs(c, i);
    const t = c.op(inputs);
    out.set(c.name, { shape: t.shape, data: (await t.data()) as Float32Array });
    tf.dispose([t, ...inputs]);
  }
  return out;
}

/**
 * One `it` per case: a single dispatch on webgpu and the cpu result within 1e-5 (relative to max(1, max |ref|)).
 * `reference` is read when the tests run (suites fill it in `before`).
 */
export function itRunsInOneDispatchAsCpu(cases: OpCase[], reference: () => CaseResults): void {
  for (const [i, c] of cases.entries()) {
    it(`${c.name}: one dispatch, as the cpu backend`, async () => {
      const inputs = caseInputs(c, i);
      const { result, dispatches } = countDispatches(() => c.op(inputs));
      const ref = reference().get(c.name)!;
      assert.deepEqual(result.shape, ref.shape);
      const err = maxRelErr(await result.data(), ref.data);
      tf.dispose([result, ...inputs]);
      assert.equal(dispatches, 1);
      assert.ok(err < 1e-5, `max |Δ| / max(1, max |ref|) = ${err}`);
    });
  }
}

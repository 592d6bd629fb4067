/**
 * The wasm data-movement kernels that read through heap views (engine/backend/wasmCopyKernels.ts) and
 * the Identity and same-dtype Cast that share data, against the cpu backend: odd shapes, every axis, other dtypes.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '../../engine/backend/select';
import { WASM_KERNEL_OVERRIDES } from '../../engine/backend/wasmKernels';

function values(shape: number[], seed: number): number[] {
  let s = seed;
  return Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (s = (s * 48271) % 2147483647) % 1000);
}

/** `fn` on both backends with tensors built from the same host data; the results must be identical. */
async function sameOnBoth(label: string, fn: () => tf.Tensor | tf.Tensor[]): Promise<void> {
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    const out = tf.tidy(fn);
    const list = Array.isArray(out) ? out : [out];
    const res = await Promise.all(list.map(async (t) => ({ shape: t.shape, dtype: t.dtype, data: Array.from(await t.data()) })));
    tf.dispose(list);
    return res;
  };
  assert.deepEqual(await run('wasm'), await run('cpu'), label);
}

describe('wasm copy kernels (vs cpu backend)', function () {
  this.timeout(60000);
  before(async () => {
    await initBackend('wasm');
  });
  after(async () => {
    await tf.setBackend('wasm');
  });

  it('replace Slice, Unpack, Tile, GatherV2, PadV2, Reverse, Identity and Cast on wasm', () => {
    for (const name of ['Slice', 'Unpack', 'Tile', 'GatherV2', 'PadV2', 'Reverse', 'Identity', 'Cast']) assert.ok(WASM_KERNEL_OVERRIDES.includes(name), name);
  });

  it('Slice: partial and whole axes, ranks 1–5, -1 sizes, empty, int32 and bool', async () => {
    const cases: Array<[number[], number[], number[]]> = [
      [[7], [2], [4]],
      [[5, 6], [1, 0], [3, -1]],
      [[5, 6], [0, 2], [5, 3]],
      [[3, 4, 5], [1, 1, 1], [2, 2, 3]],
      [[4, 7, 9, 3], [1, 2, 3, 0], [2, 4, 5, -1]],
      [[4, 7, 9, 3], [0, 0, 0, 1], [-1, -1, -1, 1]],
      [[4, 7, 9, 1], [2, 1, 1, 0], [2, 6, 8, 1]],
      [[2, 3, 4, 5, 6], [1, 0, 2, 1, 3], [1, 3, 2, 3, 2]],
      [[4, 5], [1, 2], [0, 2]],
    ];
    for (const [shape, begin, size] of cases) {
      await sameOnBoth(`slice ${shape} ${begin} ${size}`, () => tf.slice(tf.tensor(values(shape, 3), shape), begin, size));
      await sameOnBoth(`slice int32 ${shape}`, () => tf.slice(tf.tensor(values(shape, 5), shape, 'int32'), begin, size));
    }
    await sameOnBoth('slice bool', () => tf.slice(tf.greater(tf.tensor(values([4, 5], 7), [4, 5]), 500), [1, 1], [2, 3]));
  });

  it('Unpack (unstack) along every axis', async () => {
    const shape = [3, 4, 5, 2];
    for (let axis = 0; axis < shape.length; axis++) await sameOnBoth(`unstack axis ${axis}`, () => tf.unstack(tf.tensor(values(shape, 11), shape), axis));
    await sameOnBoth('unstack axis -1 int32', () => tf.unstack(tf.tensor(values([3, 2], 13), [3, 2], 'int32'), -1));
  });

  it('Tile: broadcasts of size-1 axes, repeats of whole axes, ranks 1–4, int32', async () => {
    const cases: Array<[number[], number[]]> = [
      [[4, 1, 1, 3], [1, 5, 7, 1]],
      [[2, 3], [3, 2]],
      [[5], [4]],
      [[1], [9]],
      [[2, 1, 3], [2, 4, 1]],
      [[3, 2, 2, 1], [1, 1, 1, 1]],
      [[1, 1], [3, 17]],
    ];
    for (const [shape, reps] of cases) {
      await sameOnBoth(`tile ${shape} × ${reps}`, () => tf.tile(tf.tensor(values(shape, 17), shape), reps));
      await sameOnBoth(`tile int32 ${shape} × ${reps}`, () => tf.tile(tf.tensor(values(shape, 19), shape, 'int32'), reps));
    }
    await sameOnBoth('broadcastTo a scalar', () => tf.broadcastTo(tf.scalar(2.5), [3, 4]));
  });

  it('GatherV2: axes 0–3, batchDims 1, repeated indices, int32 data', async () => {
    const shape = [3, 4, 6, 2];
    const idx = [5, 0, 0, 3, 1];
    for (let axis = 0; axis < shape.length; axis++) {
      const ids = idx.map((i) => i % shape[axis]);
      await sameOnBoth(`gather axis ${axis}`, () => tf.gather(tf.tensor(values(shape, 23), shape), tf.tensor1d(ids, 'int32'), axis));
    }
    await sameOnBoth('gather axis 2 batchDims 1 (per-clip time roll)', () =>
      tf.gather(tf.tensor(values(shape, 29), shape), tf.tensor2d([5, 4, 3, 2, 1, 0, 0, 1, 2, 3, 4, 5, 2, 2, 2, 2, 2, 2], [3, 6], 'int32'), 2, 1));
    await sameOnBoth('gather int32', () => tf.gather(tf.tensor(values([4, 3], 31), [4, 3], 'int32'), tf.tensor1d([3, 1], 'int32'), 0));
    await tf.setBackend('wasm');
    assert.throws(() => tf.gather(tf.tensor1d([1, 2, 3]), tf.tensor1d([3], 'int32')), /index value 3 is not in \[0, 2\]/);
  });

  it('PadV2: conv paddings, uneven sides, zero insertion between rows (6-D), a constant, int32', async () => {
    const cases: Array<[number[], Array<[number, number]>, number]> = [
      [[2, 7, 9, 1], [[0, 0], [1, 1], [1, 1], [0, 0]], 0],
      [[2, 5, 6, 3], [[0, 0], [2, 0], [0, 3], [0, 0]], 0],
      [[2, 3, 1, 4, 1, 5], [[0, 0], [0, 0], [0, 1], [0, 0], [0, 1], [0, 0]], 0],
      [[4, 3], [[1, 2], [0, 1]], -1.5],
      [[6], [[3, 0]], 2],
      [[1, 2, 3], [[0, 0], [0, 0], [0, 0]], 0],
    ];
    for (const [shape, paddings, value] of cases) {
      await sameOnBoth(`pad ${shape} ${JSON.stringify(paddings)}`, () => tf.pad(tf.tensor(values(shape, 37), shape), paddings, value));
      await sameOnBoth(`pad int32 ${shape}`, () => tf.pad(tf.tensor(values(shape, 41), shape, 'int32'), paddings, Math.round(value)));
    }
  });

  it('Reverse: each axis, several axes, the last axis, size-1 axes, int32', async () => {
    const shape = [3, 4, 1, 5];
    for (const dims of [[0], [1], [2], [3], [0, 1], [1, 3], [0, 1, 2, 3], [-3]]) {
      await sameOnBoth(`reverse [${dims}]`, () => tf.reverse(tf.tensor(values(shape, 43), shape), dims));
    }
    await sameOnBoth('reverse 1-D int32', () => tf.reverse(tf.tensor(values([7], 47), [7], 'int32')));
    await sameOnBoth('reverse a filter [k,k,c,1] over its taps', () => tf.reverse(tf.tensor(values([5, 5, 3, 1], 53), [5, 5, 3, 1]), [0, 1]));
    await sameOnBoth('reverse the last axis of wide rows (the mel frontend\'s window fold)', () => tf.reverse(tf.tensor(values([6, 200], 59), [6, 200]), 1));
    await sameOnBoth('reverse the last axis and a leading one', () => tf.reverse(tf.tensor(values([3, 2, 17], 61), [3, 2, 17]), [0, 2]));
  });

  it('Cast: same dtype shares the data (the source may go first), other dtypes convert as on cpu', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const x = tf.tensor([1.5, -2, 3, 4], [2, 2]);
    const y = tf.cast(x, 'float32');
    x.dispose();
    assert.deepEqual(Array.from(await y.data()), [1.5, -2, 3, 4]);
    y.dispose();
    assert.equal(tf.memory().numTensors, before);
    const shape = [3, 5];
    await sameOnBoth('cast float32 → int32', () => tf.cast(tf.sub(tf.tensor(values(shape, 67), shape), 500.5), 'int32'));
    await sameOnBoth('cast int32 → float32', () => tf.cast(tf.tensor(values(shape, 71), shape, 'int32'), 'float32'));
    await sameOnBoth('cast int32 → int32', () => tf.cast(tf.tensor(values(shape, 73), shape, 'int32'), 'int32'));
  });

  it('Identity shares the data: a clone survives its source and reads the same values', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const x = tf.tensor([1, 2, 3, 4], [2, 2]);
    const y = tf.clone(x);
    x.dispose();
    assert.deepEqual(Array.from(await y.data()), [1, 2, 3, 4]);
    y.dispose();
    assert.equal(tf.memory().numTensors, before);
  });
});

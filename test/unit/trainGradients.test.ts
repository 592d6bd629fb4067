/**
 * The training-path gradient replacements match plain autodiff: Sum/Mean gradients expanded on the device
 * and the Relu6 mask from steps (engine/train/gradients.ts), and the closed-form BatchNorm backward
 * (fmn.ts batchNormTrain), on the wasm and cpu backends.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import '../../engine/train/gradients';
import { initBackend } from '../../engine/backend/select';
import { batchNormTrain } from '../../engine/models/fmn';

function maxAbs(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** BatchNorm through tfjs' moments and autodiff: the reference for the fused op. */
function batchNormAutodiff(y: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D): tf.Tensor4D {
  const m = tf.mean(y, [0, 1, 2]);
  const v = tf.mean(tf.square(tf.sub(y, m)), [0, 1, 2]);
  return tf.add(tf.mul(tf.div(tf.sub(y, m), tf.sqrt(tf.add(v, 1e-3))), gamma), beta) as tf.Tensor4D;
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`training gradients (${backend})`, () => {
    before(async () => {
      await initBackend(backend);
    });

    it('Sum and Mean gradients broadcast dy over the reduced axes (keepDims or not)', () => {
      const x = tf.randomNormal([2, 3, 4, 5], 0, 1, 'float32', 3);
      const w = tf.randomNormal([2, 1, 4, 1], 0, 1, 'float32', 4);
      const gSum = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.sum(t, [1, 3], true), w)))(x);
      const gMean = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.mean(t, [1, 3]), tf.reshape(w, [2, 4]))))(x);
      assert.ok(maxAbs(gSum, tf.broadcastTo(w, [2, 3, 4, 5])) < 1e-6);
      assert.ok(maxAbs(gMean, tf.div(tf.broadcastTo(w, [2, 3, 4, 5]), 15)) < 1e-6);
      assert.ok(maxAbs(tf.grad((t: tf.Tensor) => tf.mean(t))(x), tf.fill([2, 3, 4, 5], 1 / 120)) < 1e-9);
    });

    it('Relu6 gradient is dy on 0 < x ≤ 6 and 0 elsewhere (tfjs: lessEqual(x, 6)·step(x)), boundaries included', () => {
      const x = tf.tensor1d([-7, -1e-3, 0, 1e-3, 2.5, 6 - 1e-3, 6, 6 + 1e-3, 9]);
      const dy = tf.tensor1d([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const g = tf.grad((t: tf.Tensor) => tf.relu6(t))(x, dy);
      assert.deepEqual(Array.from(g.dataSync()), [0, 0, 0, 4, 5, 6, 7, 0, 0]);
      const r = tf.randomNormal([3, 4, 5], 3, 4, 'float32', 8);
      const viaHardswish = tf.grad((t: tf.Tensor) => tf.sum(tf.div(tf.mul(t, tf.relu6(tf.add(t, 3))), 6)))(r);
      const expected = tf.tidy(() => tf.where(tf.less(r, -3), tf.zerosLike(r), tf.where(tf.greater(r, 3), tf.onesLike(r), tf.div(tf.add(tf.mul(r, 2), 3), 6))));
      assert.ok(maxAbs(viaHardswish, expected) < 1e-6, 'hardswish derivative');
    });

    it('batchNormTrain matches autodiff BatchNorm: output, dx, dγ, dβ and the recorded statistics', () => {
      const y = tf.add(tf.mul(tf.randomNormal([3, 4, 5, 6], 0, 1, 'float32', 1), 2), 0.5) as tf.Tensor4D;
      const gamma = tf.randomNormal([6], 1, 0.2, 'float32', 2) as tf.Tensor1D;
      const beta = tf.randomNormal([6], 0, 0.2, 'float32', 5) as tf.Tensor1D;
      const up = tf.randomNormal([3, 4, 5, 6], 0, 1, 'float32', 6);
      let recorded: [tf.Tensor1D, tf.Tensor1D] | undefined;
      const fused = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(batchNormTrain(a as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, (m, v) => (recorded = [m, v])), up)));
      const plain = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(batchNormAutodiff(a as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D), up)));
      const gf = fused([y, gamma, beta]);
      const gp = plain([y, gamma, beta]);
      ['dx', 'dγ', 'dβ'].forEach((name, i) => assert.ok(maxAbs(gf[i], gp[i]) < 2e-5, `${name}: ${maxAbs(gf[i], gp[i])}`));
      const out = batchNormTrain(y, gamma, beta, () => undefined);
      assert.ok(maxAbs(out, batchNormAutodiff(y, gamma, beta)) < 2e-5);
      const n = 3 * 4 * 5;
      assert.ok(maxAbs(recorded![0], tf.mean(y, [0, 1, 2])) < 1e-5);
      const unbiased = tf.div(tf.sum(tf.square(tf.sub(y, tf.mean(y, [0, 1, 2]))), [0, 1, 2]), n - 1);
      assert.ok(maxAbs(recorded![1], unbiased) < 1e-4);
    });
  });
}

import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../engine/backend/select';
import { createModel, parseModelName } from '../../engine/models/index';

describe('models: no tensor leaks', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('createModel holds exactly one tensor per parameter/buffer, and dispose frees them all', () => {
    const before = tf.memory().numTensors;
    const model = createModel(parseModelName('fmn04+tf:64', 5), { seed: 1 });
    assert.equal(tf.memory().numTensors - before, model.params.size);
    model.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it('a training forward + applyBatchNormUpdate leaves the tensor count unchanged', () => {
    const model = createModel(parseModelName('fmn04', 3), { seed: 1 });
    const mel = tf.randomNormal([1, 128, 200, 1]) as tf.Tensor4D;
    const step = () => {
      tf.tidy(() => model.forward(mel, { training: true }).strongLogits).dispose();
      return model.applyBatchNormUpdate();
    };
    step();
    const before = tf.memory().numTensors;
    assert.ok(step() > 0);
    assert.equal(tf.memory().numTensors, before);
    mel.dispose();
    model.dispose();
  });
});

/**
 * Multi-output shaders in tfjs-webgpu's command stream (engine/backend/webgpuMultiOutput.ts): both outputs
 * right, with uniforms; a dispatch wider than one grid dimension (2-D); inputs disposed before the queue is
 * submitted still read correctly (the backend defers releasing their buffers); no tensors leak; as a kernel
 * under tf.profile. Runs on
 * Mesa's software adapter without a GPU.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../engine/backend/select';
import { runMultiOutput, type MultiOutputShader } from '../../engine/backend/webgpuMultiOutput';
import { initTestWebgpu } from '../helpers/webgpuCases';

const SHADER: MultiOutputShader = {
  key: 'testScaleAndShift',
  outputs: ['scaled', 'shifted'],
  inputs: ['x', 'y'],
  uniforms: [['n', 'i32'], ['scale', 'f32']],
  body: `
      if (index >= uniforms.n) { return; }
      scaled[index] = x[index] * uniforms.scale;
      shifted[index] = x[index] + y[index];`,
};

/** The kernel as tfjs would run it: inputs in, two tensors out. */
function scaleAndShift(x: tf.Tensor, y: tf.Tensor, scale: number): tf.Tensor[] {
  const backend = tf.backend();
  const infos = runMultiOutput(backend, SHADER, [x, y], [x.shape, x.shape], [x.size, scale], x.size);
  return infos.map((info) => tf.engine().makeTensorFromTensorInfo(info));
}

describe('multi-output webgpu shaders (software adapter on CI)', function () {
  this.timeout(300_000);

  before(async () => {
    await initTestWebgpu();
  });

  after(async () => {
    await initBackend('wasm');
  });

  for (const n of [1, 1000, 4_300_000]) {
    it(`${n} elements${n > 65535 * 64 ? ' (more workgroups than one grid dimension holds)' : ''}: both outputs`, async () => {
      const hx = Float32Array.from({ length: n }, (_, i) => (i % 1013) - 500);
      const hy = Float32Array.from({ length: n }, (_, i) => (i % 7) * 0.5);
      const before = tf.memory().numTensors;
      const x = tf.tensor1d(hx);
      const y = tf.tensor1d(hy);
      const [scaled, shifted] = scaleAndShift(x, y, -1.5);
      tf.dispose([x, y]); // before the queue is submitted: the backend must keep their buffers until then
      const [a, b] = [(await scaled.data()) as Float32Array, (await shifted.data()) as Float32Array];
      assert.equal(a.length, n);
      for (let i = 0; i < n; i++) {
        if (a[i] !== hx[i] * -1.5 || b[i] !== hx[i] + hy[i]) assert.fail(`element ${i}: ${a[i]}, ${b[i]}`);
      }
      tf.dispose([scaled, shifted]);
      assert.equal(tf.memory().numTensors, before);
    });
  }

  it('under tf.profile (a pass of its own, timed where the device has timestamps): same outputs, the kernel listed', async () => {
    const kernelName = 'SedTestScaleAndShift';
    tf.registerKernel({ kernelName, backendName: 'webgpu', kernelFunc: ({ inputs, backend }) => runMultiOutput(backend, SHADER, [inputs.x!, inputs.y!], [inputs.x!.shape, inputs.x!.shape], [tf.util.sizeFromShape(inputs.x!.shape), 2], tf.util.sizeFromShape(inputs.x!.shape)) });
    try {
      const x = tf.tensor1d([1, 2, 3]);
      const y = tf.tensor1d([10, 20, 30]);
      let outs: tf.Tensor[] = [];
      const info = await tf.profile(() => {
        outs = tf.engine().runKernel(kernelName, { x, y }, {}) as tf.Tensor[];
        return outs;
      });
      assert.deepEqual(info.kernels.map((k) => k.name), [kernelName]);
      assert.deepEqual([...(await outs[0].data())], [2, 4, 6]);
      assert.deepEqual([...(await outs[1].data())], [11, 22, 33]);
      tf.dispose([x, y, ...outs]);
    } finally {
      tf.unregisterKernel(kernelName, 'webgpu');
    }
  });

  it('names the shader when the inputs or outputs do not match its declaration, or an output is empty', () => {
    const x = tf.tensor1d([1, 2]);
    assert.throws(() => runMultiOutput(tf.backend(), SHADER, [x], [[2], [2]], [2, 1], 2), /testScaleAndShift: 1 inputs and 2 outputs given for 2 and 2/);
    assert.throws(() => runMultiOutput(tf.backend(), SHADER, [x, x], [[2], [2]], [2], 2), /testScaleAndShift: 1 uniform values for 2 uniforms/);
    assert.throws(() => runMultiOutput(tf.backend(), SHADER, [x, x], [[2], [0]], [2, 1], 2), /testScaleAndShift: an output has no elements/);
    x.dispose();
  });
});

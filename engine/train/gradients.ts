/**
 * tfjs-core's gradients, with Sum, Mean and Relu6 replaced. Sum/Mean: tfjs broadcasts their upstream gradient by
 * multiplying with `ones(x.shape)`, a host array filled and uploaded on every backward pass. For BatchNorm
 * statistics over [B, F, T, C] activations that was half the JavaScript time of a webgpu training step
 * (measured on an H200, bench/RESULTS.md). `broadcastTo` expands on the device instead. Relu6 (hardswish):
 * tfjs masks with `lessEqual(x, 6)` and a bool→float cast, which the wasm backend runs ~20× slower than
 * arithmetic (an element-wise generic loop); step(x) − step(x − 6) is the same mask (1 on 0 < x ≤ 6).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';

function reduceGrad(kernelName: 'Sum' | 'Mean'): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const axes = tf.util.parseAxisParam((attrs as unknown as { axis: number | number[] }).axis, x.shape);
      return {
        x: () => {
          const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
          const g = tf.broadcastTo(tf.reshape(dy as tf.Tensor, kept), x.shape);
          if (kernelName === 'Sum') return g;
          const count = axes.reduce((n, a) => n * x.shape[a], 1);
          return tf.div(g, count);
        },
      };
    },
  };
}

tf.registerGradient(reduceGrad('Sum'));
tf.registerGradient(reduceGrad('Mean'));

tf.registerGradient({
  kernelName: 'Relu6',
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved;
    return { x: () => tf.mul(dy as tf.Tensor, tf.sub(tf.step(x), tf.step(tf.sub(x, 6)))) };
  },
});

/**
 * Fused element-wise parameter updates: the exponential moving averages of Adam's moments and of
 * BatchNorm's running statistics, and Adam's parameter step. With tfjs ops each is 3–6 kernels plus host
 * scalars that webgpu uploads one staging buffer at a time; an H200 training step spent more time in
 * the optimizer than in forward + backward that way (bench/RESULTS.md). On webgpu each update is one
 * dispatch with its constants as uniforms; other backends use the same formulas as tfjs ops.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ElementwiseProgram, runProgram, webgpuUtil } from './webgpuProgram';

const EMA = 'SedEma';
const ADAM_STEP = 'SedAdamStep';

let registered = false;

/** Register the webgpu kernels (call once the webgpu backend is initialised). */
export async function registerWebgpuFusedUpdates(): Promise<void> {
  if (registered) return;
  const util = await webgpuUtil();
  tf.registerKernel({
    kernelName: EMA,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { beta, square } = attrs as unknown as { beta: number; square: boolean };
      const y = square ? 'y[index] * y[index]' : 'y[index]';
      const program = new ElementwiseProgram(inputs.x!.shape, ['x', 'y'], 'beta : f32,', `sedEma_${square}`, `let value = uniforms.beta * x[index] + (1.0 - uniforms.beta) * ${y};`, util);
      return runProgram(backend, program, [inputs.x!, inputs.y!], [{ type: 'float32', data: [beta] }]);
    },
  });
  tf.registerKernel({
    kernelName: ADAM_STEP,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { stepSize, sqrtBc2, epsilon } = attrs as unknown as { stepSize: number; sqrtBc2: number; epsilon: number };
      const program = new ElementwiseProgram(inputs.p!.shape, ['p', 'm', 'v'], 'stepSize : f32, sqrtBc2 : f32, epsilon : f32,', 'sedAdamStep',
        'let value = p[index] - uniforms.stepSize * m[index] / (sqrt(v[index]) / uniforms.sqrtBc2 + uniforms.epsilon);', util);
      return runProgram(backend, program, [inputs.p!, inputs.m!, inputs.v!], [stepSize, sqrtBc2, epsilon].map((v) => ({ type: 'float32' as const, data: [v] })));
    },
  });
  registered = true;
}

const fused = (kernel: string) => !!tf.getKernel(kernel, tf.getBackend());

/** β·x + (1−β)·y, or β·x + (1−β)·y² with `square` (Adam's second moment). */
export function ema(x: tf.Tensor, y: tf.Tensor, beta: number, square = false): tf.Tensor {
  if (fused(EMA)) return tf.engine().runKernel(EMA, { x, y }, { beta, square } as unknown as tf.NamedAttrMap) as tf.Tensor;
  return tf.tidy(() => tf.add(tf.mul(x, beta), tf.mul(square ? tf.square(y) : y, 1 - beta)));
}

/** Adam's parameter step p − stepSize·m / (√v / √(1−β₂ᵗ) + ε) (stepSize already divided by 1−β₁ᵗ). */
export function adamStep(p: tf.Tensor, m: tf.Tensor, v: tf.Tensor, stepSize: number, sqrtBc2: number, epsilon: number): tf.Tensor {
  if (fused(ADAM_STEP)) return tf.engine().runKernel(ADAM_STEP, { p, m, v }, { stepSize, sqrtBc2, epsilon } as unknown as tf.NamedAttrMap) as tf.Tensor;
  return tf.tidy(() => tf.sub(p, tf.mul(tf.div(m, tf.add(tf.div(tf.sqrt(v), sqrtBc2), epsilon)), stepSize)));
}

/**
 * Dropout masks made where the activations live. tfjs' `dropout` draws its uniforms on the host and
 * uploads them: on webgpu that is a host fill + upload of every attention-probability tensor per step,
 * and on wasm tfjs' JavaScript uniform generator plus three ops over the mask (~20 ms per fmn04+tf
 * micro-batch). Both kernels hash (element index, seed) with PCG — on the GPU, or natively into the
 * wasm heap (native/dropout.c); the cpu backend keeps tfjs' draw. mask = 1/(1−rate) with probability 1−rate, else 0
 * (tf.dropout's scaling).
 */
import * as tf from '@tensorflow/tfjs-core';
import { makeOutput, nativeKernels, offsetOf } from './wasmNative';
import { ElementwiseProgram, runProgram, webgpuKernelGroup } from './webgpuProgram';

const KERNEL = 'SedDropoutMask';

interface MaskAttrs {
  shape: number[];
  rate: number;
  seed: number;
}

/**
 * PCG hash (O'Neill) of the element index mixed with the seed → uniform in [0, 1) → 0 or 1/(1−rate), as the WGSL
 * function `dropoutMask(index)` over DROPOUT_UNIFORMS (also used by the fused dropout op, webgpuTrainingOps.ts).
 */
export const DROPOUT_PRELUDE = `
  fn pcg(v : u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
  }
  fn dropoutMask(index : i32) -> f32 {
    let u = f32(pcg(pcg(u32(index)) ^ uniforms.seed) >> 8u) * (1.0 / 16777216.0);
    return select(0.0, uniforms.scale, u >= uniforms.rate);
  }`;
export const DROPOUT_UNIFORMS = 'rate : f32, scale : f32, seed : u32,';

/** A fresh seed per mask. */
export const dropoutSeed = (): number => Math.floor(Math.random() * 0xffffffff) >>> 0;

/** Register the webgpu kernel (call once the webgpu backend is initialised). */
export const registerWebgpuDropoutMask = webgpuKernelGroup(null, (util) => ({
  [KERNEL]: ({ backend, attrs }) => {
    const { shape, rate, seed } = attrs as unknown as MaskAttrs;
    const program = new ElementwiseProgram(shape, [], DROPOUT_UNIFORMS, 'sedDropoutMask', 'let value = dropoutMask(index);', util, DROPOUT_PRELUDE);
    return runProgram(backend, program, [], [{ type: 'float32', data: [rate] }, { type: 'float32', data: [1 / (1 - rate)] }, { type: 'uint32', data: [seed] }]);
  },
}));

/** Register the wasm kernel (call once the wasm backend is initialised): native code, as the JavaScript loop took ~9 ms per 1 M. */
export function registerWasmDropoutMask(): void {
  if (tf.getKernel(KERNEL, 'wasm')) return;
  tf.registerKernel({
    kernelName: KERNEL,
    backendName: 'wasm',
    kernelFunc: ({ backend, attrs }) => {
      const { shape, rate, seed } = attrs as unknown as MaskAttrs;
      const out = makeOutput(backend, shape);
      nativeKernels(backend).dropoutMask(offsetOf(backend, out), tf.util.sizeFromShape(shape), seed >>> 0, rate, 1 / (1 - rate));
      return out;
    },
  });
}

/** A dropout mask of `shape` for drop probability `rate` (0 ≤ rate < 1). */
export function dropoutMask(shape: number[], rate: number): tf.Tensor {
  if (tf.getKernel(KERNEL, tf.getBackend())) {
    return tf.engine().runKernel(KERNEL, {}, { shape, rate, seed: dropoutSeed() } as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  return tf.tidy(() => tf.div(tf.floor(tf.add(tf.randomUniform(shape), 1 - rate)), 1 - rate));
}

/** Counting the GPU dispatches of webgpu work: what bounds inference speed when kernel issue dominates. */
import * as tf from '@tensorflow/tfjs-core';

type RunProgram = (...args: unknown[]) => unknown;

/**
 * Run `f` on the active webgpu backend and count the programs it dispatches (every tfjs-webgpu kernel and
 * ours go through `runWebGPUProgram`; kernels that only reshape or alias data dispatch none).
 */
export function countDispatches<T>(f: () => T): { result: T; dispatches: number } {
  const backend = tf.backend() as unknown as { runWebGPUProgram: RunProgram };
  const run = backend.runWebGPUProgram;
  let dispatches = 0;
  backend.runWebGPUProgram = function (this: unknown, ...args: unknown[]) {
    dispatches++;
    return run.apply(this, args);
  };
  try {
    const result = f();
    return { result, dispatches };
  } finally {
    backend.runWebGPUProgram = run;
  }
}

/** Counting the GPU dispatches of webgpu work: what bounds inference speed when kernel issue dominates. */
import * as tf from '@tensorflow/tfjs-core';

type RunProgram = (...args: unknown[]) => unknown;

/**
 * Run `f` on the active webgpu backend and count the programs it dispatches (every tfjs-webgpu kernel and
 * ours go through `runWebGPUProgram`; kernels that only reshape or alias data dispatch none); `programs`
 * names their classes in order (which kernel variant ran).
 */
export function countDispatches<T>(f: () => T): { result: T; dispatches: number; programs: string[] } {
  const backend = tf.backend() as unknown as { runWebGPUProgram: RunProgram };
  const run = backend.runWebGPUProgram;
  const programs: string[] = [];
  backend.runWebGPUProgram = function (this: unknown, ...args: unknown[]) {
    programs.push((args[0] as object).constructor.name);
    return run.apply(this, args);
  };
  try {
    const result = f();
    return { result, dispatches: programs.length, programs };
  } finally {
    backend.runWebGPUProgram = run;
  }
}

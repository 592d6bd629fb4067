/** Counting the GPU dispatches of webgpu work: what bounds inference speed when kernel issue dominates. */
import * as tf from '@tensorflow/tfjs-core';

type RunProgram = (...args: unknown[]) => unknown;

/**
 * Call `onDispatch` for every compute dispatch the active webgpu backend records until the returned function
 * is called: each one, tfjs' programs (through `runWebGPUProgram`) and our multi-output shaders
 * (webgpuMultiOutput.ts) alike, creates one bind group; kernels that only reshape or alias data dispatch none.
 * `name` is a tfjs program's class (which kernel variant ran) or a multi-output shader's key. On another
 * backend (a suite's cpu reference run) nothing is watched.
 */
export function watchDispatches(onDispatch: (name: string) => void): () => void {
  const backend = tf.backend() as unknown as { runWebGPUProgram: RunProgram; device?: GPUDevice };
  const { device } = backend;
  if (!device) return () => {};
  const run = backend.runWebGPUProgram;
  const createBindGroup = device.createBindGroup;
  let program: string | undefined;
  backend.runWebGPUProgram = function (this: unknown, ...args: unknown[]) {
    program = (args[0] as object).constructor.name;
    try {
      return run.apply(this, args);
    } finally {
      program = undefined;
    }
  };
  device.createBindGroup = function (this: GPUDevice, desc: GPUBindGroupDescriptor) {
    onDispatch(program ?? desc.label ?? '?');
    return createBindGroup.call(this, desc);
  };
  return () => {
    backend.runWebGPUProgram = run;
    device.createBindGroup = createBindGroup;
  };
}

/** Run `f` and count the dispatches it records (`watchDispatches`); `programs` names them in order. */
export function countDispatches<T>(f: () => T): { result: T; dispatches: number; programs: string[] } {
  const programs: string[] = [];
  const stop = watchDispatches((name) => programs.push(name));
  try {
    const result = f();
    return { result, dispatches: programs.length, programs };
  } finally {
    stop();
  }
}

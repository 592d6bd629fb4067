/** Counting the GPU dispatches of webgpu work: what bounds inference speed when kernel issue dominates. */
import * as tf from '@tensorflow/tfjs-core';

type RunProgram = (...args: unknown[]) => unknown;

/**
 * Run `f` on the active webgpu backend and count the compute dispatches it records: each one, tfjs' programs
 * (through `runWebGPUProgram`) and our multi-output shaders (webgpuMultiOutput.ts) alike, creates one bind
 * group; kernels that only reshape or alias data dispatch none. `programs` names them in order: a tfjs
 * program by its class (which kernel variant ran), a multi-output shader by its key. On another backend
 * (a suite's cpu reference run) nothing is counted.
 */
export function countDispatches<T>(f: () => T): { result: T; dispatches: number; programs: string[] } {
  const backend = tf.backend() as unknown as { runWebGPUProgram: RunProgram; device?: GPUDevice };
  const { device } = backend;
  if (!device) return { result: f(), dispatches: 0, programs: [] };
  const run = backend.runWebGPUProgram;
  const createBindGroup = device.createBindGroup;
  const programs: string[] = [];
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
    programs.push(program ?? desc.label ?? '?');
    return createBindGroup.call(this, desc);
  };
  try {
    const result = f();
    return { result, dispatches: programs.length, programs };
  } finally {
    backend.runWebGPUProgram = run;
    device.createBindGroup = createBindGroup;
  }
}

/**
 * What our custom WebGPU kernels share: tfjs-backend-webgpu's program interface (an object the backend
 * compiles into a compute shader around `getUserCode()`), its dispatch helpers, and the call that runs a
 * program. `ElementwiseProgram` covers the one-thread-per-element kernels.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface WebgpuUtil {
  flatDispatchLayout(shape: number[]): { x: number[] };
  computeDispatch(layout: { x: number[] }, shape: number[], workgroup: number[]): [number, number, number];
}

export type Uniform = { type: 'float32' | 'int32' | 'uint32'; data: number[] };

/** tfjs-backend-webgpu's dispatch helpers (the package is loaded only with the webgpu backend). */
export async function webgpuUtil(): Promise<WebgpuUtil> {
  return (await import('@tensorflow/tfjs-backend-webgpu')).webgpu_util as unknown as WebgpuUtil;
}

/**
 * A group of webgpu kernels, registered together and once (after the webgpu backend is up), each replacing
 * tfjs' kernel of that name if there is one. `optOut` names an environment variable that, set to 1, leaves the
 * group unregistered, so tfjs' own ops run instead (A/B benchmarks on one GPU).
 */
export function webgpuKernelGroup(optOut: string | null, kernels: (util: WebgpuUtil) => Record<string, tf.KernelFunc>): () => Promise<void> {
  let registered = false;
  return async () => {
    if (registered || (optOut && process.env[optOut] === '1')) return;
    for (const [kernelName, kernelFunc] of Object.entries(kernels(await webgpuUtil()))) {
      if (tf.getKernel(kernelName, 'webgpu')) tf.unregisterKernel(kernelName, 'webgpu');
      tf.registerKernel({ kernelName, backendName: 'webgpu', kernelFunc });
    }
    registered = true;
  };
}

/** Run `program` on the webgpu `backend` (a kernel function's `backend` argument). */
export function runProgram(backend: unknown, program: unknown, inputs: tf.TensorInfo[], uniforms: Uniform[]): tf.TensorInfo {
  return (backend as { runWebGPUProgram(p: unknown, i: tf.TensorInfo[], d: string, u: Uniform[]): tf.TensorInfo }).runWebGPUProgram(program, inputs, 'float32', uniforms);
}

/** Whether `kernel` is registered for the active backend (our fused kernels exist on webgpu only). */
export const fused = (kernel: string): boolean => !!tf.getKernel(kernel, tf.getBackend());

export const run = <T extends tf.Tensor>(kernel: string, inputs: tf.NamedTensorMap, attrs: object = {}): T =>
  tf.engine().runKernel(kernel, inputs, attrs as tf.NamedAttrMap) as T;

/** `run` for a kernel with several outputs. */
export const runMulti = <T extends tf.Tensor>(kernel: string, inputs: tf.NamedTensorMap, attrs: object = {}): T[] =>
  tf.engine().runKernel(kernel, inputs, attrs as tf.NamedAttrMap) as T[];

/**
 * The dispatch fields tfjs-backend-webgpu reads from a program whose threads are numbered flat (`main(index)`),
 * 64 to a workgroup. `threads` is a shape whose element count is the number of threads (the output's shape when
 * each thread writes one element). Subclasses declare their inputs, components, uniforms and shader.
 */
export abstract class FlatProgram {
  readonly workgroupSize: [number, number, number] = [64, 1, 1];
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  abstract readonly variableNames: string[];
  abstract readonly shaderKey: string;

  constructor(readonly outputShape: number[], threads: number[], util: WebgpuUtil) {
    this.dispatchLayout = util.flatDispatchLayout(threads);
    this.dispatch = util.computeDispatch(this.dispatchLayout, threads, this.workgroupSize);
  }

  abstract getUserCode(): string;
}

/**
 * The dispatch fields of a program that indexes its workgroups itself (`workgroupId`, `localIndex`):
 * `dispatch` workgroups of `threads` threads each.
 */
export abstract class WorkgroupProgram {
  readonly dispatchLayout = { x: [0] };
  readonly workgroupSize: [number, number, number];
  abstract readonly variableNames: string[];
  abstract readonly shaderKey: string;

  constructor(readonly outputShape: number[], readonly dispatch: [number, number, number], threads: number) {
    this.workgroupSize = [threads, 1, 1];
  }

  abstract getUserCode(): string;
}

/**
 * One thread per output element: `body` assigns `value` from the inputs (raw arrays named as in
 * `variableNames`) at `index`; `prelude` holds helper functions. Uniforms are separate scalars (a
 * multi-value entry would be laid out as a vector).
 */
export class ElementwiseProgram extends FlatProgram {
  size = true;
  outputComponent?: number;
  variableComponents?: number[];

  /** `components` 4: every input and the output are read and written as vec4 (`index` then counts vec4s). */
  constructor(shape: number[], readonly variableNames: string[], readonly uniforms: string, readonly shaderKey: string, private readonly body: string, util: WebgpuUtil, private readonly prelude = '', components: 1 | 4 = 1) {
    super(shape, components === 1 ? shape : [shape.reduce((n, d) => n * d, 1) / components], util);
    if (components !== 1) {
      this.outputComponent = components;
      this.variableComponents = variableNames.map(() => components);
    }
  }

  getUserCode(): string {
    return `
      ${this.prelude}
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${this.body}
          setOutputAtIndex(index, value);
        }
      }
    `;
  }
}

/**
 * Dropout masks made where the activations live. tfjs' `dropout` draws its uniforms on the host and
 * uploads them: on webgpu that is a host fill + upload of every attention-probability tensor per step.
 * The webgpu kernel hashes (element index, seed) with PCG on the GPU; other backends keep tfjs' draw.
 * mask = 1/(1−rate) with probability 1−rate, else 0 (tf.dropout's scaling).
 */
import * as tf from '@tensorflow/tfjs-core';

const KERNEL = 'SedDropoutMask';

interface MaskAttrs {
  shape: number[];
  rate: number;
  seed: number;
}

/** WebGPU program (tfjs-backend-webgpu's program interface): one thread per element. */
class DropoutMaskProgram {
  variableNames: string[] = [];
  outputShape: number[];
  shaderKey = 'sedDropoutMask';
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  uniforms = 'rate : f32, scale : f32, seed : u32,';
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;

  constructor(shape: number[], util: { flatDispatchLayout(s: number[]): { x: number[] }; computeDispatch(l: { x: number[] }, s: number[], w: number[]): [number, number, number] }) {
    this.outputShape = shape;
    this.dispatchLayout = util.flatDispatchLayout(shape);
    this.dispatch = util.computeDispatch(this.dispatchLayout, shape, this.workgroupSize);
  }

  getUserCode(): string {
    return `
      fn pcg(v : u32) -> u32 {
        let state = v * 747796405u + 2891336453u;
        let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
        return (word >> 22u) ^ word;
      }
      fn main(index : i32) {
        if (index < uniforms.size) {
          let h = pcg(pcg(u32(index)) ^ uniforms.seed);
          let u = f32(h >> 8u) * (1.0 / 16777216.0);
          setOutputAtIndex(index, select(0.0, uniforms.scale, u >= uniforms.rate));
        }
      }
    `;
  }
}

let registered = false;

/** Register the webgpu kernel (call once the webgpu backend is initialised). */
export async function registerWebgpuDropoutMask(): Promise<void> {
  if (registered) return;
  const { webgpu_util: util } = await import('@tensorflow/tfjs-backend-webgpu');
  tf.registerKernel({
    kernelName: KERNEL,
    backendName: 'webgpu',
    kernelFunc: ({ backend, attrs }) => {
      const { shape, rate, seed } = attrs as unknown as MaskAttrs;
      const program = new DropoutMaskProgram(shape, util as never);
      const uniforms = [{ type: 'float32', data: [rate] }, { type: 'float32', data: [1 / (1 - rate)] }, { type: 'uint32', data: [seed] }];
      return (backend as unknown as { runWebGPUProgram(p: unknown, i: unknown[], d: string, u: unknown): tf.TensorInfo }).runWebGPUProgram(program, [], 'float32', uniforms);
    },
  });
  registered = true;
}

/** A dropout mask of `shape` for drop probability `rate` (0 ≤ rate < 1). */
export function dropoutMask(shape: number[], rate: number): tf.Tensor {
  if (tf.getKernel(KERNEL, tf.getBackend())) {
    const seed = Math.floor(Math.random() * 0xffffffff) >>> 0;
    return tf.engine().runKernel(KERNEL, {}, { shape, rate, seed } as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  return tf.tidy(() => tf.div(tf.floor(tf.add(tf.randomUniform(shape), 1 - rate)), 1 - rate));
}

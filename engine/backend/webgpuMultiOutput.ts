/**
 * Compute shaders with several outputs, recorded into tfjs-backend-webgpu's own command stream. A tfjs
 * program writes one output buffer, and a webgpu training step is bound by the host cost of each dispatch
 * (~50–95 µs on an H200 host, bench/RESULTS.md): BatchNorm's batch mean and variance, its dγ and dβ, the
 * two running statistics and Adam's new parameters are groups of tensors one pass can write. This takes
 * the steps tfjs' `runWebGPUProgram` takes (tfjs-backend-webgpu 4.22: its tensor map, command encoder,
 * compute pass, deferred submit, pending-disposal bookkeeping and profiling timestamps), with its own
 * bindings: outputs first (read_write), then inputs (read), then one uniform struct of 32-bit scalars.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Threads per workgroup; a shader's `index` is its flat thread number. */
const WORKGROUP = 64;

export interface MultiOutputShader {
  /** Pipeline cache key: equal keys must mean equal WGSL. */
  key: string;
  outputs: string[];
  inputs: string[];
  /** Uniform scalars, in order; `i32` or `f32` each. */
  uniforms: Array<[name: string, type: 'i32' | 'f32']>;
  /** Helper functions declared before `main`. */
  prelude?: string;
  /** Body of `main`, with `index` (i32) its thread number; threads past the work must return early. */
  body: string;
}

interface TensorData {
  resource: GPUBuffer | null;
}

/** The parts of tfjs-backend-webgpu's WebGPUBackend this uses (version 4.22). */
interface WebgpuBackendInternals {
  device: GPUDevice;
  queue: GPUQueue;
  tensorMap: { get(dataId: object): TensorData };
  bufferManager: { acquireBuffer(size: number, usage: number): GPUBuffer };
  uniformPendingDisposal: GPUBuffer[];
  commandQueueOwnedIds: WeakSet<object>;
  commandEncoder: GPUCommandEncoder;
  computePassEncoder: GPUComputePassEncoder | null;
  dispatchCountInPass: number;
  activeTimers: Array<{ name: string; query: Promise<number> }> | null;
  supportTimestampQuery: boolean;
  querySet: GPUQuerySet | null;
  querySetCount: number;
  makeTensorInfo(shape: number[], dtype: 'float32'): tf.TensorInfo;
  uploadToGPU(dataId: object): void;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  getQueryTime(): Promise<number>;
}

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();
const checked = new WeakSet<object>();

/** Fail with a clear message, once per backend, where tfjs-backend-webgpu's internals are not those of 4.22. */
function checkInternals(b: WebgpuBackendInternals): void {
  if (checked.has(b)) return;
  const methods = ['makeTensorInfo', 'uploadToGPU', 'ensureCommandEncoderReady', 'endComputePassEncoder', 'submitQueue', 'getQueryTime'] as const;
  const missing = [
    ...methods.filter((m) => typeof b[m] !== 'function'),
    ...(['device', 'queue', 'tensorMap', 'bufferManager', 'uniformPendingDisposal', 'commandQueueOwnedIds'] as const).filter((f) => !b[f]),
  ];
  if (missing.length) throw new Error(`multi-output webgpu kernels need @tensorflow/tfjs-backend-webgpu 4.22's backend internals; this one lacks ${missing.join(', ')}`);
  checked.add(b);
}

function shaderCode(s: MultiOutputShader): string {
  const buffers = [
    ...s.outputs.map((name, i) => `@group(0) @binding(${i}) var<storage, read_write> ${name} : array<f32>;`),
    ...s.inputs.map((name, i) => `@group(0) @binding(${s.outputs.length + i}) var<storage, read> ${name} : array<f32>;`),
  ];
  const uniforms = s.uniforms.length
    ? `struct Uniforms { ${s.uniforms.map(([name, type]) => `${name} : ${type},`).join(' ')} };
       @group(0) @binding(${s.outputs.length + s.inputs.length}) var<uniform> uniforms : Uniforms;`
    : '';
  return `
    ${buffers.join('\n    ')}
    ${uniforms}
    ${s.prelude ?? ''}
    @compute @workgroup_size(${WORKGROUP})
    fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) groups : vec3<u32>) {
      let index = i32(gid.x + gid.y * groups.x * ${WORKGROUP}u);
      ${s.body}
    }`;
}

function pipeline(device: GPUDevice, s: MultiOutputShader): GPUComputePipeline {
  let cache = pipelines.get(device);
  if (!cache) pipelines.set(device, (cache = new Map()));
  let p = cache.get(s.key);
  if (!p) {
    p = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: shaderCode(s) }), entryPoint: 'main' } });
    cache.set(s.key, p);
  }
  return p;
}

/** The uniform values packed as the struct lays them out (4-byte scalars), padded to 16 bytes. */
function uniformBytes(s: MultiOutputShader, values: number[]): ArrayBuffer {
  if (values.length !== s.uniforms.length) throw new Error(`${s.key}: ${values.length} uniform values for ${s.uniforms.length} uniforms`);
  const bytes = new ArrayBuffer(Math.ceil(values.length / 4) * 16);
  const f32 = new Float32Array(bytes);
  const i32 = new Int32Array(bytes);
  s.uniforms.forEach(([, type], i) => ((type === 'i32' ? i32 : f32)[i] = values[i]));
  return bytes;
}

/**
 * Dispatch `shader` with `threads` threads (a multiple of 64 is not needed) on the webgpu `backend` (a kernel
 * function's `backend` argument); returns new float32 outputs of `outputShapes`, in `shader.outputs` order.
 */
export function runMultiOutput(backend: unknown, shader: MultiOutputShader, inputs: tf.TensorInfo[], outputShapes: number[][], uniforms: number[], threads: number): tf.TensorInfo[] {
  const b = backend as WebgpuBackendInternals;
  checkInternals(b);
  if (inputs.length !== shader.inputs.length || outputShapes.length !== shader.outputs.length) {
    throw new Error(`${shader.key}: ${inputs.length} inputs and ${outputShapes.length} outputs given for ${shader.inputs.length} and ${shader.outputs.length}`);
  }
  if (outputShapes.some((shape) => tf.util.sizeFromShape(shape) === 0)) throw new Error(`${shader.key}: an output has no elements (${JSON.stringify(outputShapes)})`);
  const bytes = shader.uniforms.length ? uniformBytes(shader, uniforms) : undefined;
  const outputs = outputShapes.map((shape) => b.makeTensorInfo(shape, 'float32'));
  const tensors = [...outputs, ...inputs];
  for (const t of tensors) {
    b.uploadToGPU(t.dataId);
    b.commandQueueOwnedIds.add(t.dataId);
  }
  const entries: GPUBindGroupEntry[] = tensors.map((t, i) => ({ binding: i, resource: { buffer: b.tensorMap.get(t.dataId).resource! } }));
  if (bytes) {
    const buffer = b.bufferManager.acquireBuffer(bytes.byteLength, GPUBufferUsage.COPY_DST | GPUBufferUsage.UNIFORM);
    b.queue.writeBuffer(buffer, 0, bytes);
    b.uniformPendingDisposal.push(buffer);
    entries.push({ binding: tensors.length, resource: { buffer } });
  }
  const p = pipeline(b.device, shader);
  const bindGroup = b.device.createBindGroup({ label: shader.key, layout: p.getBindGroupLayout(0), entries });
  b.ensureCommandEncoderReady();
  // As tfjs times its programs under tf.profile: a pass of their own, with timestamps where the device has them.
  const timed = b.activeTimers != null;
  if (timed && b.supportTimestampQuery) {
    b.endComputePassEncoder();
    b.querySet ??= b.device.createQuerySet({ type: 'timestamp', count: b.querySetCount });
    b.computePassEncoder = b.commandEncoder.beginComputePass({ timestampWrites: { querySet: b.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } });
  } else if (!b.computePassEncoder) {
    b.computePassEncoder = b.commandEncoder.beginComputePass({});
  }
  const groups = Math.max(1, Math.ceil(threads / WORKGROUP));
  const x = Math.min(groups, b.device.limits.maxComputeWorkgroupsPerDimension);
  b.computePassEncoder!.setPipeline(p);
  b.computePassEncoder!.setBindGroup(0, bindGroup);
  b.computePassEncoder!.dispatchWorkgroups(x, Math.ceil(groups / x));
  b.dispatchCountInPass++;
  if (timed) {
    b.endComputePassEncoder();
    b.activeTimers!.push({ name: shader.key, query: b.getQueryTime() });
  } else if (b.dispatchCountInPass >= tf.env().getNumber('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE')) {
    b.endComputePassEncoder();
    b.submitQueue();
  }
  return outputs;
}

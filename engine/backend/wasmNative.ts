/**
 * The native kernels (`native/*.c`: training passes and the frontend's mel power, WebAssembly SIMD built by
 * `native/build.sh`)
 * instantiated on tfjs-backend-wasm's own memory, so they read and write the tensors where tfjs keeps
 * them: no copies in or out. Kernel functions get each tensor's byte offset in that memory (`offsetOf`)
 * and scratch space from tfjs' allocator (`withScratch`).
 *
 * Two builds of the same sources: with relaxed SIMD's multiply-add (an FMA on x86 and ARM: the GEMMs run
 * ~1.3× faster) where the engine accepts it, else plain SIMD. Node 20 has relaxed SIMD behind a V8 flag,
 * set here before compiling; SED_WASM_RELAXED_SIMD=0 keeps the plain build.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import type * as tf from '@tensorflow/tfjs-core';

type Ptr = number;

/** The exports of sedKernels.wasm (pointers are byte offsets in tfjs' wasm memory). */
export interface NativeKernelExports {
  bnMoments(y: Ptr, rows: number, C: number, out: Ptr, acc: Ptr, sum: Ptr): void;
  bnApply(y: Ptr, rows: number, C: number, mean: Ptr, variance: Ptr, gamma: Ptr, beta: Ptr, res: Ptr, varScale: number, eps: number, act: number, out: Ptr, coef: Ptr): void;
  bnGradSums(y: Ptr, dy: Ptr, rows: number, C: number, mean: Ptr, variance: Ptr, gamma: Ptr, beta: Ptr, varScale: number, eps: number, act: number, out: Ptr, coef: Ptr, acc: Ptr, sum: Ptr): void;
  bnGradApply(y: Ptr, dy: Ptr, rows: number, C: number, mean: Ptr, variance: Ptr, gamma: Ptr, beta: Ptr, sums: Ptr, varScale: number, eps: number, act: number, dx: Ptr, coef: Ptr): void;
  depthwiseConv(x: Ptr, w: Ptr, B: number, H: number, W: number, C: number, OH: number, OW: number, KH: number, KW: number, sh: number, sw: number, top: number, left: number, y: Ptr): void;
  depthwiseInputGrad(dy: Ptr, w: Ptr, B: number, H: number, W: number, C: number, OH: number, OW: number, KH: number, KW: number, sh: number, sw: number, top: number, left: number, dx: Ptr): void;
  depthwiseFilterGrad(x: Ptr, dy: Ptr, B: number, H: number, W: number, C: number, OH: number, OW: number, KH: number, KW: number, sh: number, sw: number, top: number, left: number, dw: Ptr, acc: Ptr, sum: Ptr): void;
  pointwiseFilterGrad(x: Ptr, dy: Ptr, rows: number, Ci: number, Co: number, dw: Ptr, sum: Ptr): void;
  packB(K: number, N: number, b: Ptr, ldb: number, transB: number, bias: Ptr, packed: Ptr): void;
  gemm(M: number, N: number, K: number, a: Ptr, lda: number, packed: Ptr, relu: number, c: Ptr, ldc: number): void;
  convFilterGrad(x: Ptr, dy: Ptr, B: number, H: number, W: number, Ci: number, OH: number, OW: number, KH: number, KW: number, sh: number, sw: number, top: number, left: number, Co: number, dw: Ptr, acc: Ptr, sum: Ptr): void;
  dropoutMask(out: Ptr, n: number, seed: number, rate: number, scale: number): void;
  melPower(frames: Ptr, nFrames: number, winLength: number, window: Ptr, cos: Ptr, sin: Ptr, bitrev: Ptr, nMels: number, first: Ptr, count: Ptr, weights: Ptr, out: Ptr, work: Ptr): void;
}

/** What the kernels need of tfjs' wasm backend (its Emscripten module and tensor table). */
interface WasmBackendInternals {
  wasm: { asm: { memory: WebAssembly.Memory }; _malloc(bytes: number): Ptr; _free(ptr: Ptr): void };
  dataIdMap: { get(dataId: object): { memoryOffset: Ptr } | undefined };
}

/** Where the .wasm builds are: `engine/backend/native/` in the source tree, `dist/native/` beside the bundle. */
export const NATIVE_KERNELS_DIR = path.join(__dirname, 'native');

/** The two builds: plain WebAssembly SIMD, and the same with relaxed SIMD's multiply-add. */
export const NATIVE_BUILDS = { simd: 'sedKernels.wasm', relaxedSimd: 'sedKernelsRelaxed.wasm' } as const;

export type NativeBuild = keyof typeof NATIVE_BUILDS;

/** Panel width of `packB` (columns); a packed B takes ceil(N / 8) · (K + 1) · 8 floats. */
export const GEMM_PANEL = 8;

let compiled: { module: WebAssembly.Module; build: NativeBuild } | undefined;

function compile(): { module: WebAssembly.Module; build: NativeBuild } {
  if (process.env.SED_WASM_RELAXED_SIMD !== '0') {
    const bytes = fs.readFileSync(path.join(NATIVE_KERNELS_DIR, NATIVE_BUILDS.relaxedSimd));
    // Node 20 validates relaxed SIMD only with this flag (Node 22 by default); it affects modules compiled after it.
    if (!WebAssembly.validate(bytes)) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    if (WebAssembly.validate(bytes)) return { module: new WebAssembly.Module(bytes), build: 'relaxedSimd' };
  }
  return { module: new WebAssembly.Module(fs.readFileSync(path.join(NATIVE_KERNELS_DIR, NATIVE_BUILDS.simd))), build: 'simd' };
}

/** Which build the native kernels run (compiles it on first use). */
export function nativeBuild(): NativeBuild {
  compiled ??= compile();
  return compiled.build;
}

const instances = new WeakMap<object, NativeKernelExports>();

/** The kernels bound to this backend's memory (instantiated once per backend; each worker thread has its own). */
export function nativeKernels(backend: unknown): NativeKernelExports {
  const b = backend as WasmBackendInternals;
  let kernels = instances.get(b.wasm);
  if (!kernels) {
    compiled ??= compile();
    kernels = new WebAssembly.Instance(compiled.module, { env: { memory: b.wasm.asm.memory } }).exports as unknown as NativeKernelExports;
    instances.set(b.wasm, kernels);
  }
  return kernels;
}

/** A new float32 output tensor of this shape in the backend's memory. */
export function makeOutput(backend: unknown, shape: number[]): tf.TensorInfo {
  return (backend as { makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo }).makeOutput(shape, 'float32');
}

/** Byte offset of a tensor's data in the wasm memory. */
export function offsetOf(backend: unknown, t: tf.TensorInfo): Ptr {
  const data = (backend as WasmBackendInternals).dataIdMap.get(t.dataId);
  if (!data) throw new Error('wasm native kernel: a tensor input is not on the wasm backend');
  return data.memoryOffset;
}

/** Run `body` with scratch blocks of these byte sizes from tfjs' allocator (8-byte aligned), freed after. */
export function withScratch<T>(backend: unknown, bytes: number[], body: (...ptrs: Ptr[]) => T): T {
  const w = (backend as WasmBackendInternals).wasm;
  const ptrs = bytes.map((n) => w._malloc(Math.max(8, n)));
  try {
    return body(...ptrs);
  } finally {
    for (const p of ptrs) w._free(p);
  }
}

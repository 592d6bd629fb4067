/**
 * Data-movement kernels for the wasm backend that read their input through a view of the wasm heap.
 *
 * tfjs-backend-wasm 4.22's Slice (and Unpack, which slices once per output) starts with
 * `backend.readSync(x)`, a copy of the *whole* input, so taking 4 clips out of a 32-clip mel batch, or
 * one filter tap out of the stride phases, costs a full copy of the source each time (measured: 14 ms
 * for 2 MB out of 16 MB). Its Tile is an element-wise C++ loop (63 ms to broadcast [4,1,1,48] to
 * [4,16,250,48], 35× a broadcasting Add) and its GatherV2 one too (0.3 s to roll a [32,128,1000,1] mel batch
 * in time). These versions copy contiguous runs from heap views instead.
 */
import * as tf from '@tensorflow/tfjs-core';

type Typed = Float32Array | Int32Array | Uint8Array;

interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Typed;
}

/** Runs shorter than this are copied element by element (a subarray per run costs more). */
const SHORT_RUN = 16;

function copyRun(src: Typed, from: number, dst: Typed, to: number, n: number): void {
  if (n < SHORT_RUN) for (let i = 0; i < n; i++) dst[to + i] = src[from + i];
  else dst.set(src.subarray(from, from + n), to);
}

/**
 * Copy the box `begin`…`begin + size` of a row-major `shape` array into `dst` (dense). Trailing axes
 * taken whole merge with the last partial axis into one contiguous run per outer index.
 */
export function copyBox(src: Typed, shape: number[], begin: number[], size: number[], dst: Typed): void {
  let k = shape.length - 1;
  let inner = 1;
  while (k >= 0 && size[k] === shape[k]) inner *= shape[k--];
  if (k < 0) {
    dst.set(src.subarray(0, inner));
    return;
  }
  const strides = tf.util.computeStrides(shape).concat(1);
  const run = size[k] * inner;
  let offset = 0;
  for (let i = 0; i <= k; i++) offset += begin[i] * strides[i];
  const outer = size.slice(0, k).reduce((a, b) => a * b, 1);
  const index = new Array<number>(k).fill(0);
  for (let o = 0; o < outer; o++) {
    copyRun(src, offset, dst, o * run, run);
    // Odometer over the outer axes, innermost first.
    for (let a = k - 1; a >= 0; a--) {
      offset += strides[a];
      if (++index[a] < size[a]) break;
      offset -= size[a] * strides[a];
      index[a] = 0;
    }
  }
}

/** Repeat dst[at, at + n) `reps` times in place, doubling the copied span. */
function repeatInPlace(dst: Typed, at: number, n: number, reps: number): void {
  const total = n * reps;
  for (let done = n; done < total; done += Math.min(done, total - done)) dst.copyWithin(at + done, at, at + Math.min(done, total - done));
}

/** Tile `src` (row-major `shape`) by `reps` into `dst`: each axis' block is written once, then repeated. */
export function tileInto(src: Typed, shape: number[], reps: number[], dst: Typed): void {
  const rank = shape.length;
  const srcStrides = tf.util.computeStrides(shape).concat(1);
  const outBlock = new Array<number>(rank + 1).fill(1);
  for (let a = rank - 1; a >= 0; a--) outBlock[a] = outBlock[a + 1] * shape[a] * reps[a];
  const fill = (a: number, from: number, to: number): void => {
    if (a === rank - 1) copyRun(src, from, dst, to, shape[a]);
    else for (let i = 0; i < shape[a]; i++) fill(a + 1, from + i * srcStrides[a], to + i * outBlock[a + 1]);
    repeatInPlace(dst, to, shape[a] * outBlock[a + 1], reps[a]);
  };
  if (rank === 0) dst[0] = src[0];
  else fill(0, 0, 0);
}

function slice(original: tf.KernelConfig): tf.KernelConfig {
  return {
    ...original,
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      if (x.dtype === 'string') return original.kernelFunc(args);
      const attrs = args.attrs as unknown as { begin: number | number[]; size?: number | number[] };
      const [begin, size] = tf.slice_util.parseSliceParams(x, attrs.begin, attrs.size);
      const backend = args.backend as WasmHeapBackend;
      const out = backend.makeOutput(size, x.dtype);
      // Views only after makeOutput: growing the heap detaches earlier ones.
      if (tf.util.sizeFromShape(size) > 0) copyBox(backend.typedArrayFromHeap(x), x.shape, begin, size, backend.typedArrayFromHeap(out));
      return out;
    },
  };
}

function unpack(original: tf.KernelConfig): tf.KernelConfig {
  return {
    ...original,
    kernelFunc: (args) => {
      const value = args.inputs.value as tf.TensorInfo;
      if (value.dtype === 'string') return original.kernelFunc(args);
      const rank = value.shape.length;
      let axis = (args.attrs as unknown as { axis: number }).axis;
      if (axis < 0) axis += rank;
      const backend = args.backend as WasmHeapBackend;
      const outShape = value.shape.filter((_, i) => i !== axis);
      const outs = Array.from({ length: value.shape[axis] }, () => backend.makeOutput(outShape, value.dtype));
      if (tf.util.sizeFromShape(outShape) > 0) {
        const src = backend.typedArrayFromHeap(value);
        const size = value.shape.map((d, i) => (i === axis ? 1 : d));
        outs.forEach((out, i) => copyBox(src, value.shape, value.shape.map((_, a) => (a === axis ? i : 0)), size, backend.typedArrayFromHeap(out)));
      }
      return outs;
    },
  };
}

function tile(original: tf.KernelConfig): tf.KernelConfig {
  return {
    ...original,
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      if (x.dtype === 'string') return original.kernelFunc(args);
      const reps = (args.attrs as unknown as { reps: number[] }).reps;
      const backend = args.backend as WasmHeapBackend;
      const outShape = x.shape.map((d, i) => d * reps[i]);
      const out = backend.makeOutput(outShape, x.dtype);
      if (tf.util.sizeFromShape(outShape) > 0) tileInto(backend.typedArrayFromHeap(x), x.shape, reps, backend.typedArrayFromHeap(out));
      return out;
    },
  };
}

/** out[b, o, i, :] = x[b, o, indices[b, i], :] with runs of the trailing slice copied whole. */
function gather(original: tf.KernelConfig): tf.KernelConfig {
  return {
    ...original,
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      const indices = args.inputs.indices as tf.TensorInfo;
      if (x.dtype === 'string') return original.kernelFunc(args);
      const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims: number };
      const parsedAxis = tf.util.parseAxisParam(axis, x.shape)[0];
      const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(x, indices, parsedAxis, batchDims);
      const backend = args.backend as WasmHeapBackend;
      const out = backend.makeOutput(info.outputShape, x.dtype);
      const idx = backend.typedArrayFromHeap(indices);
      for (const i of idx) if (i < 0 || i >= info.dimSize) throw new Error(`GatherV2: the index value ${i} is not in [0, ${info.dimSize - 1}]`);
      if (tf.util.sizeFromShape(info.outputShape) === 0) return out;
      const src = backend.typedArrayFromHeap(x);
      const dst = backend.typedArrayFromHeap(out);
      const { batchSize, outerSize, dimSize, sliceSize } = info;
      const perBatch = idx.length / batchSize;
      let to = 0;
      for (let b = 0; b < batchSize; b++) {
        for (let o = 0; o < outerSize; o++) {
          const base = (b * outerSize + o) * dimSize;
          for (let i = 0; i < perBatch; i++, to += sliceSize) copyRun(src, (base + idx[b * perBatch + i]) * sliceSize, dst, to, sliceSize);
        }
      }
      return out;
    },
  };
}

/**
 * Identity without a copy (another reference to the same data, as the cpu backend and the wasm Reshape
 * do; no wasm kernel writes into its inputs). The engine clones every tensor it saves for a backward
 * pass, so with the copying original the gradient tape held each saved activation twice.
 */
function identity(original: tf.KernelConfig): tf.KernelConfig {
  return {
    ...original,
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      if (x.dtype === 'string') return original.kernelFunc(args);
      (args.backend as { incRef(dataId: object): void }).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
    },
  };
}

/** Kernel name → wrapper around the original wasm kernel (kept for string tensors). */
export const WASM_COPY_OVERRIDES: Array<[string, (original: tf.KernelConfig) => tf.KernelConfig]> = [
  ['Slice', slice],
  ['Unpack', unpack],
  ['Tile', tile],
  ['GatherV2', gather],
  ['Identity', identity],
];

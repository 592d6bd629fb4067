/**
 * Data-movement kernels for the wasm backend, copying contiguous runs between views of the wasm heap.
 *
 * tfjs-backend-wasm 4.22's Slice (and Unpack, which slices once per output) starts with
 * `backend.readSync(x)`, a copy of the *whole* input, so taking 4 clips out of a 32-clip mel batch, or
 * one filter tap out of the stride phases, costs a full copy of the source each time (measured: 14 ms
 * for 2 MB out of 16 MB). Its Tile is an element-wise C++ loop (63 ms to broadcast [4,1,1,48] to
 * [4,16,250,48], 35× a broadcasting Add), and so are its GatherV2 (0.3 s to roll a [32,128,1000,1] mel
 * batch in time), PadV2 (15 ms to pad the stem's [4,128,1000,1] input) and Reverse (4 ms to flip a
 * [4,250,104] sequence for the backward minGRU). Identity, a copy there, shares the data here, and so does a
 * Cast to the same dtype.
 */
import * as tf from '@tensorflow/tfjs-core';

type Typed = Float32Array | Int32Array | Uint8Array;

interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Typed;
}

/**
 * The whole wasm heap as a typed array of the tensors' dtype, and where each tensor starts in it
 * (elements): copies between tensors are then `copyWithin` calls, with no view object per run. Call
 * after the last makeOutput: growing the heap detaches earlier views.
 */
function heapOf(backend: WasmHeapBackend, ...infos: tf.TensorInfo[]): { heap: Typed; at: number[] } {
  const views = infos.map((t) => backend.typedArrayFromHeap(t));
  const heap = new (views[0].constructor as new (buffer: ArrayBufferLike) => Typed)(views[0].buffer);
  return { heap, at: views.map((v) => v.byteOffset / v.BYTES_PER_ELEMENT) };
}

/** Runs shorter than this are copied element by element (measured: faster than a copyWithin call). */
const SHORT_RUN = 16;

function copyRun(heap: Typed, from: number, to: number, n: number): void {
  if (n < SHORT_RUN) for (let i = 0; i < n; i++) heap[to + i] = heap[from + i];
  else heap.copyWithin(to, from, from + n);
}

/**
 * Copy a box of `size` from the tensor at `src` (row-major `srcShape`, box at `srcBegin`) to the one at
 * `dst` (row-major `dstShape`, box at `dstBegin`). Trailing axes spanning both whole merge with the
 * last partial axis into one contiguous run per outer index.
 */
function copyRegion(heap: Typed, src: number, srcShape: number[], srcBegin: number[], dst: number, dstShape: number[], dstBegin: number[], size: number[]): void {
  let k = size.length - 1;
  let inner = 1;
  while (k >= 0 && size[k] === srcShape[k] && size[k] === dstShape[k]) inner *= size[k--];
  if (k < 0) {
    copyRun(heap, src, dst, inner);
    return;
  }
  const srcStrides = tf.util.computeStrides(srcShape).concat(1);
  const dstStrides = tf.util.computeStrides(dstShape).concat(1);
  const run = size[k] * inner;
  let from = src;
  let to = dst;
  for (let i = 0; i <= k; i++) {
    from += srcBegin[i] * srcStrides[i];
    to += dstBegin[i] * dstStrides[i];
  }
  const outer = size.slice(0, k).reduce((n, d) => n * d, 1);
  const index = new Array<number>(k).fill(0);
  for (let o = 0; o < outer; o++) {
    copyRun(heap, from, to, run);
    // Odometer over the outer axes, innermost first.
    for (let a = k - 1; a >= 0; a--) {
      from += srcStrides[a];
      to += dstStrides[a];
      if (++index[a] < size[a]) break;
      from -= size[a] * srcStrides[a];
      to -= size[a] * dstStrides[a];
      index[a] = 0;
    }
  }
}

/** Repeat heap[at, at + n) `reps` times in place, doubling the copied span. */
function repeatInPlace(heap: Typed, at: number, n: number, reps: number): void {
  const total = n * reps;
  for (let done = n; done < total; done += Math.min(done, total - done)) heap.copyWithin(at + done, at, at + Math.min(done, total - done));
}

/** Tile the tensor at `src` (row-major `shape`) by `reps` into `dst`: each axis' block is written once, then repeated. */
function tileInto(heap: Typed, src: number, shape: number[], reps: number[], dst: number): void {
  const rank = shape.length;
  const srcStrides = tf.util.computeStrides(shape).concat(1);
  const outBlock = new Array<number>(rank + 1).fill(1);
  for (let a = rank - 1; a >= 0; a--) outBlock[a] = outBlock[a + 1] * shape[a] * reps[a];
  const fill = (a: number, from: number, to: number): void => {
    if (a === rank - 1) copyRun(heap, from, to, shape[a]);
    else for (let i = 0; i < shape[a]; i++) fill(a + 1, from + i * srcStrides[a], to + i * outBlock[a + 1]);
    repeatInPlace(heap, to, shape[a] * outBlock[a + 1], reps[a]);
  };
  if (rank === 0) heap[dst] = heap[src];
  else fill(0, src, dst);
}

/**
 * Reverse the tensor at `src` (row-major `shape`) along `axes` into `dst`: runs of the trailing unreversed
 * axes move whole; a reversed last axis is copied backwards in one tight loop per row (the log-mel
 * frontend folds 32,000 windows a batch this way: 80 ms element by element, ~10 ms so).
 */
function reverseInto(heap: Typed, src: number, shape: number[], axes: number[], dst: number): void {
  const last = shape.length - 1;
  const lastReversed = axes.includes(last);
  let k = last;
  let inner = 1;
  while (k >= 0 && !axes.includes(k)) inner *= shape[k--];
  const run = lastReversed ? shape[last] : inner; // elements written per outer step
  const outerAxes = lastReversed ? last - 1 : k;
  const strides = tf.util.computeStrides(shape).concat(1);
  const steps = strides.map((s, a) => (axes.includes(a) ? -s : s));
  let from = src + axes.reduce((n, a) => n + (shape[a] - 1) * strides[a], 0);
  const outer = shape.slice(0, outerAxes + 1).reduce((n, d) => n * d, 1);
  const index = new Array<number>(outerAxes + 1).fill(0);
  for (let o = 0; o < outer; o++) {
    const to = dst + o * run;
    if (lastReversed) for (let j = 0; j < run; j++) heap[to + j] = heap[from - j];
    else copyRun(heap, from, to, run);
    for (let a = outerAxes; a >= 0; a--) {
      from += steps[a];
      if (++index[a] < shape[a]) break;
      from -= shape[a] * steps[a];
      index[a] = 0;
    }
  }
}

type KernelArgs = Parameters<tf.KernelFunc>[0];

/** A copy kernel for numeric tensors; string tensors stay with the original wasm kernel. */
function numericOnly(input: string, run: (t: tf.TensorInfo, args: KernelArgs, backend: WasmHeapBackend) => tf.TensorInfo | tf.TensorInfo[]) {
  return (original: tf.KernelConfig): tf.KernelConfig => ({
    ...original,
    kernelFunc: (args) => {
      const t = args.inputs[input] as tf.TensorInfo;
      return t.dtype === 'string' ? original.kernelFunc(args) : run(t, args, args.backend as WasmHeapBackend);
    },
  });
}

const slice = numericOnly('x', (x, args, backend) => {
  const attrs = args.attrs as unknown as { begin: number | number[]; size?: number | number[] };
  const [begin, size] = tf.slice_util.parseSliceParams(x, attrs.begin, attrs.size);
  const out = backend.makeOutput(size, x.dtype);
  if (tf.util.sizeFromShape(size) === 0) return out;
  const { heap, at } = heapOf(backend, x, out);
  copyRegion(heap, at[0], x.shape, begin, at[1], size, size.map(() => 0), size);
  return out;
});

const unpack = numericOnly('value', (value, args, backend) => {
  const rank = value.shape.length;
  let axis = (args.attrs as unknown as { axis: number }).axis;
  if (axis < 0) axis += rank;
  const outShape = value.shape.filter((_, i) => i !== axis);
  const outs = Array.from({ length: value.shape[axis] }, () => backend.makeOutput(outShape, value.dtype));
  if (tf.util.sizeFromShape(outShape) === 0) return outs;
  const { heap, at } = heapOf(backend, value, ...outs);
  const size = value.shape.map((d, i) => (i === axis ? 1 : d));
  outs.forEach((_, i) => copyRegion(heap, at[0], value.shape, value.shape.map((__, a) => (a === axis ? i : 0)), at[i + 1], size, size.map(() => 0), size));
  return outs;
});

const tile = numericOnly('x', (x, args, backend) => {
  const reps = (args.attrs as unknown as { reps: number[] }).reps;
  const outShape = x.shape.map((d, i) => d * reps[i]);
  const out = backend.makeOutput(outShape, x.dtype);
  if (tf.util.sizeFromShape(outShape) === 0) return out;
  const { heap, at } = heapOf(backend, x, out);
  tileInto(heap, at[0], x.shape, reps, at[1]);
  return out;
});

const reverse = numericOnly('x', (x, args, backend) => {
  const axes = tf.util.parseAxisParam((args.attrs as unknown as { dims: number | number[] }).dims, x.shape).filter((a) => x.shape[a] > 1);
  const out = backend.makeOutput(x.shape, x.dtype);
  if (tf.util.sizeFromShape(x.shape) === 0) return out;
  const { heap, at } = heapOf(backend, x, out);
  reverseInto(heap, at[0], x.shape, axes, at[1]);
  return out;
});

/** The constant fills the output, then the input goes in as one region. */
const pad = numericOnly('x', (x, args, backend) => {
  const { paddings, constantValue } = args.attrs as unknown as { paddings: Array<[number, number]>; constantValue: number };
  const outShape = x.shape.map((d, i) => paddings[i][0] + d + paddings[i][1]);
  const out = backend.makeOutput(outShape, x.dtype);
  const { heap, at } = heapOf(backend, x, out);
  heap.fill(constantValue, at[1], at[1] + tf.util.sizeFromShape(outShape));
  if (tf.util.sizeFromShape(x.shape) > 0) copyRegion(heap, at[0], x.shape, x.shape.map(() => 0), at[1], outShape, paddings.map((p) => p[0]), x.shape);
  return out;
});

/** out[b, o, i, :] = x[b, o, indices[b, i], :] with runs of the trailing slice copied whole. */
const gather = numericOnly('x', (x, args, backend) => {
  const indices = args.inputs.indices as tf.TensorInfo;
  const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims: number };
  const parsedAxis = tf.util.parseAxisParam(axis, x.shape)[0];
  const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(x, indices, parsedAxis, batchDims);
  const out = backend.makeOutput(info.outputShape, x.dtype);
  const idx = backend.typedArrayFromHeap(indices);
  for (const i of idx) if (i < 0 || i >= info.dimSize) throw new Error(`GatherV2: the index value ${i} is not in [0, ${info.dimSize - 1}]`);
  if (tf.util.sizeFromShape(info.outputShape) === 0) return out;
  const { heap, at } = heapOf(backend, x, out);
  const { batchSize, outerSize, dimSize, sliceSize } = info;
  const perBatch = idx.length / batchSize;
  let to = at[1];
  for (let b = 0; b < batchSize; b++) {
    for (let o = 0; o < outerSize; o++) {
      const base = (b * outerSize + o) * dimSize;
      for (let i = 0; i < perBatch; i++, to += sliceSize) copyRun(heap, at[0] + (base + idx[b * perBatch + i]) * sliceSize, to, sliceSize);
    }
  }
  return out;
});

/**
 * Identity without a copy (another reference to the same data, as the cpu backend and the wasm Reshape
 * do; no wasm kernel writes into its inputs). The engine clones every tensor it saves for a backward
 * pass, so with the copying original the gradient tape held each saved activation twice.
 */
function shareData(x: tf.TensorInfo, backend: unknown): tf.TensorInfo {
  (backend as { incRef(dataId: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
}

const identity = numericOnly('x', (x, args) => shareData(x, args.backend));

/**
 * Cast to the tensor's own dtype without a copy, like Identity. The engine clones each tensor it saves
 * for the backward pass, and each clone's gradient is such a float32 → float32 Cast of the upstream
 * gradient: ~630 full copies per fmn04+tf:64 micro-batch with the copying original. Real conversions
 * keep the original kernel.
 */
function castKernel(original: tf.KernelConfig): tf.KernelConfig {
  return {
    ...original,
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      if (x.dtype !== (args.attrs as unknown as { dtype: tf.DataType }).dtype) return original.kernelFunc(args);
      return shareData(x, args.backend);
    },
  };
}

/** Kernel name → wrapper around the original wasm kernel (kept for string tensors). */
export const WASM_COPY_OVERRIDES: Array<[string, (original: tf.KernelConfig) => tf.KernelConfig]> = [
  ['Slice', slice],
  ['Unpack', unpack],
  ['Tile', tile],
  ['GatherV2', gather],
  ['PadV2', pad],
  ['Reverse', reverse],
  ['Identity', identity],
  ['Cast', castKernel],
];

/**
 * Gradient kernels the tfjs wasm backend lacks, registered so the engine can train on wasm.
 *
 * tfjs-backend-wasm 4.22 has no `Conv2DBackpropFilter`, `DepthwiseConv2dNativeBackpropFilter` or
 * `DepthwiseConv2dNativeBackpropInput` (every conv / depthwise conv backward pass needs them). Each is
 * written here with ops the wasm backend does have (pad, slice, concat, matmul, average pooling,
 * depthwise conv), so the work stays in wasm — no per-call detour through the cpu backend.
 *
 * Kernels run nested inside the engine (kernelDepth > 0), so the ops used here are never taped and
 * their intermediates are disposed before returning; the result's buffer gets one extra reference that
 * the engine's output tensor takes over.
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerWasmDropoutMask } from './dropoutMask';
import { WASM_COPY_OVERRIDES } from './wasmCopyKernels';

type Conv2DInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;
type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type RoundingMode = 'floor' | 'round' | 'ceil' | undefined;

interface RefCountingBackend {
  incRef(dataId: object): void;
}

/** Hand a tensor computed with ops over to the engine as a kernel output. */
function asKernelOutput(result: tf.Tensor, backend: unknown): tf.TensorInfo {
  (backend as RefCountingBackend).incRef(result.dataId);
  const info = { dataId: result.dataId, shape: result.shape.slice(), dtype: result.dtype };
  result.dispose();
  return info;
}

function checkUnitDilations(kernel: string, dilations: number | [number, number] | undefined): void {
  const d = dilations == null ? [1, 1] : typeof dilations === 'number' ? [dilations, dilations] : dilations;
  if (d[0] !== 1 || d[1] !== 1) throw new Error(`${kernel} on wasm: dilations ${d} are not supported (only 1)`);
}

/**
 * tf.transpose as the wasm backend runs it fast: the permutation is reduced to its essential rank
 * (size-1 axes dropped, axes that stay adjacent merged); a permutation that moves nothing becomes a
 * reshape; above rank 4 it is done as a series of single-axis moves, each a rank-4 transpose
 * [before, between, axis, after] → [before, axis, between, after]. The wasm Transpose kernel is ~10×
 * slower at rank 5–6 than these passes together (measured: 287 ms vs 28 ms for 1.6 M floats).
 */
export function compactTranspose(x: tf.Tensor, perm: number[]): tf.Tensor {
  const outShape = perm.map((a) => x.shape[a]);
  const axes = perm.filter((a) => x.shape[a] !== 1);
  // Group runs of consecutive source axes (in output order) into single axes.
  const groups: number[][] = [];
  for (const a of axes) {
    const last = groups[groups.length - 1];
    if (last && a === last[last.length - 1] + 1) last.push(a);
    else groups.push([a]);
  }
  const bySource = [...groups].sort((g, h) => g[0] - h[0]);
  const shape = bySource.map((g) => g.reduce((n, a) => n * x.shape[a], 1));
  const target = groups.map((g) => bySource.indexOf(g));
  if (target.every((p, i) => p === i)) return tf.reshape(x, outShape);
  if (target.length <= 4) return tf.reshape(tf.transpose(tf.reshape(x, shape), target), outShape);
  let order = shape.map((_, i) => i); // current axis order, as indices into `shape`
  let y = tf.reshape(x, shape);
  for (let k = 0; k < target.length; k++) {
    const i = order.indexOf(target[k]);
    if (i === k) continue;
    const size = (from: number, to: number) => order.slice(from, to).reduce((n, a) => n * shape[a], 1);
    const view = [size(0, k), size(k, i), shape[order[i]], size(i + 1, order.length)];
    y = tf.transpose(tf.reshape(y, view), [0, 2, 1, 3]);
    order = [...order.slice(0, k), order[i], ...order.slice(k, i), ...order.slice(i + 1)];
  }
  return tf.reshape(y, outShape);
}

/**
 * x zero-padded by the conv's padding and then up to a multiple of the stride, split into its stride
 * phases [sh, sw, n, hq, wq, c] with one reshape + transpose. Phase (r, q)
 * holds the rows ≡ r (mod sh) and cols ≡ q (mod sw), so filter tap (i, j) at output (oh, ow) reads
 * phase (i mod sh, j mod sw) at (oh + ⌊i/sh⌋, ow + ⌊j/sw⌋) — no strided slices (the wasm StridedSlice
 * kernel is a slow element-by-element loop).
 */
function stridePhases(x: tf.Tensor4D, info: Conv2DInfo): { phases: tf.Tensor; hq: number; wq: number } {
  const { top, left } = info.padInfo;
  const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow, filterHeight: kh, filterWidth: kw } = info;
  const [n, h, w, c] = x.shape;
  const hq = oh + Math.floor((kh - 1) / sh);
  const wq = ow + Math.floor((kw - 1) / sw);
  const bottom = hq * sh - top - h;
  const right = wq * sw - left - w;
  // Rows no window touches are cropped rather than padded negatively.
  let xp: tf.Tensor4D = bottom < 0 || right < 0 ? tf.slice(x, [0, 0, 0, 0], [-1, h + Math.min(bottom, 0), w + Math.min(right, 0), -1]) : x;
  if (top || left || bottom > 0 || right > 0) xp = tf.pad(xp, [[0, 0], [top, Math.max(bottom, 0)], [left, Math.max(right, 0)], [0, 0]]);
  const split = tf.reshape(xp, [n, hq, sh, wq, sw, c]);
  return { phases: compactTranspose(split, [2, 4, 0, 1, 3, 5]), hq, wq };
}

/** The input rows/cols each filter tap meets, as contiguous slices of the stride phases. */
class TapSource {
  private readonly phases: tf.Tensor4D;
  private readonly n: number;

  constructor(x: tf.Tensor4D, private readonly info: Conv2DInfo) {
    this.n = x.shape[0];
    const { phases, hq, wq } = stridePhases(x, info);
    this.phases = tf.reshape(phases, [info.strideHeight * info.strideWidth * this.n, hq, wq, x.shape[3]]);
  }

  /** [N, rows, outW, C] for filter tap (i, j) at output rows first…first + rows (default: all). */
  tap(i: number, j: number, first = 0, rows = this.info.outHeight): tf.Tensor4D {
    const { strideHeight: sh, strideWidth: sw, outWidth: ow } = this.info;
    const phase = (i % sh) * sw + (j % sw);
    return tf.slice(this.phases, [phase * this.n, Math.floor(i / sh) + first, Math.floor(j / sw), 0], [this.n, rows, ow, -1]);
  }
}

/**
 * dW[i,j,ci,co] = Σ_{n,oh,ow} xPadded[n, oh·sh+i, ow·sw+j, ci] · dy[n,oh,ow,co]:
 * im2col over the filter taps, then one matmul.
 */
function conv2dBackpropFilterImpl(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number], strides: number | [number, number], pad: Pad, dimRoundingMode?: RoundingMode): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
    const [kh, kw, cin, cout] = filterShape;
    const rows = x.shape[0] * info.outHeight * info.outWidth;
    const dy2 = tf.reshape(dy, [rows, cout]) as tf.Tensor2D;
    if (x.shape[1] === info.outHeight && x.shape[2] === info.outWidth && kh === 1 && kw === 1) {
      // 1×1, stride 1, no padding. The wasm matmul repacks its right operand on every call, at a cost
      // growing with its width and several times the multiply itself here (rows ≫ channels): the
      // narrower of x and dy goes right, dWᵀ = dyᵀ·x when cin < cout (−26 % over the fmn04 blocks).
      const x2 = tf.reshape(x, [rows, cin]) as tf.Tensor2D;
      const grad = cin < cout ? compactTranspose(tf.matMul(compactTranspose(dy2, [1, 0]) as tf.Tensor2D, x2), [1, 0]) : tf.matMul(compactTranspose(x2, [1, 0]) as tf.Tensor2D, dy2);
      return tf.reshape(grad, [1, 1, cin, cout]);
    }
    const src = new TapSource(x, info);
    const taps: tf.Tensor2D[] = [];
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) taps.push(tf.reshape(src.tap(i, j), [rows, cin]));
    // colsᵀ [kh·kw·cin, rows]: the wasm matmul is fastest with both operands untransposed. One input
    // channel (the stem): each tap already is a row of colsᵀ, stacked without a transpose (a last-axis
    // concat of width-1 columns is slow on wasm).
    const colsT = cin === 1 ? tf.reshape(tf.concat(taps.map((t) => tf.reshape(t, [1, rows])), 0), [kh * kw, rows]) : (compactTranspose(taps.length === 1 ? taps[0] : tf.concat(taps, 1), [1, 0]) as tf.Tensor2D);
    return tf.reshape(tf.matMul(colsT, dy2), [kh, kw, cin, cout]);
  });
}

/**
 * Depthwise (channel multiplier 1): dW[i,j,c] = Σ_{n,oh,ow} xPadded[n, oh·sh+i, ow·sw+j, c] · dy[n,oh,ow,c],
 * tap by tap: the tap's input slice (TapSource) times dy, averaged over [n,oh,ow] (one XNNPACK pooling,
 * see reduceAsAvgPool) and scaled by the count. 1.2–3.6× faster (1.9× over the fmn04 blocks) than one
 * depthwise conv taking dy as a filter as large as the activation, which XNNPACK runs at ~0.4 GMAC/s.
 * Output rows whose tap row lies in the padding contribute nothing and are left out: in the late
 * blocks (2 frequency rows, 5×5 taps) that is 60 % of the work. wasmTraining.ts replaces this kernel by
 * one native pass; this one stays for SED_WASM_UNFUSED_TRAINING=1 (A/B benchmarks).
 */
function depthwiseBackpropFilterImpl(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number], strides: number | [number, number], pad: Pad, dimRoundingMode?: RoundingMode): tf.Tensor4D {
  return tf.tidy((): tf.Tensor4D => {
    const [kh, kw, c, mult] = filterShape;
    if (mult !== 1) throw new Error(`DepthwiseConv2dNativeBackpropFilter on wasm: channel multiplier ${mult} is not supported (only 1)`);
    const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode, true, 'channelsLast');
    const { strideHeight: sh, outHeight: oh, padInfo } = info;
    const [n, h] = x.shape;
    const src = new TapSource(x, info);
    const means: tf.Tensor[] = [];
    const counts: number[] = [];
    for (let i = 0; i < kh; i++) {
      // Output rows r whose input row r·sh + i − top is inside x.
      const first = Math.max(0, Math.ceil((padInfo.top - i) / sh));
      const last = Math.min(oh, Math.floor((h - 1 + padInfo.top - i) / sh) + 1);
      const rows = Math.max(0, last - first);
      const dyRows = rows === oh ? dy : tf.slice(dy, [0, first, 0, 0], [-1, rows, -1, -1]);
      for (let j = 0; j < kw; j++) {
        counts.push(rows * n * info.outWidth);
        means.push(rows === 0 ? tf.zeros([c]) : tf.mean(tf.mul(src.tap(i, j, first, rows), dyRows), [0, 1, 2]));
      }
    }
    return tf.reshape(tf.mul(tf.stack(means), tf.tensor2d(counts, [counts.length, 1])), [kh, kw, c, 1]);
  });
}

/**
 * Depthwise input gradient: dx[h] = Σ_i dy_dilated[h + top − i]·w[i], i.e. a stride-1 depthwise conv of
 * dy (zeros inserted between rows/cols for strides > 1, padded by k−1−top on the leading side) with
 * the spatially flipped filter.
 */
export function depthwiseBackpropInputImpl(inputShape: [number, number, number, number], dy: tf.Tensor4D, filter: tf.Tensor4D, strides: number | [number, number], pad: Pad, dimRoundingMode?: RoundingMode): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, c, mult] = filter.shape;
    if (mult !== 1) throw new Error(`DepthwiseConv2dNativeBackpropInput on wasm: channel multiplier ${mult} is not supported (only 1)`);
    const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape, strides, 1, pad, dimRoundingMode, true, 'channelsLast');
    const [n, h, w] = inputShape;
    const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
    let d: tf.Tensor4D = dy;
    if (sh > 1 || sw > 1) {
      // Insert stride−1 zeros after every row/col via a padded extra axis, then drop the trailing zeros.
      const expanded = tf.reshape(dy, [n, oh, 1, ow, 1, c]);
      const spread = tf.pad(expanded, [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
      d = tf.slice(tf.reshape(spread, [n, oh * sh, ow * sw, c]) as tf.Tensor4D, [0, 0, 0, 0], [-1, (oh - 1) * sh + 1, (ow - 1) * sw + 1, -1]);
    }
    const lead = (k: number, p: number) => k - 1 - p;
    const top = lead(kh, info.padInfo.top);
    const left = lead(kw, info.padInfo.left);
    const bottom = h + kh - 1 - top - d.shape[1];
    const right = w + kw - 1 - left - d.shape[2];
    // Negative amounts (only with odd 'valid'-style geometry) become crops.
    const crop = [Math.max(-top, 0), Math.max(-left, 0)];
    const sizeH = d.shape[1] - crop[0] - Math.max(-bottom, 0);
    const sizeW = d.shape[2] - crop[1] - Math.max(-right, 0);
    if (crop[0] || crop[1] || bottom < 0 || right < 0) d = tf.slice(d, [0, crop[0], crop[1], 0], [-1, sizeH, sizeW, -1]);
    const flipped = tf.reverse(filter, [0, 1]) as tf.Tensor4D;
    // Padding inside the conv (XNNPACK's), not a padded copy of dy.
    return tf.depthwiseConv2d(d, flipped, 1, [[0, 0], [Math.max(top, 0), Math.max(bottom, 0)], [Math.max(left, 0), Math.max(right, 0)], [0, 0]]);
  });
}

export interface ConvGradAttrs {
  strides: number | [number, number];
  pad: Pad;
  dimRoundingMode?: RoundingMode;
  dilations?: number | [number, number];
  dataFormat?: 'NHWC' | 'NCHW';
  filterShape?: [number, number, number, number];
  inputShape?: [number, number, number, number];
}

/**
 * Run `body` on the kernel inputs as Tensors. The engine passes the op's Tensors; a bare TensorInfo
 * (a kernel called from another kernel) is wrapped without copying and the wrapper released afterwards.
 */
export function withInputs(infos: tf.TensorInfo[], backend: unknown, body: (...ts: tf.Tensor4D[]) => tf.Tensor): tf.TensorInfo {
  const tensors = infos.map((info) => withTensor(info, backend) as tf.Tensor4D);
  try {
    return asKernelOutput(body(...tensors), backend);
  } finally {
    tensors.forEach((t, i) => t !== infos[i] && t.dispose());
  }
}

/** `info` as a Tensor: itself if it is one, else a new wrapper of the same data (the caller disposes it). */
function withTensor(info: tf.TensorInfo, backend: unknown): tf.Tensor {
  if (info instanceof tf.Tensor) return info;
  (backend as RefCountingBackend).incRef(info.dataId);
  return tf.engine().makeTensorFromTensorInfo(info);
}

const KERNELS: tf.KernelConfig[] = [
  {
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const a = attrs as unknown as ConvGradAttrs;
      if (a.dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter on wasm: only NHWC is supported');
      return withInputs([inputs.x!, inputs.dy!], backend, (x, dy) => conv2dBackpropFilterImpl(x, dy, a.filterShape!, a.strides, a.pad, a.dimRoundingMode));
    },
  },
  {
    kernelName: 'DepthwiseConv2dNativeBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const a = attrs as unknown as ConvGradAttrs;
      checkUnitDilations('DepthwiseConv2dNativeBackpropFilter', a.dilations);
      return withInputs([inputs.x!, inputs.dy!], backend, (x, dy) => depthwiseBackpropFilterImpl(x, dy, a.filterShape!, a.strides, a.pad, a.dimRoundingMode));
    },
  },
  {
    kernelName: 'DepthwiseConv2dNativeBackpropInput',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const a = attrs as unknown as ConvGradAttrs;
      checkUnitDilations('DepthwiseConv2dNativeBackpropInput', a.dilations);
      return withInputs([inputs.dy!, inputs.filter!], backend, (dy, filter) => depthwiseBackpropInputImpl(a.inputShape!, dy, filter, a.strides, a.pad, a.dimRoundingMode));
    },
  },
];

/**
 * Faster paths for kernels wasm has but runs slowly in training, measured on this backend:
 * BatchMatMul / _FusedMatMul with a transposed operand (every matmul gradient has one) take 3–10×
 * longer than an explicit transpose followed by a plain matmul, and the built-in
 * Conv2DBackpropInput of a 1×1 convolution is ~10× slower than the equivalent matmul; Sum/Mean and
 * per-channel binary ops below; data movement in ./wasmCopyKernels. Other cases go to the original
 * kernel unchanged.
 */
function lastTwoSwapped(t: tf.Tensor): tf.Tensor {
  const r = t.rank;
  return compactTranspose(t, [...Array(r - 2).keys(), r - 1, r - 2]);
}

function matMulUntransposed(original: tf.KernelConfig): tf.KernelConfig {
  return {
    ...original,
    kernelFunc: (args) => {
      const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
      const a = args.inputs.a as tf.Tensor;
      const b = args.inputs.b as tf.Tensor;
      if ((!transposeA && !transposeB) || !(a instanceof tf.Tensor) || !(b instanceof tf.Tensor)) return original.kernelFunc(args);
      const at = transposeA ? tf.tidy(() => lastTwoSwapped(a)) : a;
      const bt = transposeB ? tf.tidy(() => lastTwoSwapped(b)) : b;
      try {
        return original.kernelFunc({ ...args, inputs: { ...args.inputs, a: at, b: bt }, attrs: { ...args.attrs, transposeA: false, transposeB: false } });
      } finally {
        if (at !== a) at.dispose();
        if (bt !== b) bt.dispose();
      }
    },
  };
}

function conv1x1BackpropInput(original: tf.KernelConfig): tf.KernelConfig {
  return {
    ...original,
    kernelFunc: (args) => {
      const a = args.attrs as unknown as ConvGradAttrs;
      const dy = args.inputs.dy as tf.Tensor4D;
      const filter = args.inputs.filter as tf.Tensor4D;
      const [kh, kw, cin, cout] = filter.shape;
      const inShape = a.inputShape!;
      const unit = (v: number | [number, number]) => (typeof v === 'number' ? v === 1 : v[0] === 1 && v[1] === 1);
      const samePlane = dy.shape[1] === inShape[1] && dy.shape[2] === inShape[2];
      if (kh !== 1 || kw !== 1 || !unit(a.strides) || !samePlane || a.dataFormat === 'NCHW' || !(dy instanceof tf.Tensor)) return original.kernelFunc(args);
      // dx = dy · Wᵀ over all positions.
      return asKernelOutput(tf.tidy(() => {
        const w = tf.reshape(filter, [cin, cout]);
        const dx = tf.matMul(tf.reshape(dy, [-1, cout]), compactTranspose(w, [1, 0]) as tf.Tensor2D);
        return tf.reshape(dx, inShape);
      }), args.backend);
    },
  };
}

/**
 * Sum / Mean over one contiguous block of axes as an average pooling of [A, R, 1, C] over [R, 1]:
 * the wasm reduction first transposes the reduced axes last, which for BatchNorm statistics over
 * [B,F,T,C] (C = 8…384) is 5–20× slower than XNNPACK's pooling (a matmul with a row of ones is no
 * better: XNNPACK repacks the activation as its weights on every call). Reductions of trailing axes
 * (C = 1, no transpose) and other dtypes go to the original kernel.
 */
function reduceAsAvgPool(original: tf.KernelConfig, mean: boolean): tf.KernelConfig {
  return {
    ...original,
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
      const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
      const lo = axes[0];
      const hi = axes[axes.length - 1];
      const size = (from: number, to: number) => x.shape.slice(from, to).reduce((n, d) => n * d, 1);
      const [a, r, c] = [size(0, lo), size(lo, hi + 1), size(hi + 1, x.shape.length)];
      if (x.dtype !== 'float32' || axes.length === 0 || hi - lo + 1 !== axes.length || c === 1 || r === 1) return original.kernelFunc(args);
      const outShape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
      return withInputs([x], args.backend, (t) =>
        tf.tidy(() => {
          const avg = tf.avgPool(tf.reshape(t, [a, r, 1, c]) as tf.Tensor4D, [r, 1], 1, 'valid');
          return tf.reshape(mean ? avg : tf.mul(avg, r), outShape);
        }),
      );
    },
  };
}

/** Widths of the last axis from which the wasm broadcast of a vector runs as fast as equal shapes (measured). */
const FAST_BROADCAST_WIDTH = { min: 256, max: 1024 };

/**
 * Binary ops of [..., C] with a vector over the last axis (BatchNorm's per-channel terms): the wasm
 * broadcast loop is 3–7× slower than equal shapes for C ≤ 24. Viewing the tensor as [P/k, k·C] and
 * tiling the vector k times (k·C ≥ 256, k dividing P) restores the fast path.
 */
function widenedChannelBroadcast(original: tf.KernelConfig): tf.KernelConfig {
  return {
    ...original,
    kernelFunc: (args) => {
      const a = args.inputs.a as tf.TensorInfo;
      const b = args.inputs.b as tf.TensorInfo;
      const [big, vec] = tf.util.sizeFromShape(a.shape) >= tf.util.sizeFromShape(b.shape) ? [a, b] : [b, a];
      const c = big.shape[big.shape.length - 1];
      const isVector = vec.shape.length >= 1 && vec.shape.length <= big.shape.length && vec.shape[vec.shape.length - 1] === c && tf.util.sizeFromShape(vec.shape) === c;
      const rows = tf.util.sizeFromShape(big.shape) / c;
      let k = 0;
      if (a.dtype === 'float32' && b.dtype === 'float32' && isVector && c < FAST_BROADCAST_WIDTH.min) {
        for (let m = Math.ceil(FAST_BROADCAST_WIDTH.min / c); m * c <= FAST_BROADCAST_WIDTH.max && !k; m++) if (rows % m === 0) k = m;
      }
      if (!k) return original.kernelFunc(args);
      const wide = { ...big, shape: [rows / k, k * c] };
      const tiled = tf.tidy(() => tf.tile(tf.reshape(withTensor(vec, args.backend), [c]), [k]));
      try {
        const out = original.kernelFunc({ ...args, inputs: big === a ? { a: wide, b: tiled } : { a: tiled, b: wide } }) as tf.TensorInfo;
        return { ...out, shape: big.shape.slice() };
      } finally {
        tiled.dispose();
      }
    },
  };
}

const OVERRIDES: Array<[string, (original: tf.KernelConfig) => tf.KernelConfig]> = [
  ['Sum', (k) => reduceAsAvgPool(k, false)],
  ['Mean', (k) => reduceAsAvgPool(k, true)],
  ['Multiply', widenedChannelBroadcast],
  ['Add', widenedChannelBroadcast],
  ['Sub', widenedChannelBroadcast],
  ['RealDiv', widenedChannelBroadcast],
  ['BatchMatMul', matMulUntransposed],
  ['_FusedMatMul', matMulUntransposed],
  ['Conv2DBackpropInput', conv1x1BackpropInput],
  ...WASM_COPY_OVERRIDES,
];

const overridden = new Set<string>();

/** Names of the kernels this module adds to the wasm backend. */
export const WASM_GRADIENT_KERNELS = KERNELS.map((k) => k.kernelName);

/** Kernels this module replaces by faster paths (falling back to the originals). */
export const WASM_KERNEL_OVERRIDES = OVERRIDES.map(([name]) => name);

/** Register the missing gradient kernels, the dropout mask and the faster paths on the wasm backend (idempotent). */
export function registerWasmGradientKernels(): void {
  for (const k of KERNELS) {
    if (!tf.getKernel(k.kernelName, 'wasm')) tf.registerKernel(k);
  }
  registerWasmDropoutMask();
  for (const [name, wrap] of OVERRIDES) {
    if (overridden.has(name)) continue;
    const original = tf.getKernel(name, 'wasm');
    if (!original) continue;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(wrap(original));
    overridden.add(name);
  }
}

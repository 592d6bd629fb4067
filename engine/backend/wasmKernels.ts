/**
 * Gradient kernels the tfjs wasm backend lacks, registered so the engine can train on wasm.
 *
 * tfjs-backend-wasm 4.22 has no `Conv2DBackpropFilter`, `DepthwiseConv2dNativeBackpropFilter` or
 * `DepthwiseConv2dNativeBackpropInput` (every conv / depthwise conv backward pass needs them). Each is
 * written here with ops the wasm backend does have (pad, strided slice, concat, batched matmul,
 * depthwise conv), so the work stays in wasm — no per-call detour through the cpu backend.
 *
 * Kernels run nested inside the engine (kernelDepth > 0), so the ops used here are never taped and
 * their intermediates are disposed before returning; the result's buffer gets one extra reference that
 * the engine's output tensor takes over.
 */
import * as tf from '@tensorflow/tfjs-core';

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
 * phases with one reshape + transpose: `perm` orders the axes of [n, hq, sh, wq, sw, c]. Phase (r, q)
 * holds the rows ≡ r (mod sh) and cols ≡ q (mod sw), so filter tap (i, j) at output (oh, ow) reads
 * phase (i mod sh, j mod sw) at (oh + ⌊i/sh⌋, ow + ⌊j/sw⌋) — no strided slices (the wasm StridedSlice
 * kernel is a slow element-by-element loop).
 */
function stridePhases(x: tf.Tensor4D, info: Conv2DInfo, perm: number[]): { phases: tf.Tensor; hq: number; wq: number } {
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
  return { phases: compactTranspose(split, perm), hq, wq };
}

/** The input rows/cols each filter tap meets, as contiguous slices of the stride phases. */
class TapSource {
  private readonly phases: tf.Tensor4D;
  private readonly n: number;

  constructor(x: tf.Tensor4D, private readonly info: Conv2DInfo) {
    this.n = x.shape[0];
    const { phases, hq, wq } = stridePhases(x, info, [2, 4, 0, 1, 3, 5]);
    this.phases = tf.reshape(phases, [info.strideHeight * info.strideWidth * this.n, hq, wq, x.shape[3]]);
  }

  /** [N, outH, outW, C] for filter tap (i, j). */
  tap(i: number, j: number): tf.Tensor4D {
    const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = this.info;
    const phase = (i % sh) * sw + (j % sw);
    return tf.slice(this.phases, [phase * this.n, Math.floor(i / sh), Math.floor(j / sw), 0], [this.n, oh, ow, -1]);
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
    // colsᵀ [kh·kw·cin, rows]: the wasm matmul is fastest with both operands untransposed.
    let colsT: tf.Tensor2D;
    if (x.shape[1] === info.outHeight && x.shape[2] === info.outWidth && kh === 1 && kw === 1) {
      colsT = compactTranspose(tf.reshape(x, [rows, cin]), [1, 0]) as tf.Tensor2D; // 1×1, stride 1, no padding
    } else {
      const src = new TapSource(x, info);
      const taps: tf.Tensor2D[] = [];
      for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) taps.push(tf.reshape(src.tap(i, j), [rows, cin]));
      // One input channel (the stem): each tap already is a row of colsᵀ, stacked without a transpose
      // (a last-axis concat of width-1 columns is slow on wasm).
      colsT = cin === 1 ? tf.reshape(tf.concat(taps.map((t) => tf.reshape(t, [1, rows])), 0), [kh * kw, rows]) : (compactTranspose(taps.length === 1 ? taps[0] : tf.concat(taps, 1), [1, 0]) as tf.Tensor2D);
    }
    const grad = tf.matMul(colsT, tf.reshape(dy, [rows, cout]));
    return tf.reshape(grad, [kh, kw, cin, cout]);
  });
}

/**
 * Depthwise (channel multiplier 1): dW[i,j,c] = Σ_{n,oh,ow} xPadded[n, oh·sh+i, ow·sw+j, c] · dy[n,oh,ow,c].
 * For each stride phase this is a valid cross-correlation of x with dy, per channel — itself a
 * depthwise conv with dy as the (large) filter. The batch is folded into the channels ([1,H,W,N·C],
 * summed afterwards) and the phases into the batch, so one wasm depthwise conv computes every tap:
 * several times faster than per-tap slice·multiply·reduce.
 */
function depthwiseBackpropFilterImpl(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number], strides: number | [number, number], pad: Pad, dimRoundingMode?: RoundingMode): tf.Tensor4D {
  return tf.tidy((): tf.Tensor4D => {
    const [kh, kw, c, mult] = filterShape;
    if (mult !== 1) throw new Error(`DepthwiseConv2dNativeBackpropFilter on wasm: channel multiplier ${mult} is not supported (only 1)`);
    const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode, true, 'channelsLast');
    const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
    const n = x.shape[0];
    const { phases, hq, wq } = stridePhases(x, info, [2, 4, 1, 3, 0, 5]); // [sh·sw, hq, wq, n, c]
    const input = tf.reshape(phases, [sh * sw, hq, wq, n * c]) as tf.Tensor4D;
    const filter = tf.reshape(compactTranspose(dy, [1, 2, 0, 3]), [oh, ow, n * c, 1]) as tf.Tensor4D;
    const ah = hq - oh + 1;
    const aw = wq - ow + 1;
    const corr = tf.depthwiseConv2d(input, filter, 1, 'valid'); // [sh·sw, ah, aw, n·c]
    const summed = tf.sum(tf.reshape(corr, [sh, sw, ah, aw, n, c]), 4); // [r, q, a, b, c]
    // Tap (a·sh + r, b·sw + q).
    const taps = tf.reshape(compactTranspose(summed, [2, 0, 3, 1, 4]), [ah * sh, aw * sw, c]);
    return tf.reshape(tf.slice(taps, [0, 0, 0], [kh, kw, c]), [kh, kw, c, 1]);
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
    const padded = tf.pad(d, [[0, 0], [Math.max(top, 0), Math.max(bottom, 0)], [Math.max(left, 0), Math.max(right, 0)], [0, 0]]);
    const flipped = tf.reverse(filter, [0, 1]) as tf.Tensor4D;
    return tf.depthwiseConv2d(padded, flipped, 1, 'valid');
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
  const wrappers: tf.Tensor[] = [];
  const tensors = infos.map((info) => {
    if (info instanceof tf.Tensor) return info as tf.Tensor4D;
    (backend as RefCountingBackend).incRef(info.dataId);
    const t = tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor4D;
    wrappers.push(t);
    return t;
  });
  try {
    return asKernelOutput(body(...tensors), backend);
  } finally {
    for (const t of wrappers) t.dispose();
  }
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
 * Conv2DBackpropInput of a 1×1 convolution is ~10× slower than the equivalent matmul. Other cases go
 * to the original kernel unchanged.
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

const OVERRIDES: Array<[string, (original: tf.KernelConfig) => tf.KernelConfig]> = [
  ['BatchMatMul', matMulUntransposed],
  ['_FusedMatMul', matMulUntransposed],
  ['Conv2DBackpropInput', conv1x1BackpropInput],
];

const overridden = new Set<string>();

/** Names of the kernels this module adds to the wasm backend. */
export const WASM_GRADIENT_KERNELS = KERNELS.map((k) => k.kernelName);

/** Kernels this module replaces by faster paths (falling back to the originals). */
export const WASM_KERNEL_OVERRIDES = OVERRIDES.map(([name]) => name);

/** Register the missing gradient kernels and the faster paths on the wasm backend (idempotent). */
export function registerWasmGradientKernels(): void {
  for (const k of KERNELS) {
    if (!tf.getKernel(k.kernelName, 'wasm')) tf.registerKernel(k);
  }
  for (const [name, wrap] of OVERRIDES) {
    if (overridden.has(name)) continue;
    const original = tf.getKernel(name, 'wasm');
    if (!original) continue;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(wrap(original));
    overridden.add(name);
  }
}

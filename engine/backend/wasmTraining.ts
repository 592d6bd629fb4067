/**
 * Training kernels of the wasm backend that run as native SIMD code (wasmNative.ts) on the tensors in
 * tfjs' wasm memory: the fused BatchNorm → activation op's three kernels (fusedBatchNorm.ts; one pass per
 * kernel instead of ~20 tfjs ops a layer), the depthwise filter gradient (one pass instead of a
 * slice, a product and a mean per tap) and the 1×1 conv filter gradient (xᵀ·dy without transposing x:
 * 1.3–9× faster than transpose + tfjs' GEMM on the fmn04 layers), depthwise convs (their input gradients
 * where the taps mostly meet padding), and the matrix products of wasmMatMul.ts (1×1 convs, linear layers,
 * attention, their gradients).
 * The BatchNorm passes keep one split: `part` is [1, 2, C].
 * SED_WASM_UNFUSED_TRAINING=1 leaves them unregistered (tfjs ops; for A/B benchmarks).
 */
import * as tf from '@tensorflow/tfjs-core';
import { BN_APPLY, BN_FINISH, BN_SPLIT, type FinishMode, type NormAttrs, type SplitMode, type TrainAct } from './fusedBatchNorm';
import { matMulKernels } from './wasmMatMul';
import { makeOutput, nativeKernels, offsetOf, withScratch } from './wasmNative';

interface WasmHeapViews {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

const ACT: Record<TrainAct, number> = { linear: 0, relu: 1, hardswish: 2 };

/** (rows − 1) / rows: the unbiased batch variance back to the biased one that normalises (PyTorch). */
const varScale = (rows: number): number => Math.max(rows - 1, 1) / rows;

const rowsOf = (t: tf.TensorInfo): number => t.shape.slice(0, -1).reduce((n, d) => n * d, 1);

function bnSplit({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { y, dy, bnMean, bnVar, gamma, beta, part } = inputs as Record<string, tf.TensorInfo>;
  const { mode, act, eps } = attrs as unknown as NormAttrs & { mode: SplitMode };
  const native = nativeKernels(backend);
  const at = (t: tf.TensorInfo) => offsetOf(backend, t);
  const rows = rowsOf(y);
  const C = y.shape[y.shape.length - 1];
  if (mode === 'moments') {
    const out = makeOutput(backend, [1, 2, C]);
    withScratch(backend, [4 * C, 8 * C], (acc, sum) => native.bnMoments(at(y), rows, C, at(out), acc, sum));
    return out;
  }
  const stats = [at(bnMean), at(bnVar), at(gamma), at(beta)] as const;
  if (mode === 'gradSums') {
    const out = makeOutput(backend, [1, 2, C]);
    withScratch(backend, [12 * C, 8 * C, 16 * C], (coef, acc, sum) => native.bnGradSums(at(y), at(dy), rows, C, ...stats, varScale(rows), eps, ACT[act], at(out), coef, acc, sum));
    return out;
  }
  const dx = makeOutput(backend, y.shape);
  withScratch(backend, [24 * C], (coef) => native.bnGradApply(at(y), at(dy), rows, C, ...stats, at(part), varScale(rows), eps, ACT[act], at(dx), coef));
  return dx;
}

function bnFinish({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const { which, rows } = attrs as unknown as { which: FinishMode; rows: number };
  const wasm = backend as unknown as WasmHeapViews;
  const C = inputs.part!.shape[2];
  const part = wasm.typedArrayFromHeap(inputs.part!);
  const outs = [makeOutput(backend, [C]), makeOutput(backend, [C])];
  const [first, second] = outs.map((t) => wasm.typedArrayFromHeap(t));
  first.set(part.subarray(0, C));
  if (which === 'sums') second.set(part.subarray(C, 2 * C));
  else for (let c = 0; c < C; c++) second[c] = part[C + c] / Math.max(rows - 1, 1);
  return outs;
}

function bnApply({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { y, bnMean, bnVar, gamma, beta, res } = inputs as Record<string, tf.TensorInfo>;
  const { act, eps } = attrs as unknown as NormAttrs;
  const at = (t: tf.TensorInfo) => offsetOf(backend, t);
  const rows = rowsOf(y);
  const C = y.shape[y.shape.length - 1];
  const out = makeOutput(backend, y.shape);
  withScratch(backend, [12 * C], (coef) =>
    nativeKernels(backend).bnApply(at(y), rows, C, at(bnMean), at(bnVar), at(gamma), at(beta), res ? at(res) : 0, varScale(rows), eps, ACT[act], at(out), coef));
  return out;
}

/** Attributes of the conv kernels (forward, input and filter gradients) as tfjs passes them. */
interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
  dataFormat?: 'NHWC' | 'NCHW';
}

type Conv2DInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

/** Fraction of a depthwise conv's output-tap products whose input lies inside x (not in the padding). */
function insideTapFraction(info: Conv2DInfo): number {
  const inside = (outs: number, stride: number, pad: number, k: number, size: number) => {
    let n = 0;
    for (let o = 0; o < outs; o++) n += Math.max(0, Math.min(k, size - (o * stride - pad)) - Math.max(0, pad - o * stride));
    return n / (outs * k);
  };
  return inside(info.outHeight, info.strideHeight, info.padInfo.top, info.filterHeight, info.inHeight) * inside(info.outWidth, info.strideWidth, info.padInfo.left, info.filterWidth, info.inWidth);
}

/**
 * Depthwise convs run natively (with the relaxed build's FMA 1.5–4× faster than XNNPACK on the fmn04 layers in
 * training, 0.8–1× on 3×3 stride 2), their input gradients only when at most half the taps lie inside the
 * input (the 5×5 convs over 2 or 1 frequency rows, ~2× faster): elsewhere tfjs' gradient (a forward conv of
 * the padded dy, itself native) is faster.
 */
const NATIVE_DEPTHWISE_MAX_INSIDE = { forward: 1, inputGrad: 0.5 };

/** The conv's geometry when it runs natively (see NATIVE_DEPTHWISE_MAX_INSIDE), else undefined. */
export function nativeDepthwiseInfo(xShape: number[], a: ConvAttrs, filterShape: number[], pass: keyof typeof NATIVE_DEPTHWISE_MAX_INSIDE): Conv2DInfo | undefined {
  if (a.dataFormat === 'NCHW' || filterShape[3] !== 1) return undefined;
  const info = tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], filterShape as [number, number, number, number], a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, true);
  return info.dilationHeight === 1 && info.dilationWidth === 1 && insideTapFraction(info) <= NATIVE_DEPTHWISE_MAX_INSIDE[pass] ? info : undefined;
}

/** The geometry arguments of the native conv kernels, in their order. */
const dims = (info: Conv2DInfo) => [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left] as const;

function depthwiseConv(args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | tf.TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const { x, filter } = inputs as Record<string, tf.TensorInfo>;
  const info = nativeDepthwiseInfo(x.shape, attrs as unknown as ConvAttrs, filter.shape, 'forward');
  if (!info) return fallback('DepthwiseConv2dNative', args);
  const out = makeOutput(backend, info.outShape);
  nativeKernels(backend).depthwiseConv(offsetOf(backend, x), offsetOf(backend, filter), ...dims(info), offsetOf(backend, out));
  return out;
}

function depthwiseInputGrad(args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | tf.TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs as Record<string, tf.TensorInfo>;
  const a = attrs as unknown as ConvAttrs & { inputShape: number[] };
  const info = nativeDepthwiseInfo(a.inputShape, a, filter.shape, 'inputGrad');
  if (!info) return fallback('DepthwiseConv2dNativeBackpropInput', args);
  const out = makeOutput(backend, a.inputShape);
  nativeKernels(backend).depthwiseInputGrad(offsetOf(backend, dy), offsetOf(backend, filter), ...dims(info), offsetOf(backend, out));
  return out;
}

/** dw [kh, kw, C, 1] of a depthwise conv (multiplier 1, dilation 1) from x [B, H, W, C] and dy. */
function depthwiseFilterGrad({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { x, dy } = inputs as Record<string, tf.TensorInfo>;
  const a = attrs as unknown as ConvAttrs;
  const [kh, kw, C, mult] = a.filterShape;
  if (mult !== 1) throw new Error(`DepthwiseConv2dNativeBackpropFilter on wasm: channel multiplier ${mult} is not supported (only 1)`);
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], a.filterShape, a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, true, 'channelsLast');
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) throw new Error(`DepthwiseConv2dNativeBackpropFilter on wasm: dilations ${a.dilations} are not supported (only 1)`);
  const at = (t: tf.TensorInfo) => offsetOf(backend, t);
  const out = makeOutput(backend, a.filterShape);
  const taps = kh * kw * C;
  withScratch(backend, [4 * taps, 8 * taps], (acc, sum) => nativeKernels(backend).depthwiseFilterGrad(at(x), at(dy), ...dims(info), at(out), acc, sum));
  return out;
}

/** The kernels of the same name registered before this module's (wasmKernels.ts), for the cases it leaves to them. */
const fallbacks = new Map<string, tf.KernelFunc>();

function fallback(name: string, args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | tf.TensorInfo[] {
  const kernel = fallbacks.get(name);
  if (!kernel) throw new Error(`${name} on wasm: register wasmKernels.ts first (it handles the cases the native kernel does not)`);
  return kernel(args);
}

/** Filter elements (kh·kw·Ci·Co) up to which a k×k conv's filter gradient runs natively (the stem: 3·3·1·8). */
const NATIVE_CONV_FILTER_MAX = 1024;

/**
 * dw of a 1×1, stride-1 conv (any width), or of a k×k conv with a small filter (the stem), natively; other
 * convs go to the kernel registered before (im2col + GEMM).
 */
function convFilterGrad(args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | tf.TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs as Record<string, tf.TensorInfo>;
  const a = attrs as unknown as ConvAttrs;
  const [kh, kw, ci, co] = a.filterShape;
  const unit = (v: number | [number, number] | undefined) => v == null || (typeof v === 'number' ? v === 1 : v[0] === 1 && v[1] === 1);
  const pointwise = kh === 1 && kw === 1 && unit(a.strides) && unit(a.dilations) && a.dataFormat !== 'NCHW' && x.shape[1] === dy.shape[1] && x.shape[2] === dy.shape[2];
  const at = (t: tf.TensorInfo) => offsetOf(backend, t);
  if (pointwise) {
    const out = makeOutput(backend, a.filterShape);
    withScratch(backend, [8 * ci * co], (sum) => nativeKernels(backend).pointwiseFilterGrad(at(x), at(dy), rowsOf(x), ci, co, at(out), sum));
    return out;
  }
  const size = kh * kw * ci * co;
  if (size > NATIVE_CONV_FILTER_MAX || !unit(a.dilations) || a.dataFormat === 'NCHW') return fallback('Conv2DBackpropFilter', args);
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
  const out = makeOutput(backend, a.filterShape);
  withScratch(backend, [4 * size, 8 * size], (acc, sum) => nativeKernels(backend).convFilterGrad(at(x), at(dy), ...dims(info), co, at(out), acc, sum));
  return out;
}

const KERNELS: Record<string, tf.KernelFunc> = {
  [BN_SPLIT]: bnSplit,
  [BN_FINISH]: bnFinish,
  [BN_APPLY]: bnApply,
  DepthwiseConv2dNative: depthwiseConv,
  DepthwiseConv2dNativeBackpropInput: depthwiseInputGrad,
  DepthwiseConv2dNativeBackpropFilter: depthwiseFilterGrad,
  Conv2DBackpropFilter: convFilterGrad,
  ...matMulKernels(fallback),
};

/** Whether wasm's BatchMatMul is the native one (wasmMatMul.ts: batched products as fast as 2-D ones). */
export const nativeWasmMatMul = (): boolean => tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc === KERNELS.BatchMatMul;

/** Names of the kernels this module registers on the wasm backend. */
export const WASM_TRAINING_KERNELS = Object.keys(KERNELS);

/** Register the kernels on the wasm backend, replacing any of the same name (idempotent). */
export function registerWasmTrainingKernels(): void {
  if (process.env.SED_WASM_UNFUSED_TRAINING === '1') return;
  for (const [kernelName, kernelFunc] of Object.entries(KERNELS)) {
    const existing = tf.getKernel(kernelName, 'wasm');
    if (existing?.kernelFunc === kernelFunc) continue;
    if (existing) fallbacks.set(kernelName, existing.kernelFunc);
    if (existing) tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  }
}

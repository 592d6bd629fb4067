/**
 * Fused inference ops of the fmn backbone. On an H200, tfjs-webgpu inference is bound by the host cost of
 * issuing each kernel (~100–170 µs per dispatch in Node/dawn.node), not by the GPU: a block as tfjs ops is
 * ~17 dispatches (hardswish alone is four). On webgpu each op here is one dispatch (WGSL in
 * webgpuInferencePrograms.ts); other backends, and shapes the kernels do not cover, run the tfjs ops the
 * backbone used before, so their results do not change. The fused kernels have no gradients: inference
 * only. tfjs' own `DepthwiseConv2dNative` (training's forward depthwise conv; its gradient stays tfjs')
 * also runs the depthwise program: tfjs 4.22 takes a scalar one-output-per-thread kernel for outputs of
 * at most 4 rows, which the backbone's late blocks have. SED_WEBGPU_UNFUSED_INFERENCE=1 leaves them all
 * unregistered (tfjs' kernels; for A/B benchmarks on one GPU).
 */
import * as tf from '@tensorflow/tfjs-core';
import { hardswish } from '../models/layers';
import { fused, run, runProgram, webgpuKernelGroup, type WebgpuUtil } from './webgpuProgram';
import { PointwiseConvProgram, SeGateProgram, SpatialConvProgram, seGateFitsWorkgroup, type Activation } from './webgpuInferencePrograms';

export type { Activation };

/** Also the fused linear layer of the sequence models (webgpuSeqInference.ts). */
export const POINTWISE = 'SedPointwiseConv';
const SPATIAL = 'SedSpatialConv';
const SE_GATE = 'SedSeGate';

type Pad4 = [[number, number], [number, number], [number, number], [number, number]];
type PadAttr = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type Shape4 = [number, number, number, number];

/** Register the webgpu kernels (call once the webgpu backend is initialised). */
export const registerWebgpuInferenceKernels = webgpuKernelGroup('SED_WEBGPU_UNFUSED_INFERENCE', (util) => ({
  DepthwiseConv2dNative: depthwiseConvKernel(util),
  [POINTWISE]: ({ inputs, backend, attrs }) => {
    const { x, w, bias, gate, residual, gamma } = inputs;
    const { act } = attrs as unknown as { act: Activation };
    const K = x!.shape[3];
    const program = new PointwiseConvProgram(x!.shape, w!.shape[3], { act, bias: !!bias, gated: !!gate, residual: !!residual, norm: !!gamma });
    // Input order is the program's: x, w, then the optional ones as PointwiseConvProgram adds them.
    const optional = [bias, gate, residual, gamma].filter((t): t is tf.TensorInfo => !!t);
    return runProgram(backend, program, [x!, w!, ...optional], gamma ? [{ type: 'float32', data: [Math.sqrt(K)] }] : []);
  },
  [SPATIAL]: ({ inputs, backend, attrs }) => {
    const { x, w, bias } = inputs;
    const { strides, pad, depthwise, act } = attrs as unknown as SpatialConvOptions;
    const [B, H, W] = x!.shape;
    const [kh, kw] = w!.shape;
    const out = (n: number, k: number, s: number): number => Math.floor((n + 2 * pad - k) / s) + 1;
    const outShape = [B, out(H, kh, strides[0]), out(W, kw, strides[1]), bias!.shape[0]];
    const program = new SpatialConvProgram(outShape, [kh, kw], strides, [pad, pad], !depthwise, act, util);
    return runProgram(backend, program, [x!, w!, bias!], []);
  },
  [SE_GATE]: ({ inputs, backend }) => {
    const { x, w1, b1, w2, b2 } = inputs;
    const program = new SeGateProgram(x!.shape[0], x!.shape[3], w1!.shape[1]);
    return runProgram(backend, program, [x!, w1!, b1!, w2!, b2!], []);
  },
}));

/**
 * tfjs' DepthwiseConv2dNative (NHWC, channel multiplier 1, no dilation) as the depthwise program without bias;
 * tfjs' kernel (looked up before it is replaced) runs the rest.
 */
function depthwiseConvKernel(util: WebgpuUtil): tf.KernelFunc {
  const tfjsKernel = tf.getKernel('DepthwiseConv2dNative', 'webgpu')!.kernelFunc;
  return (args) => {
    const { x, filter } = args.inputs;
    const a = args.attrs as unknown as { strides: number | [number, number]; pad: PadAttr; dataFormat?: 'NHWC' | 'NCHW'; dilations?: number | [number, number]; dimRoundingMode?: 'floor' | 'round' | 'ceil' };
    if (a.dataFormat === 'NCHW' || filter!.shape[3] !== 1 || x!.dtype !== 'float32') return tfjsKernel(args);
    const info = tf.backend_util.computeConv2DInfo(x!.shape as Shape4, filter!.shape as Shape4, a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, true);
    if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return tfjsKernel(args);
    const program = new SpatialConvProgram(info.outShape, [info.filterHeight, info.filterWidth], [info.strideHeight, info.strideWidth], [info.padInfo.top, info.padInfo.left], false, 'linear', util, false);
    return runProgram(args.backend, program, [x!, filter!], []);
  };
}

export interface PointwiseConvOptions {
  act: Activation;
  /** [B, Cin]: squeeze-excitation gate multiplied into the input channels. */
  seGate?: tf.Tensor2D;
  /** [B, H, W, Cout]: added after the activation (a block's skip connection). */
  residual?: tf.Tensor4D;
}

/** 1×1 conv: act(x [B,H,W,Cin] (· seGate) ⊛ w [1,1,Cin,Cout] + bias) (+ residual) → [B,H,W,Cout]. */
export function pointwiseConv(x: tf.Tensor4D, w: tf.Tensor4D, bias: tf.Tensor1D, o: PointwiseConvOptions): tf.Tensor4D {
  if (fused(POINTWISE)) {
    const inputs: tf.NamedTensorMap = { x, w, bias };
    if (o.seGate) inputs.gate = o.seGate;
    if (o.residual) inputs.residual = o.residual;
    return run(POINTWISE, inputs, { act: o.act });
  }
  const [B, , , C] = x.shape;
  const gated: tf.Tensor4D = o.seGate ? tf.mul(x, tf.reshape(o.seGate, [B, 1, 1, C])) : x;
  const pad: Pad4 = [[0, 0], [0, 0], [0, 0], [0, 0]];
  const y = tf.fused.conv2d({ x: gated, filter: w, strides: [1, 1], pad, bias, activation: o.act === 'relu' ? 'relu' : 'linear' });
  const activated = o.act === 'hardswish' ? hardswish(y) : y;
  return o.residual ? tf.add(activated, o.residual) : activated;
}

export interface SpatialConvOptions {
  strides: [number, number];
  /** Symmetric zero padding of both spatial axes (PyTorch's (k−1)/2, not TF "same"). */
  pad: number;
  depthwise: boolean;
  act: Activation;
}

/**
 * k×k conv + bias + act of x [B,H,W,Cin]: depthwise (w [kh,kw,C,1]) or regular (w [kh,kw,Cin,Cout]). One
 * dispatch on webgpu for depthwise convs and one-input-channel regular convs (the stem).
 */
export function spatialConv(x: tf.Tensor4D, w: tf.Tensor4D, bias: tf.Tensor1D, o: SpatialConvOptions): tf.Tensor4D {
  if (fused(SPATIAL) && (o.depthwise ? w.shape[3] === 1 : w.shape[2] === 1)) return run(SPATIAL, { x, w, bias }, o);
  // Explicit padding: tfjs derives the output width of a numeric pad from the *height* stride.
  const pad: Pad4 = [[0, 0], [o.pad, o.pad], [o.pad, o.pad], [0, 0]];
  const activation = o.act === 'relu' ? 'relu' : 'linear';
  const y = o.depthwise
    // fused.depthwiseConv2d's typing omits explicit padding, which its kernels (cpu, wasm) do accept.
    ? tf.fused.depthwiseConv2d({ x, filter: w, strides: o.strides, pad: pad as unknown as number, bias, activation })
    : tf.fused.conv2d({ x, filter: w, strides: o.strides, pad, bias, activation });
  return o.act === 'hardswish' ? hardswish(y) : y;
}

/**
 * Squeeze-excitation gate of x [B,H,W,C]: sigmoid(relu(mean_{H,W}(x) · w1 + b1) · w2 + b2) → [B,C]
 * (w1 [C,S], w2 [S,C]). One dispatch on webgpu.
 */
export function seGate(x: tf.Tensor4D, w1: tf.Tensor2D, b1: tf.Tensor1D, w2: tf.Tensor2D, b2: tf.Tensor1D): tf.Tensor2D {
  if (fused(SE_GATE) && seGateFitsWorkgroup(x.shape[3], w1.shape[1])) return run(SE_GATE, { x, w1, b1, w2, b2 });
  return seGateOps(x, w1, b1, w2, b2);
}

/** `seGate` as differentiable tfjs ops (training, other backends). */
export function seGateOps(x: tf.Tensor4D, w1: tf.Tensor2D, b1: tf.Tensor1D, w2: tf.Tensor2D, b2: tf.Tensor1D): tf.Tensor2D {
  const s = tf.mean(x, [1, 2]) as tf.Tensor2D; // [B, C]
  const h = tf.fused.matMul({ a: s, b: w1, bias: b1, activation: 'relu' });
  return tf.sigmoid(tf.fused.matMul({ a: h, b: w2, bias: b2 })) as tf.Tensor2D;
}

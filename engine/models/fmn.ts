/**
 * Frame-wise MobileNetV3 backbone (MODEL_SPEC §2), channels-last.
 *
 *   mel [B,128,T,1] (H = freq, W = time)
 *   → features.0  stem conv 3×3 s(2,2) + BN + hardswish        [B,64,T/2,c0]
 *   → features.1…15 inverted residual blocks (table below)      [B,1,T/4,c15]
 *   → features.16 conv 1×1 → 6·c15 + BN + hardswish             [B,1,T/4,E]
 *   → collapse freq                                             [B,T/4,E]   (T = 1000 → 250 frames)
 *
 * Time is downsampled only by the stem and block 1; frequency by 128. Paddings are symmetric (k−1)/2
 * (PyTorch), not TF "same". In inference mode BatchNorm is folded into the conv weights (cached) and
 * every conv is one fused op with its bias and activation; a block's projection conv also takes the SE
 * gate (on its input channels) and the skip connection. On webgpu each such op is one dispatch
 * (engine/backend/webgpuInference.ts), which is what bounds inference speed there.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ParamGetter, ParamSpec } from './params';
import { hardswish, stage, type ForwardContext } from './layers';
import { pointwiseConv, seGate, seGateOps, spatialConv } from '../backend/webgpuInference';
import { batchNormAct, fusedBatchNormAct } from '../backend/fusedBatchNorm';
import { fusedSeExcite, seExcite } from '../backend/webgpuTraining';

const BN_EPS = 1e-3;

type Act = 'relu' | 'hardswish';

/** Base MobileNetV3-Large settings at α = 1 with the frame-wise strides: k, exp, out, SE, act, stride (freq, time). */
const BLOCKS: Array<[number, number, number, boolean, Act, number, number]> = [
  [3, 16, 16, false, 'relu', 1, 1],
  [3, 64, 24, false, 'relu', 2, 2],
  [3, 72, 24, false, 'relu', 2, 1],
  [5, 72, 40, true, 'relu', 1, 1],
  [5, 120, 40, true, 'relu', 1, 1],
  [5, 120, 40, true, 'relu', 2, 1],
  [3, 240, 80, false, 'hardswish', 1, 1],
  [3, 200, 80, false, 'hardswish', 2, 1],
  [3, 184, 80, false, 'hardswish', 1, 1],
  [3, 184, 80, false, 'hardswish', 1, 1],
  [3, 480, 112, true, 'hardswish', 2, 1],
  [3, 672, 112, true, 'hardswish', 1, 1],
  [5, 672, 160, true, 'hardswish', 1, 1],
  [5, 960, 160, true, 'hardswish', 1, 1],
  [5, 960, 160, true, 'hardswish', 2, 1],
];

/** torchvision's _make_divisible(v, 8): round to a multiple of 8, never more than 10 % down. */
export function makeDivisible(v: number, divisor = 8): number {
  let out = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (out < 0.9 * v) out += divisor;
  return out;
}

export interface BlockLayout {
  index: number; // features.<index>
  inC: number;
  expC: number;
  outC: number;
  kernel: number;
  se: number; // squeeze channels, 0 without SE
  act: Act;
  stride: [number, number];
}

export interface BackboneLayout {
  stemC: number;
  blocks: BlockLayout[];
  embedDim: number;
}

export function backboneLayout(widthMult: number): BackboneLayout {
  const md = (c: number): number => makeDivisible(c * widthMult);
  const stemC = md(16);
  let inC = stemC;
  const blocks = BLOCKS.map(([kernel, exp, out, se, act, sf, st], i) => {
    const expC = md(exp);
    const b: BlockLayout = { index: i + 1, inC, expC, outC: md(out), kernel, se: se ? makeDivisible(Math.floor(expC / 4)) : 0, act, stride: [sf, st] };
    inC = b.outC;
    return b;
  });
  return { stemC, blocks, embedDim: 6 * inC };
}

const P = 'model.fmn.features';

function convSpec(key: string, shape: number[], depthwise = false): ParamSpec {
  return { key, shape, layout: depthwise ? 'depthwise' : 'conv2d', role: 'param', init: { kind: 'kaimingFanOut' } };
}

function bnSpecs(prefix: string, c: number): ParamSpec[] {
  return [
    { key: `${prefix}.weight`, shape: [c], layout: 'plain', role: 'param', init: { kind: 'const', value: 1 } },
    { key: `${prefix}.bias`, shape: [c], layout: 'plain', role: 'param', init: { kind: 'const', value: 0 } },
    { key: `${prefix}.running_mean`, shape: [c], layout: 'plain', role: 'buffer', init: { kind: 'const', value: 0 } },
    { key: `${prefix}.running_var`, shape: [c], layout: 'plain', role: 'buffer', init: { kind: 'const', value: 1 } },
    { key: `${prefix}.num_batches_tracked`, shape: [], layout: 'plain', role: 'counter', init: { kind: 'const', value: 0 } },
  ];
}

/** State-dict specs of the backbone, in upstream order. */
export function backboneSpecs(widthMult: number): ParamSpec[] {
  const L = backboneLayout(widthMult);
  const specs: ParamSpec[] = [convSpec(`${P}.0.0.weight`, [L.stemC, 1, 3, 3]), ...bnSpecs(`${P}.0.1`, L.stemC)];
  for (const b of L.blocks) {
    let j = 0;
    const pre = `${P}.${b.index}.block`;
    if (b.expC !== b.inC) {
      specs.push(convSpec(`${pre}.${j}.0.weight`, [b.expC, b.inC, 1, 1]), ...bnSpecs(`${pre}.${j}.1`, b.expC));
      j++;
    }
    specs.push(convSpec(`${pre}.${j}.0.weight`, [b.expC, 1, b.kernel, b.kernel], true), ...bnSpecs(`${pre}.${j}.1`, b.expC));
    j++;
    if (b.se) {
      const se = `${pre}.${j}.conc_se_layers.0`;
      for (const [name, o, i] of [['fc1', b.se, b.expC], ['fc2', b.expC, b.se]] as Array<[string, number, number]>) {
        specs.push(
          { key: `${se}.${name}.weight`, shape: [o, i], layout: 'linear', role: 'param', init: { kind: 'normal', std: 0.01 } },
          { key: `${se}.${name}.bias`, shape: [o], layout: 'plain', role: 'param', init: { kind: 'const', value: 0 } },
        );
      }
      j++;
    }
    specs.push(convSpec(`${pre}.${j}.0.weight`, [b.outC, b.expC, 1, 1]), ...bnSpecs(`${pre}.${j}.1`, b.outC));
  }
  const last = L.blocks[L.blocks.length - 1].outC;
  specs.push(convSpec(`${P}.16.0.weight`, [L.embedDim, last, 1, 1]), ...bnSpecs(`${P}.16.1`, L.embedDim));
  return specs;
}

interface ConvOpts {
  strides: [number, number];
  /** Symmetric zero padding of both spatial axes. */
  pad: number;
  depthwise: boolean;
  act: Act | 'linear';
}

function applyAct(x: tf.Tensor4D, act: Act | 'linear'): tf.Tensor4D {
  if (act === 'relu') return tf.relu(x);
  if (act === 'hardswish') return hardswish(x);
  return x;
}

/** What a block's projection conv takes besides its input. */
interface ConvExtras {
  /** [B, Cin]: squeeze-excitation gate, multiplied into the input channels. */
  seGate?: tf.Tensor2D;
  /** [B, H, W, Cout]: skip connection, added to the output. */
  residual?: tf.Tensor4D;
}

/** (x · SE gate) → conv (no bias) → BatchNorm → activation (+ residual). */
function convBn(p: ParamGetter, convKey: string, bnPrefix: string, x: tf.Tensor4D, o: ConvOpts, ctx: ForwardContext, extras: ConvExtras = {}): tf.Tensor4D {
  const w = p(convKey) as tf.Tensor4D;
  const gamma = p(`${bnPrefix}.weight`);
  const beta = p(`${bnPrefix}.bias`);
  if (!ctx.training) {
    // Fold the BN running statistics into the conv: w' = w·s, b' = β − μ·s with s = γ/√(σ²+ε).
    const mean = p(`${bnPrefix}.running_mean`);
    const variance = p(`${bnPrefix}.running_var`);
    const fold = (): tf.Tensor[] => {
      const s = tf.mul(gamma, tf.rsqrt(tf.add(variance, BN_EPS)));
      return [tf.mul(w, o.depthwise ? tf.reshape(s, [-1, 1]) : s), tf.sub(beta, tf.mul(mean, s))];
    };
    const [filter, bias] = (ctx.derived ? ctx.derived.get(convKey, [w, gamma, beta, mean, variance], fold) : fold()) as [tf.Tensor4D, tf.Tensor1D];
    const pointwise = !o.depthwise && w.shape[0] === 1 && w.shape[1] === 1 && o.strides[0] === 1 && o.strides[1] === 1;
    return pointwise
      ? pointwiseConv(x, filter, bias, { act: o.act, ...extras })
      : spatialConv(x, filter, bias, { strides: o.strides, pad: o.pad, depthwise: o.depthwise, act: o.act });
  }
  const [B, , , C] = x.shape;
  const gated: tf.Tensor4D = extras.seGate ? tf.mul(x, tf.reshape(extras.seGate, [B, 1, 1, C])) : x;
  // Explicit padding: tfjs derives the output width of a numeric pad from the *height* stride.
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [o.pad, o.pad], [o.pad, o.pad], [0, 0]];
  const y = o.depthwise ? tf.depthwiseConv2d(gated, w, o.strides, pad) : tf.conv2d(gated, w, o.strides, pad);
  const record = (mean: tf.Tensor1D, variance: tf.Tensor1D): void => void ctx.bnStats.set(bnPrefix, { mean, variance });
  if (fusedBatchNormAct()) return batchNormAct(y, gamma as tf.Tensor1D, beta as tf.Tensor1D, { act: o.act, eps: BN_EPS, residual: extras.residual, record });
  const yn = batchNormTrain(y, gamma as tf.Tensor1D, beta as tf.Tensor1D, record);
  const out = applyAct(yn, o.act);
  return extras.residual ? tf.add(out, extras.residual) : out;
}

/**
 * Training-mode BatchNorm over [B, H, W, C] with batch statistics, as one differentiable op with the
 * closed-form backward (dβ = Σdy, dγ = Σdy·x̂, dx = γ/σ·(dy − (dβ + x̂·dγ)/N)): autodiff through
 * moments costs several times the kernels, and on the GPU kernel dispatch, not arithmetic, bounds a
 * training step. `record` receives the batch mean and the unbiased variance (kept; PyTorch normalises
 * with the biased variance and tracks the unbiased one).
 */
export function batchNormTrain(y: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, record: (mean: tf.Tensor1D, variance: tf.Tensor1D) => void): tf.Tensor4D {
  const n = y.shape[0] * y.shape[1] * y.shape[2];
  const op = tf.customGrad(((yIn: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const mean = tf.mean(yIn, [0, 1, 2]);
    const centered = tf.sub(yIn, mean);
    const variance = tf.mean(tf.square(centered), [0, 1, 2]);
    const invStd = tf.rsqrt(tf.add(variance, BN_EPS));
    const xHat = tf.mul(centered, invStd);
    record(tf.keep(mean) as tf.Tensor1D, tf.keep(tf.mul(variance, n / Math.max(n - 1, 1))) as tf.Tensor1D);
    save([xHat, invStd, g]);
    return {
      value: tf.add(tf.mul(xHat, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, inv, gs] = saved;
        const dBeta = tf.sum(dy, [0, 1, 2]);
        const dGamma = tf.sum(tf.mul(dy, xh), [0, 1, 2]);
        const dx = tf.mul(tf.sub(dy, tf.add(tf.mul(xh, tf.div(dGamma, n)), tf.div(dBeta, n))), tf.mul(gs, inv));
        return [dx, dGamma, dBeta];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(y, gamma, beta) as tf.Tensor4D;
}

/**
 * Squeeze-excitation of x [B, H, W, C]: the gate [B, C] for the projection conv to apply, or, in training
 * on webgpu, x already gated by one op with a custom gradient.
 */
function squeezeExcite(p: ParamGetter, prefix: string, x: tf.Tensor4D, ctx: ForwardContext): { x: tf.Tensor4D; gate?: tf.Tensor2D } {
  const fc = (name: string): [tf.Tensor2D, tf.Tensor1D] => [p(`${prefix}.${name}.weight`) as tf.Tensor2D, p(`${prefix}.${name}.bias`) as tf.Tensor1D];
  const [w1, b1] = fc('fc1');
  if (ctx.training && fusedSeExcite(w1.shape[0], w1.shape[1])) return { x: seExcite(x, w1, b1, ...fc('fc2')) };
  // The fused inference gate has no gradient: training elsewhere keeps the tfjs ops.
  return { x, gate: (ctx.training ? seGateOps : seGate)(x, w1, b1, ...fc('fc2')) };
}

/** Output of `features.<k>` for the taps in `taps` (NHWC), used by parity tests. */
export type Taps = Map<number, tf.Tensor4D>;

/** mel [B,128,T,1] → embedding [B,T/4,E]. */
export function backboneForward(p: ParamGetter, widthMult: number, mel: tf.Tensor4D, ctx: ForwardContext, taps?: Taps): tf.Tensor3D {
  const L = backboneLayout(widthMult);
  const tapped = (): tf.Tensor[] => (taps ? [mel, ...taps.values()] : [mel]);
  let x = stage(ctx, mel, tapped(), () => convBn(p, `${P}.0.0.weight`, `${P}.0.1`, mel, { strides: [2, 2], pad: 1, depthwise: false, act: 'hardswish' }, ctx));
  taps?.set(0, x);
  for (const b of L.blocks) {
    const pre = `${P}.${b.index}.block`;
    const input = x;
    x = stage(ctx, input, tapped(), () => {
      let h = input; // [B, H, W, in]
      let j = 0;
      if (b.expC !== b.inC) {
        h = convBn(p, `${pre}.${j}.0.weight`, `${pre}.${j}.1`, h, { strides: [1, 1], pad: 0, depthwise: false, act: b.act }, ctx); // [B, H, W, exp]
        j++;
      }
      h = convBn(p, `${pre}.${j}.0.weight`, `${pre}.${j}.1`, h, { strides: b.stride, pad: (b.kernel - 1) / 2, depthwise: true, act: b.act }, ctx); // [B, H/sf, W/st, exp]
      j++;
      let gate: tf.Tensor2D | undefined; // [B, exp]
      if (b.se) {
        ({ x: h, gate } = squeezeExcite(p, `${pre}.${j}.conc_se_layers.0`, h, ctx));
        j++;
      }
      const residual = b.stride[0] === 1 && b.stride[1] === 1 && b.inC === b.outC ? input : undefined;
      return convBn(p, `${pre}.${j}.0.weight`, `${pre}.${j}.1`, h, { strides: [1, 1], pad: 0, depthwise: false, act: 'linear' }, ctx, { seGate: gate, residual }); // [B, H/sf, W/st, out]
    });
    taps?.set(b.index, x);
  }
  const last = x;
  x = stage(ctx, last, tapped(), () => convBn(p, `${P}.16.0.weight`, `${P}.16.1`, last, { strides: [1, 1], pad: 0, depthwise: false, act: 'hardswish' }, ctx));
  taps?.set(16, x);
  const [B, H, W, E] = x.shape;
  if (H !== 1) throw new Error(`backbone: frequency axis collapsed to ${H}, expected 1 (input must have 128 mel bins, got ${mel.shape[1]})`);
  return tf.reshape(x, [B, W, E]);
}

/** Multiply-accumulates of the backbone for a mel of `freq × time` frames (conv weights; SE once per clip). */
export function backboneMacs(widthMult: number, freq = 128, time = 1000): number {
  const L = backboneLayout(widthMult);
  const out = (n: number, s: number): number => Math.floor((n - 1) / s) + 1; // pad (k−1)/2, odd k
  let f = out(freq, 2);
  let t = out(time, 2);
  let macs = f * t * L.stemC * 9;
  for (const b of L.blocks) {
    if (b.expC !== b.inC) macs += f * t * b.inC * b.expC;
    f = out(f, b.stride[0]);
    t = out(t, b.stride[1]);
    macs += f * t * b.expC * b.kernel * b.kernel;
    if (b.se) macs += 2 * b.expC * b.se;
    macs += f * t * b.expC * b.outC;
  }
  macs += f * t * L.blocks[L.blocks.length - 1].outC * L.embedDim;
  return macs;
}

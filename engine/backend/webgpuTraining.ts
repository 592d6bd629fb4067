/**
 * Fused training ops of the fmn backbone on webgpu. A training step there is bound by the host cost of
 * issuing each kernel (~100 µs per dispatch on an H200), and BatchNorm with batch statistics as tfjs ops
 * (transposed reductions, a dozen element-wise ops each way) plus hardswish (4 ops forward, more
 * backward) was most of a step's dispatches. The fused BatchNorm → activation op (fusedBatchNorm.ts) runs
 * as 3 dispatches forward (split moments; mean and unbiased variance; normalise + act) and 3 backward
 * (split Σg and Σg·x̂; dx; dβ and dγ) with the kernels registered here, the statistics' finishing pass
 * writing both of its tensors (webgpuMultiOutput.ts). The squeeze-excitation x·gate(x) is likewise
 * one op (`seExcite`), 2 dispatches forward and 3 backward; other backends keep its tfjs ops.
 * SED_WEBGPU_UNFUSED_TRAINING=1 leaves them unregistered (tfjs ops; for A/B benchmarks on one GPU).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ElementwiseProgram, fused, run, runMulti, runProgram, webgpuKernelGroup, type Uniform } from './webgpuProgram';
import { seGate } from './webgpuInference';
import { BN_APPLY as APPLY, BN_FINISH as FINISH, BN_SPLIT as SPLIT, type FinishMode, type NormAttrs, type SplitMode } from './fusedBatchNorm';
import { runMultiOutput } from './webgpuMultiOutput';
import { ChannelSplitProgram, NORM_UNIFORMS, SeBackwardProgram, applyBody, applyBody4, applyPrelude, seBackwardFits, seDxBody, seParamGradShader, splitFinishShader } from './webgpuTrainingPrograms';

const SE_BACKWARD = 'SedSeBackward';
const SE_DX = 'SedSeDx';
const SE_PARAM_GRADS = 'SedSeParamGrads';

/** Rows per chunk the split reductions aim at, and the most chunks (the finishing passes loop over them). */
const TARGET_ROWS = 1024;
const MAX_SPLITS = 256;

/** Chunks of the B·H·W rows: every chunk non-empty. */
function splitRows(rows: number): { splits: number; chunk: number } {
  const chunk = Math.ceil(rows / Math.min(MAX_SPLITS, Math.max(1, Math.ceil(rows / TARGET_ROWS))));
  return { splits: Math.ceil(rows / chunk), chunk };
}

const f32 = (v: number): Uniform => ({ type: 'float32', data: [v] });
const i32 = (v: number): Uniform => ({ type: 'int32', data: [v] });

/** Register the webgpu kernels (call once the webgpu backend is initialised). */
export const registerWebgpuTrainingKernels = webgpuKernelGroup('SED_WEBGPU_UNFUSED_TRAINING', (util) => ({
  [SPLIT]: ({ inputs, backend, attrs }) => {
    const { y, dy, bnMean, bnVar, gamma, beta, part } = inputs;
    const { mode, act, eps } = attrs as unknown as NormAttrs & { mode: SplitMode };
    const rows = y!.shape[0] * y!.shape[1] * y!.shape[2];
    const { splits, chunk } = splitRows(rows);
    const program = new ChannelSplitProgram(mode, y!.shape, splits, act, util);
    const uniforms = [i32(chunk), i32(splits)];
    if (mode === 'moments') return runProgram(backend, program, [y!], uniforms);
    const ins = [y!, dy!, bnMean!, bnVar!, gamma!, beta!, ...(mode === 'gradApply' ? [part!] : [])];
    return runProgram(backend, program, ins, [...uniforms, f32(Math.max(rows - 1, 1) / rows), f32(eps), f32(rows)]);
  },
  [FINISH]: ({ inputs, backend, attrs }) => {
    const { which, rows } = attrs as unknown as { which: FinishMode; rows: number };
    const { splits, chunk } = splitRows(rows);
    const C = inputs.part!.shape[2];
    return runMultiOutput(backend, splitFinishShader(which), [inputs.part!], [[C], [C]], [C, chunk, splits, rows], C);
  },
  [APPLY]: ({ inputs, backend, attrs }) => {
    const { y, bnMean, bnVar, gamma, beta, res } = inputs;
    const { act, eps } = attrs as unknown as NormAttrs;
    const rows = y!.shape[0] * y!.shape[1] * y!.shape[2];
    const names = ['y', 'bnMean', 'bnVar', 'gamma', 'beta', ...(res ? ['res'] : [])];
    const program = y!.shape[3] % 4 === 0
      ? new ElementwiseProgram(y!.shape, names, NORM_UNIFORMS, `sedBnApply4_${act}_${!!res}`, applyBody4(act, !!res), util, '', 4)
      : new ElementwiseProgram(y!.shape, names, NORM_UNIFORMS, `sedBnApply_${act}_${!!res}`, applyBody(!!res), util, applyPrelude(act));
    const ins = [y!, bnMean!, bnVar!, gamma!, beta!, ...(res ? [res] : [])];
    return runProgram(backend, program, ins, [f32(Math.max(rows - 1, 1) / rows), f32(eps)]);
  },
  [SE_BACKWARD]: ({ inputs, backend }) => {
    const { x, dy, w1, b1, w2, b2 } = inputs;
    const program = new SeBackwardProgram(x!.shape[0], x!.shape[3], w1!.shape[1]);
    return runProgram(backend, program, [x!, dy!, w1!, b1!, w2!, b2!], []);
  },
  [SE_DX]: ({ inputs, backend, attrs }) => {
    const { pack, dy } = inputs;
    const { channels: C, squeeze: S } = attrs as unknown as { channels: number; squeeze: number };
    const program = new ElementwiseProgram(dy!.shape, ['pack', 'dy'], '', `sedSeDx_${C}_${S}`, seDxBody(C, S), util);
    return runProgram(backend, program, [pack!, dy!], []);
  },
  [SE_PARAM_GRADS]: ({ inputs, backend, attrs }) => {
    const { channels: C, squeeze: S } = attrs as unknown as { channels: number; squeeze: number };
    return runMultiOutput(backend, seParamGradShader(C, S), [inputs.pack!], [[C, S], [S], [S, C], [C]], [inputs.pack!.shape[0]], C * S);
  },
}));

/** Whether `seExcite` runs fused for these sizes (webgpu); elsewhere the caller keeps its tfjs ops. */
export const fusedSeExcite = (channels: number, squeeze: number): boolean => fused(SE_DX) && seBackwardFits(channels, squeeze);

/**
 * x · SE gate(x) over x [B, H, W, C] (w1 [C,S], w2 [S,C]) as one differentiable op: 2 dispatches forward
 * (the inference gate kernel, the product) and 3 backward (a workgroup per clip recomputes the gate and
 * back-propagates through it; then dx; then the four parameter gradients in one pass), instead of ~28 as tfjs ops.
 */
export function seExcite(x: tf.Tensor4D, w1: tf.Tensor2D, b1: tf.Tensor1D, w2: tf.Tensor2D, b2: tf.Tensor1D): tf.Tensor4D {
  const [B, , , C] = x.shape;
  const attrs = { channels: C, squeeze: w1.shape[1] };
  const op = tf.customGrad(((xIn: tf.Tensor4D, a: tf.Tensor2D, c: tf.Tensor1D, d: tf.Tensor2D, e: tf.Tensor1D, save: tf.GradSaveFunc) => {
    save([xIn, a, c, d, e]);
    return {
      value: tf.mul(xIn, tf.reshape(seGate(xIn, a, c, d, e), [B, 1, 1, C])),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ...ws] = saved;
        const pack = run(SE_BACKWARD, { x: xs, dy, w1: ws[0], b1: ws[1], w2: ws[2], b2: ws[3] });
        return [run(SE_DX, { pack, dy }, attrs), ...runMulti(SE_PARAM_GRADS, { pack }, attrs)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, w1, b1, w2, b2) as tf.Tensor4D;
}

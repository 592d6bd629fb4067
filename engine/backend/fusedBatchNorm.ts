/**
 * BatchNorm with batch statistics → activation (→ residual add) as one differentiable op, for training.
 * As tfjs ops it is a dozen element-wise ops and transposed reductions each way plus the activation's
 * (4 forward, more backward); fused it is a few passes over the data. The op is the same on every backend
 * that registers its three kernels: webgpu (webgpuTraining.ts, split reductions in WGSL) and wasm
 * (wasmTraining.ts, native SIMD). The backward recomputes x̂ and the pre-activation from the input and
 * the statistics instead of keeping them. Same formulas as fmn.ts `batchNormTrain` + the activation's
 * tfjs ops; backends without the kernels keep those ops (`fusedBatchNormAct()` is false there).
 */
import * as tf from '@tensorflow/tfjs-core';
import { fused, run, runMulti } from './webgpuProgram';

export type TrainAct = 'linear' | 'relu' | 'hardswish';

/**
 * `BN_SPLIT`'s passes over the B·H·W rows (a backend may split the rows into chunks; `part` is
 * [splits, 2, C]):
 * `moments`: part[s, 0, c] = mean, part[s, 1, c] = M2 of y over chunk s.
 * `gradSums`: part[s, 0, c] = Σg, part[s, 1, c] = Σg·x̂ with g = dy·act′(z), z = x̂γ+β.
 * `gradApply`: dx, given the gradSums partials (input `part`).
 */
export type SplitMode = 'moments' | 'gradSums' | 'gradApply';

export interface NormAttrs {
  act: TrainAct;
  eps: number;
}

/**
 * How `BN_FINISH` reduces the partials, into two [C] outputs: `moments` → the mean and the unbiased variance,
 * `sums` → Σg (= dβ) and Σg·x̂ (= dγ).
 */
export type FinishMode = 'moments' | 'sums';

/** Kernel names. */
export const BN_SPLIT = 'SedBnSplit';
export const BN_FINISH = 'SedBnFinish';
export const BN_APPLY = 'SedBnApply';

/** Whether `batchNormAct` runs fused (its kernels are registered on this backend); elsewhere the caller keeps its tfjs ops. */
export const fusedBatchNormAct = (): boolean => fused(BN_APPLY);

export interface BatchNormActOptions {
  act: TrainAct;
  eps: number;
  /** [B, H, W, C] added after the activation (a block's skip connection); its gradient is dy. */
  residual?: tf.Tensor4D;
  /** Receives the batch mean and the unbiased batch variance (kept; the caller disposes them). */
  record: (mean: tf.Tensor1D, variance: tf.Tensor1D) => void;
}

/**
 * act(BatchNorm_train(y)·γ + β) (+ residual) over y [B, H, W, C] with batch statistics, as one
 * differentiable op (see `fusedBatchNormAct`).
 */
export function batchNormAct(y: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, o: BatchNormActOptions): tf.Tensor4D {
  const rows = y.shape[0] * y.shape[1] * y.shape[2];
  const norm = { act: o.act, eps: o.eps };
  const forward = (yIn: tf.Tensor, g: tf.Tensor, b: tf.Tensor, res: tf.Tensor | undefined, save: tf.GradSaveFunc) => {
    const part = run(BN_SPLIT, { y: yIn }, { mode: 'moments', ...norm });
    const [mean, variance] = runMulti<tf.Tensor1D>(BN_FINISH, { part }, { which: 'moments', rows });
    o.record(tf.keep(mean), tf.keep(variance));
    save([yIn, mean, variance, g, b]);
    const inputs: tf.NamedTensorMap = { y: yIn, bnMean: mean, bnVar: variance, gamma: g, beta: b };
    if (res) inputs.res = res;
    return {
      value: run<tf.Tensor4D>(BN_APPLY, inputs, norm),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [ys, m, v, gs, bs] = saved;
        const common = { y: ys, dy, bnMean: m, bnVar: v, gamma: gs, beta: bs };
        const sums = run(BN_SPLIT, common, { mode: 'gradSums', ...norm });
        const dx = run(BN_SPLIT, { ...common, part: sums }, { mode: 'gradApply', ...norm });
        const [dBeta, dGamma] = runMulti(BN_FINISH, { part: sums }, { which: 'sums', rows });
        return res ? [dx, dGamma, dBeta, dy] : [dx, dGamma, dBeta];
      },
    };
  };
  // customGrad passes every input as a tensor: the residual variant takes one more.
  const op = o.residual
    ? tf.customGrad(((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor, r: tf.Tensor, save: tf.GradSaveFunc) => forward(a, g, b, r, save)) as unknown as Parameters<typeof tf.customGrad>[0])
    : tf.customGrad(((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => forward(a, g, b, undefined, save)) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (o.residual ? op(y, gamma, beta, o.residual) : op(y, gamma, beta)) as tf.Tensor4D;
}


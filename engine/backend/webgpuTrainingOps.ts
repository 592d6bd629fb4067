/**
 * Fused training ops of the sequence model and the loss on webgpu (see webgpuTraining.ts for why: a training
 * step there is bound by the host cost of each dispatch). Each is one differentiable op with a custom gradient
 * whose forward and backward are one to three dispatches, where tfjs' ops and their autodiff took 10–50:
 * RMSNorm (1 forward, 3 backward instead of 7 and ~17), GELU (1 + 1 instead of 5 + ~10), the rotary embedding
 * (1 + 1 instead of 4 + ~5) and the KD loss (1 + 1 instead of ~21 + ~30). Same formulas, and the same
 * derivatives at the kinks, as the tfjs ops the callers keep on other backends (`fusedTrainingOps()` false);
 * SED_WEBGPU_UNFUSED_TRAINING=1 leaves them unregistered.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ElementwiseProgram, fused, run, runProgram, webgpuUtil, type Uniform } from './webgpuProgram';
import { SumProgram, erfSnippet, geluBody, kdLossGradBody, kdLossTerm, rmsGammaBody, rmsRowBody } from './webgpuTrainingOpsPrograms';

const ELEMENTWISE = 'SedTrainElementwise';
const RMS_UNIFORMS = 'dim : i32, sqrtDim : f32, rows : i32,';
const SUM = 'SedTrainSum';

/** The elementwise kernels: inputs (in order), uniforms and body, by `which`. */
const BODIES = {
  rmsNorm: {
    names: ['x', 'gamma'],
    uniforms: RMS_UNIFORMS,
    body: `
      let c = index % uniforms.dim;
      let r0 = index - c;
      var ss = 0.0;
      for (var k = 0; k < uniforms.dim; k = k + 1) { let v = x[r0 + k]; ss = ss + v * v; }
      let value = x[index] / max(sqrt(ss), 1e-12) * (gamma[c] * uniforms.sqrtDim);`,
  },
  rmsRow: { names: ['x', 'dy', 'gamma'], uniforms: RMS_UNIFORMS, body: rmsRowBody },
  rmsDx: {
    names: ['x', 'dy', 'gamma', 'row'],
    uniforms: RMS_UNIFORMS,
    body: `
      let c = index % uniforms.dim;
      let r = index / uniforms.dim;
      let value = dy[index] * gamma[c] * uniforms.sqrtDim * row[2 * r] + row[2 * r + 1] * x[index];`,
  },
  rmsGamma: { names: ['x', 'dy', 'row'], uniforms: RMS_UNIFORMS, body: rmsGammaBody },
  gelu: { names: ['x'], uniforms: '', body: geluBody(false), prelude: erfSnippet },
  geluGrad: { names: ['x', 'dy'], uniforms: '', body: geluBody(true), prelude: erfSnippet },
  rotary: {
    names: ['x', 'cos', 'sin'],
    uniforms: 'sign : f32,',
    // x·cos + rotate_half(x)·sin, rotate_half (x0, x1, …) → (−x1, x0, …); its transpose (sign −1) for the gradient.
    body: `
      let d = uniforms.xShape[3];
      let c = index % d;
      let t = (index / d) % uniforms.xShape[2];
      let even = c % 2 == 0;
      let pc = select(c - 1, c + 1, even);
      let partner = index - c + pc;
      let tab = select(t * d + c, t * d + pc, uniforms.sign < 0.0);
      let value = x[index] * cos[t * d + c] + select(1.0, -1.0, even) * uniforms.sign * x[partner] * sin[tab];`,
  },
  kdLossGrad: { names: ['x', 'hard', 'soft', 'dy'], uniforms: 'w : f32, count : f32,', body: kdLossGradBody },
} as const;

type Which = keyof typeof BODIES;

let registered = false;

/** Register the webgpu kernels (call once the webgpu backend is initialised). */
export async function registerWebgpuTrainingOps(): Promise<void> {
  if (registered || process.env.SED_WEBGPU_UNFUSED_TRAINING === '1') return;
  const util = await webgpuUtil();
  tf.registerKernel({
    kernelName: ELEMENTWISE,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { which, shape, uniforms } = attrs as unknown as { which: Which; shape: number[]; uniforms: Uniform[] };
      const def = BODIES[which];
      const prelude = 'prelude' in def ? def.prelude : '';
      const program = new ElementwiseProgram(shape, [...def.names], def.uniforms, `sedTrain_${which}`, def.body, util, prelude);
      return runProgram(backend, program, def.names.map((n) => inputs[n]!), uniforms);
    },
  });
  tf.registerKernel({
    kernelName: SUM,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { w } = attrs as unknown as { w: number };
      const x = inputs.x!;
      const n = x.shape.reduce((a, b) => a * b, 1);
      return runProgram(backend, new SumProgram(['x', 'hard', 'soft'], kdLossTerm), [x, inputs.hard!, inputs.soft!], [{ type: 'int32', data: [n] }, { type: 'float32', data: [w] }]);
    },
  });
  registered = true;
}

/** Whether the ops below run fused (webgpu); elsewhere callers keep their tfjs ops. */
export const fusedTrainingOps = (): boolean => fused(ELEMENTWISE);

const f32 = (v: number): Uniform => ({ type: 'float32', data: [v] });
const i32 = (v: number): Uniform => ({ type: 'int32', data: [v] });

function elementwise<T extends tf.Tensor>(which: Which, inputs: tf.NamedTensorMap, shape: number[], uniforms: Uniform[] = []): T {
  return run<T>(ELEMENTWISE, inputs, { which, shape, uniforms });
}

/** x / max(‖x‖₂, 1e-12) · γ·√dim over the last axis (rmsNorm.ts `rmsNormWith`). */
export function rmsNormFused<T extends tf.Tensor>(x: T, gamma: tf.Tensor): T {
  const D = x.shape[x.rank - 1];
  const uniforms = [i32(D), f32(Math.sqrt(D)), i32(x.size / D)];
  const op = tf.customGrad(((xIn: tf.Tensor, g: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xIn, g]);
    return {
      value: elementwise('rmsNorm', { x: xIn, gamma: g }, xIn.shape, uniforms),
      gradFunc: (dy: tf.Tensor, [xs, gs]: tf.Tensor[]) => {
        const row = elementwise('rmsRow', { x: xs, dy, gamma: gs }, [xs.size / D, 2], uniforms);
        return [elementwise('rmsDx', { x: xs, dy, gamma: gs, row }, xs.shape, uniforms), elementwise('rmsGamma', { x: xs, dy, row }, [D], uniforms)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, gamma) as T;
}

/** GELU, exact erf form (layers.ts `gelu`, with tfjs' erf approximation). */
export function geluFused<T extends tf.Tensor>(x: T): T {
  const op = tf.customGrad(((xIn: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xIn]);
    return { value: elementwise('gelu', { x: xIn }, xIn.shape), gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => [elementwise('geluGrad', { x: xs, dy }, xs.shape)] };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as T;
}

/** x [B,h,T,d] → x·cos + rotate_half(x)·sin (rotary.ts `applyRotary`); the tables are constants. */
export function rotaryFused(x: tf.Tensor4D, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor4D {
  const op = tf.customGrad(((xIn: tf.Tensor) => ({
    value: elementwise('rotary', { x: xIn, cos, sin }, xIn.shape, [f32(1)]),
    gradFunc: (dy: tf.Tensor) => [elementwise('rotary', { x: dy, cos, sin }, dy.shape, [f32(-1)])],
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as tf.Tensor4D;
}

/**
 * mean(w·BCE(x, soft) + (1−w)·BCE(x, hard)) with BCE(x, y) = max(x,0) − x·y + log(1 + e^−|x|), as one op
 * differentiable in x only (loss.ts `distillationLoss`; the targets are constants).
 */
export function kdLossFused(logits: tf.Tensor, hard: tf.Tensor, soft: tf.Tensor, w: number): tf.Scalar {
  const count = logits.size;
  const op = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x]);
    return {
      value: tf.reshape(run(SUM, { x, hard, soft }, { w }), []),
      gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => [elementwise('kdLossGrad', { x: xs, hard, soft, dy }, xs.shape, [f32(w), f32(count)])],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(logits) as tf.Scalar;
}

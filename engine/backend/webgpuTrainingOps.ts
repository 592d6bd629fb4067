/**
 * Fused training ops of the sequence model and the loss on webgpu (see webgpuTraining.ts for why: a training
 * step there is bound by the host cost of each dispatch). Each is one differentiable op with a custom gradient
 * of one to three dispatches each way where tfjs' ops and their autodiff took 3–50: RMSNorm, GELU, the rotary
 * embedding, q/k/v heads (slice + transpose + rotary + scale), the gated head merge, softmax + dropout of the
 * attention probabilities, dropout (the mask hashed again in the backward instead of stored), the bias gradient
 * of a linear layer, the KD loss and minGRU's linear scan (one pass each way instead of ⌈log₂T⌉ levels of
 * slices, pads and products). Same formulas, and the same derivatives at the kinks, as the tfjs ops the
 * callers keep on other backends (`fusedTrainingOps()` false); SED_WEBGPU_UNFUSED_TRAINING=1 leaves them
 * unregistered.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ElementwiseProgram, fused, run, runMulti, runProgram, webgpuKernelGroup, type Uniform } from './webgpuProgram';
import { DROPOUT_PRELUDE, DROPOUT_UNIFORMS, dropoutSeed } from './dropoutMask';
import { ChunkSumProgram, ColumnReduceProgram, SUM_CHUNK, columnSumProgram } from './webgpuReducePrograms';
import { runMultiOutput } from './webgpuMultiOutput';
import { RmsNormProgram, SoftmaxDropoutProgram, erfSnippet, linearScanShader, gateMergeBody, geluBody, headsBody, kdLossGradBody, kdLossTerm, rmsGammaTerm, rmsRowBody } from './webgpuTrainingOpsPrograms';

const ELEMENTWISE = 'SedTrainElementwise';
const RMS_UNIFORMS = 'dim : i32, sqrtDim : f32, rows : i32,';
/** rowLength: 3D for qkv rows, D for merged rows. */
const HEAD_UNIFORMS = 'dim : i32, headDim : i32, frames : i32, rowLength : i32, which : i32, scale : f32,';
const REDUCE = 'SedTrainReduce';
const RMS_NORM = 'SedTrainRmsNorm';
const SOFTMAX_DROPOUT = 'SedSoftmaxDropout';
const LINEAR_SCAN = 'SedLinearScan';

/** The elementwise kernels: inputs (in order), uniforms and body, by `which`. */
const BODIES = {
  rmsRow: { names: ['x', 'dy', 'gamma'], uniforms: RMS_UNIFORMS, body: rmsRowBody },
  rmsDx: {
    names: ['x', 'dy', 'gamma', 'row'],
    uniforms: RMS_UNIFORMS,
    body: `
      let c = index % uniforms.dim;
      let r = index / uniforms.dim;
      let value = dy[index] * gamma[c] * uniforms.sqrtDim * row[2 * r] + row[2 * r + 1] * x[index];`,
  },
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
  heads: { names: ['qkv', 'cos', 'sin'], uniforms: HEAD_UNIFORMS, body: headsBody(false) },
  headsGrad: { names: ['dy', 'cos', 'sin'], uniforms: HEAD_UNIFORMS, body: headsBody(true) },
  gateMerge: { names: ['o', 'g'], uniforms: HEAD_UNIFORMS, body: gateMergeBody('forward') },
  gateMergeDo: { names: ['dy', 'g'], uniforms: HEAD_UNIFORMS, body: gateMergeBody('do') },
  gateMergeDg: { names: ['dy', 'o', 'g'], uniforms: HEAD_UNIFORMS, body: gateMergeBody('dg') },
  // x·mask and, with the same seed, the gradient dy·mask.
  dropout: { names: ['x'], uniforms: DROPOUT_UNIFORMS, body: 'let value = x[index] * dropoutMask(index);', prelude: DROPOUT_PRELUDE },
  kdLossGrad: { names: ['x', 'hard', 'soft', 'dy'], uniforms: 'w : f32, count : f32,', body: kdLossGradBody },
} as const;

type Which = keyof typeof BODIES;

/** Register the webgpu kernels (call once the webgpu backend is initialised). */
export const registerWebgpuTrainingOps = webgpuKernelGroup('SED_WEBGPU_UNFUSED_TRAINING', (util) => ({
  [ELEMENTWISE]: ({ inputs, backend, attrs }) => {
    const { which, shape, uniforms } = attrs as unknown as { which: Which; shape: number[]; uniforms: Uniform[] };
    const def = BODIES[which];
    const prelude = 'prelude' in def ? def.prelude : '';
    const program = new ElementwiseProgram(shape, [...def.names], def.uniforms, `sedTrain_${which}`, def.body, util, prelude);
    return runProgram(backend, program, def.names.map((n) => inputs[n]!), uniforms);
  },
  [REDUCE]: ({ inputs, backend, attrs }) => {
    const a = attrs as unknown as { which: 'columnSum' | 'rmsGamma' | 'lossTerms' | 'lossFinal'; scale: number; w: number };
    const { x, dy, row, hard, soft, part } = inputs;
    switch (a.which) {
      case 'columnSum':
        return runProgram(backend, columnSumProgram(x!.shape[0], x!.shape[1], util), [x!], [i32(x!.shape[0]), i32(x!.shape[1]), f32(1)]);
      case 'rmsGamma': {
        const D = x!.shape[x!.shape.length - 1];
        return runProgram(backend, new ColumnReduceProgram(D, ['x', 'dy', 'row'], rmsGammaTerm, 'rmsGamma'), [x!, dy!, row!], [i32(row!.shape[0]), i32(D), f32(a.scale)]);
      }
      case 'lossTerms': {
        const n = x!.shape.reduce((p, d) => p * d, 1);
        const groups = Math.ceil(n / SUM_CHUNK);
        return runProgram(backend, new ChunkSumProgram(groups, ['x', 'hard', 'soft'], kdLossTerm, 'kdLoss', 'w : f32,'), [x!, hard!, soft!], [i32(n), i32(SUM_CHUNK), f32(1), f32(a.w)]);
      }
      case 'lossFinal': {
        const n = part!.shape[0];
        return runProgram(backend, new ChunkSumProgram(1, ['part'], 'fn term(i : i32) -> f32 { return part[i]; }', 'final'), [part!], [i32(n), i32(n), f32(a.scale)]);
      }
    }
  },
  [RMS_NORM]: ({ inputs, backend, attrs }) => {
    const { sqrtDim } = attrs as unknown as { sqrtDim: number };
    const x = inputs.x!;
    const D = x.shape[x.shape.length - 1];
    return runProgram(backend, new RmsNormProgram(x.shape, D), [x, inputs.gamma!], [f32(sqrtDim), i32(tf.util.sizeFromShape(x.shape) / D)]);
  },
  [SOFTMAX_DROPOUT]: ({ inputs, backend, attrs }) => {
    const { grad, rate, seed } = attrs as unknown as { grad: boolean; rate: number; seed: number };
    const [rows, n] = inputs.s!.shape;
    const uniforms: Uniform[] = [f32(rate), f32(1 / (1 - rate)), { type: 'uint32', data: [seed] }];
    return runProgram(backend, new SoftmaxDropoutProgram(rows, n, grad), grad ? [inputs.s!, inputs.dy!] : [inputs.s!], uniforms);
  },
  [LINEAR_SCAN]: ({ inputs, backend, attrs }) => {
    const { grad } = attrs as unknown as { grad: boolean };
    const shader = linearScanShader(grad);
    const a = inputs.a!;
    const [B, T, D] = a.shape;
    return runMultiOutput(backend, shader, shader.inputs.map((name) => inputs[name]!), shader.outputs.map(() => a.shape), [B, T, D], B * D);
  },
}));

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
      value: run(RMS_NORM, { x: xIn, gamma: g }, { sqrtDim: Math.sqrt(D) }),
      gradFunc: (dy: tf.Tensor, [xs, gs]: tf.Tensor[]) => {
        const row = elementwise('rmsRow', { x: xs, dy, gamma: gs }, [xs.size / D, 2], uniforms);
        return [elementwise('rmsDx', { x: xs, dy, gamma: gs, row }, xs.shape, uniforms), run(REDUCE, { x: tf.reshape(xs, [-1, D]), dy, row }, { which: 'rmsGamma', scale: Math.sqrt(D) })];
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
 * q, k or v (`which` 0, 1, 2) of qkv [B, T, 3D] as heads [B, H, T, d] times `scale`, q and k with the rotary
 * embedding of the tables cos, sin [T, d] (attention.ts `projectQkv` → `applyRotary`, one op instead of a slice,
 * a transpose and the rotation).
 */
export function qkvHeadFused(qkv: tf.Tensor3D, which: number, heads: number, cos: tf.Tensor2D, sin: tf.Tensor2D, scale: number): tf.Tensor4D {
  const [B, T, D3] = qkv.shape;
  const uniforms = [i32(D3 / 3), i32(D3 / 3 / heads), i32(T), i32(D3), i32(which), f32(scale)];
  const op = tf.customGrad(((x: tf.Tensor) => ({
    value: elementwise('heads', { qkv: x, cos, sin }, [B, heads, T, D3 / 3 / heads], uniforms),
    gradFunc: (dy: tf.Tensor) => [elementwise('headsGrad', { dy, cos, sin }, [B, T, D3], uniforms)],
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(qkv) as tf.Tensor4D;
}

/** o [B, H, T, d] · sigmoid(g [B, T, H]) with the heads merged into [B, T, H·d] (attention.ts gates + `mergeHeads`). */
export function gateMergeFused(o: tf.Tensor4D, g: tf.Tensor3D): tf.Tensor3D {
  const [B, H, T, d] = o.shape;
  const shape = [B, T, H * d];
  const uniforms = [i32(H * d), i32(d), i32(T), i32(H * d), i32(0), f32(1)];
  const op = tf.customGrad(((oIn: tf.Tensor, gIn: tf.Tensor, save: tf.GradSaveFunc) => {
    save([oIn, gIn]);
    return {
      value: elementwise('gateMerge', { o: oIn, g: gIn }, shape, uniforms),
      gradFunc: (dy: tf.Tensor, [os, gs]: tf.Tensor[]) => [elementwise('gateMergeDo', { dy, g: gs }, os.shape, uniforms), elementwise('gateMergeDg', { dy, o: os, g: gs }, gs.shape, uniforms)],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(o, g) as tf.Tensor3D;
}

/** x · dropout mask (0 or 1/(1−rate)), the mask hashed from a seed in both passes instead of stored. */
export function dropoutFused<T extends tf.Tensor>(x: T, rate: number): T {
  const uniforms = [f32(rate), f32(1 / (1 - rate)), { type: 'uint32', data: [dropoutSeed()] } as Uniform];
  const op = tf.customGrad(((xIn: tf.Tensor) => ({
    value: elementwise('dropout', { x: xIn }, xIn.shape, uniforms),
    gradFunc: (dy: tf.Tensor) => [elementwise('dropout', { x: dy }, dy.shape, uniforms)],
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as T;
}

/** dropout(softmax(s)) over the last axis, the mask hashed from one seed in both passes (attention probabilities). */
export function softmaxDropoutFused<T extends tf.Tensor>(s: T, rate: number): T {
  const n = s.shape[s.rank - 1];
  const attrs = { rate, seed: dropoutSeed() };
  const op = tf.customGrad(((sIn: tf.Tensor, save: tf.GradSaveFunc) => {
    const s2 = tf.reshape(sIn, [-1, n]);
    save([s2]);
    return {
      value: tf.reshape(run(SOFTMAX_DROPOUT, { s: s2 }, { ...attrs, grad: false }), sIn.shape),
      gradFunc: (dy: tf.Tensor, [ss]: tf.Tensor[]) => [tf.reshape(run(SOFTMAX_DROPOUT, { s: ss, dy: tf.reshape(dy, ss.shape) }, { ...attrs, grad: true }), dy.shape)],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(s) as T;
}

/**
 * x [N, in] @ w [in, out] + b as tf.fused.matMul, with tfjs' gradients except db = Σ_rows dy in one pass (tfjs
 * transposes dy, then reduces: two dispatches).
 */
export function linearBiasFused(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  const op = tf.customGrad(((xIn: tf.Tensor2D, wIn: tf.Tensor2D, bIn: tf.Tensor1D, save: tf.GradSaveFunc) => {
    save([xIn, wIn]);
    return {
      value: tf.fused.matMul({ a: xIn, b: wIn, bias: bIn }),
      gradFunc: (dy: tf.Tensor2D, [xs, ws]: tf.Tensor[]) => [tf.matMul(dy, ws, false, true), tf.matMul(xs, dy, true, false), run(REDUCE, { x: dy }, { which: 'columnSum' })],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, w, b) as tf.Tensor2D;
}

/**
 * h_t = a_t·h_{t−1} + b_t (h_{−1} = 0) along axis 1 of a, b [B, T, D] (scan.ts `linearScan`): one dispatch
 * forward, one backward writing da and db.
 */
export function linearScanFused(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const op = tf.customGrad(((aIn: tf.Tensor3D, bIn: tf.Tensor3D, save: tf.GradSaveFunc) => {
    const [h] = runMulti<tf.Tensor3D>(LINEAR_SCAN, { a: aIn, b: bIn }, { grad: false });
    save([aIn, h]);
    return { value: h, gradFunc: (dh: tf.Tensor, [as, hs]: tf.Tensor[]) => runMulti(LINEAR_SCAN, { a: as, h: hs, dh }, { grad: true }) };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(a, b) as tf.Tensor3D;
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
      value: tf.reshape(run(REDUCE, { part: run(REDUCE, { x, hard, soft }, { which: 'lossTerms', w }) }, { which: 'lossFinal', scale: 1 / count }), []),
      gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => [elementwise('kdLossGrad', { x: xs, hard, soft, dy }, xs.shape, [f32(w), f32(count)])],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(logits) as tf.Scalar;
}

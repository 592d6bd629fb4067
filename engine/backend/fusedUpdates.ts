/**
 * Fused element-wise parameter updates: the exponential moving averages of Adam's moments and of
 * BatchNorm's running statistics, and Adam's parameter step. With tfjs ops each is 3–6 kernels plus host
 * scalars that webgpu uploads one staging buffer at a time; an H200 training step spent more time in
 * the optimizer than in forward + backward that way (bench/RESULTS.md). On webgpu each update is one
 * dispatch with its constants as uniforms; other backends use the same formulas as tfjs ops.
 *
 * Multi-tensor apply on webgpu goes further, since a step is bound by the host cost of each dispatch:
 * - Adam (engine/train/moments.ts): the moments of a chunk of parameters live in one packed state tensor,
 *   and one dispatch (`adamChunk`) reads the chunk's gradients and parameters and writes the new state and
 *   every new parameter (webgpuMultiOutput.ts) — one dispatch per chunk instead of three per parameter.
 *   Every new value is a fresh tensor: DerivedCache keys derived weights on the variable's dataId.
 * - BatchNorm's running statistics (`emaMany`): several EMAs per dispatch.
 * A chunk holds as many tensors as a shader may bind storage buffers (the device asks for the adapter's
 * limit, select.ts). SED_WEBGPU_UNFUSED_TRAINING=1 leaves the multi-tensor kernels unregistered
 * (per-parameter moments, three dispatches each; one EMA dispatch per statistic; for A/B benchmarks).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ElementwiseProgram, fused, run, runMulti, runProgram, webgpuKernelGroup, type Uniform } from './webgpuProgram';
import { runMultiOutput, type MultiOutputShader } from './webgpuMultiOutput';

const EMA = 'SedEma';
const ADAM_STEP = 'SedAdamStep';
const EMA_MANY = 'SedEmaMany';
const ADAM_CHUNK = 'SedAdamChunk';

const f32 = (v: number): Uniform => ({ type: 'float32', data: [v] });

/** Adam's constants for one step (stepSize per parameter apart). */
export interface AdamHyper {
  beta1: number;
  beta2: number;
  /** √(1−β₂ᵗ). */
  sqrtBc2: number;
  epsilon: number;
}

interface ChunkAttrs extends AdamHyper {
  /** Per slot: end of its elements in a half of the state (exclusive), whether it has a gradient, its step size (0: no step). */
  ends: number[];
  present: boolean[];
  stepSizes: number[];
}

/**
 * One thread per element of a chunk's parameters: slot k's moments from its gradient g<k> (or kept
 * without one) into the new state [m_0 … m_k | v_0 … v_k], then its step p<k> − step·m / (√v / √(1−β₂ᵗ) + ε).
 */
function adamChunkShader(present: boolean[], stepping: boolean[]): MultiOutputShader {
  const slots = present.map((has, k) => {
    const start = k === 0 ? '0' : `uniforms.end${k - 1}`;
    const body = has
      ? `let j = index - ${start};
        let g = g${k}[j];
        let m = uniforms.beta1 * s[index] + uniforms.gain1 * g;
        let v = uniforms.beta2 * s[half + index] + uniforms.gain2 * g * g;
        next[index] = m;
        next[half + index] = v;${stepping[k] ? `
        p${k}Next[j] = p${k}[j] - uniforms.step${k} * m / (sqrt(v) / uniforms.sqrtBc2 + uniforms.epsilon);` : ''}`
      : `next[index] = s[index];
        next[half + index] = s[half + index];`;
    return `${k ? 'else ' : ''}if (index < uniforms.end${k}) {
        ${body}
      }`;
  });
  const which = (flags: boolean[]) => flags.flatMap((f, k) => (f ? [k] : []));
  return {
    key: `sedAdamChunk_${present.map((has, k) => (stepping[k] ? 2 : Number(has))).join('')}`,
    outputs: ['next', ...which(stepping).map((k) => `p${k}Next`)],
    inputs: ['s', ...which(present).map((k) => `g${k}`), ...which(stepping).map((k) => `p${k}`)],
    uniforms: [
      ['half', 'i32'], ['beta1', 'f32'], ['gain1', 'f32'], ['beta2', 'f32'], ['gain2', 'f32'], ['sqrtBc2', 'f32'], ['epsilon', 'f32'],
      ...present.map((_, k) => [`end${k}`, 'i32'] as [string, 'i32']),
      ...present.map((_, k) => [`step${k}`, 'f32'] as [string, 'f32']),
    ],
    body: `
      let half = uniforms.half;
      if (index >= half) { return; }
      ${slots.join(' ')}`,
  };
}

/** One thread per element of the pairs' outputs: out_k = β_k·x_k + (1−β_k)·y_k. */
function emaManyShader(pairs: number): MultiOutputShader {
  const k = [...Array(pairs).keys()];
  const slots = k.map((i) => `${i ? 'else ' : ''}if (index < uniforms.end${i}) {
        let j = index - ${i ? `uniforms.end${i - 1}` : '0'};
        out${i}[j] = uniforms.beta${i} * x${i}[j] + (1.0 - uniforms.beta${i}) * y${i}[j];
      }`);
  return {
    key: `sedEmaMany_${pairs}`,
    outputs: k.map((i) => `out${i}`),
    inputs: k.flatMap((i) => [`x${i}`, `y${i}`]),
    uniforms: [...k.map((i) => [`end${i}`, 'i32'] as [string, 'i32']), ...k.map((i) => [`beta${i}`, 'f32'] as [string, 'f32'])],
    body: `
      if (index >= uniforms.end${pairs - 1}) { return; }
      ${slots.join(' ')}`,
  };
}

const updateKernels = webgpuKernelGroup(null, (util) => ({
  [EMA]: ({ inputs, backend, attrs }) => {
    const { beta, square } = attrs as unknown as { beta: number; square: boolean };
    const y = square ? 'y[index] * y[index]' : 'y[index]';
    const program = new ElementwiseProgram(inputs.x!.shape, ['x', 'y'], 'beta : f32,', `sedEma_${square}`, `let value = uniforms.beta * x[index] + (1.0 - uniforms.beta) * ${y};`, util);
    return runProgram(backend, program, [inputs.x!, inputs.y!], [f32(beta)]);
  },
  [ADAM_STEP]: ({ inputs, backend, attrs }) => {
    const { stepSize, sqrtBc2, epsilon } = attrs as unknown as { stepSize: number; sqrtBc2: number; epsilon: number };
    const program = new ElementwiseProgram(inputs.p!.shape, ['p', 'mIn', 'vIn'], 'stepSize : f32, sqrtBc2 : f32, epsilon : f32,', 'sedAdamStep',
      'let value = p[index] - uniforms.stepSize * mIn[index] / (sqrt(vIn[index]) / uniforms.sqrtBc2 + uniforms.epsilon);', util);
    return runProgram(backend, program, [inputs.p!, inputs.m!, inputs.v!], [stepSize, sqrtBc2, epsilon].map(f32));
  },
}));

/** Multi-tensor kernels; SED_WEBGPU_UNFUSED_TRAINING=1 leaves them out. */
const multiTensorKernels = webgpuKernelGroup('SED_WEBGPU_UNFUSED_TRAINING', () => ({
  [ADAM_CHUNK]: ({ inputs, backend, attrs }) => {
    const { ends, present, stepSizes, beta1, beta2, sqrtBc2, epsilon } = attrs as unknown as ChunkAttrs;
    const stepping = present.map((has, k) => has && stepSizes[k] !== 0);
    const shader = adamChunkShader(present, stepping);
    const state = inputs.s!;
    const half = state.shape[0] / 2;
    const ins = shader.inputs.map((name) => inputs[name]!);
    const shapes = [state.shape, ...stepping.flatMap((steps, k) => (steps ? [inputs[`p${k}`]!.shape] : []))];
    return runMultiOutput(backend, shader, ins, shapes, [half, beta1, 1 - beta1, beta2, 1 - beta2, sqrtBc2, epsilon, ...ends, ...stepSizes], half);
  },
  [EMA_MANY]: ({ inputs, backend, attrs }) => {
    const { betas } = attrs as unknown as { betas: number[] };
    const shader = emaManyShader(betas.length);
    const shapes = betas.map((_, i) => inputs[`x${i}`]!.shape);
    const ends = shapes.map((_, i) => shapes.slice(0, i + 1).reduce((n, sh) => n + tf.util.sizeFromShape(sh), 0));
    return runMultiOutput(backend, shader, shader.inputs.map((name) => inputs[name]!), shapes, [...ends, ...betas], ends.at(-1)!);
  },
}));

/** Register the webgpu kernels (call once the webgpu backend is initialised). */
export async function registerWebgpuFusedUpdates(): Promise<void> {
  await updateKernels();
  await multiTensorKernels();
}

/** β·x + (1−β)·y, or β·x + (1−β)·y² with `square` (Adam's second moment). */
export function ema(x: tf.Tensor, y: tf.Tensor, beta: number, square = false): tf.Tensor {
  if (fused(EMA)) return run(EMA, { x, y }, { beta, square });
  return tf.tidy(() => tf.add(tf.mul(x, beta), tf.mul(square ? tf.square(y) : y, 1 - beta)));
}

/** Adam's parameter step p − stepSize·m / (√v / √(1−β₂ᵗ) + ε) (stepSize already divided by 1−β₁ᵗ). */
export function adamStep(p: tf.Tensor, m: tf.Tensor, v: tf.Tensor, stepSize: number, sqrtBc2: number, epsilon: number): tf.Tensor {
  if (fused(ADAM_STEP)) return run(ADAM_STEP, { p, m, v }, { stepSize, sqrtBc2, epsilon });
  return tf.tidy(() => tf.sub(p, tf.mul(tf.div(m, tf.add(tf.div(tf.sqrt(v), sqrtBc2), epsilon)), stepSize)));
}

/** Storage buffers one shader may bind on the active webgpu device. */
const storageBuffers = (): number =>
  (tf.backend() as unknown as { device: { limits: { maxStorageBuffersPerShaderStage: number } } }).device.limits.maxStorageBuffersPerShaderStage;

/**
 * How many parameters one `adamChunk` dispatch takes (each binds its gradient, itself and its new value,
 * beside the state in and out), or 0 where the multi-tensor kernels are not registered (other backends, opt-out).
 */
export function packedAdamSlots(): number {
  return fused(ADAM_CHUNK) ? Math.floor((storageBuffers() - 2) / 3) : 0;
}

/**
 * One Adam step of a chunk: the new packed state and the new values of the parameters that step. Slot k
 * (elements up to `ends[k]` in each half of the state) has gradient `grads[k]` (undefined: its moments are
 * kept) and steps by `stepSizes[k]` (already divided by 1−β₁ᵗ) when it has a gradient and a step size ≠ 0;
 * `params[k]` is its current value. Returns [state, ...new values of the stepping slots, in slot order].
 */
export function adamChunk(state: tf.Tensor, grads: Array<tf.Tensor | undefined>, params: tf.Tensor[], ends: number[], stepSizes: number[], hyper: AdamHyper): tf.Tensor[] {
  const inputs: tf.NamedTensorMap = { s: state };
  grads.forEach((g, k) => {
    if (!g) return;
    inputs[`g${k}`] = g;
    if (stepSizes[k] !== 0) inputs[`p${k}`] = params[k];
  });
  return runMulti(ADAM_CHUNK, inputs, { ends, present: grads.map((g) => !!g), stepSizes, ...hyper });
}

/** `ema` of many pairs (x_k, y_k) with their own β_k: several per dispatch on webgpu, tfjs ops elsewhere. */
export function emaMany(pairs: Array<{ x: tf.Tensor; y: tf.Tensor; beta: number }>): tf.Tensor[] {
  if (!fused(EMA_MANY)) return pairs.map(({ x, y, beta }) => ema(x, y, beta));
  const perDispatch = Math.floor(storageBuffers() / 3);
  const out: tf.Tensor[] = [];
  for (let i = 0; i < pairs.length; i += perDispatch) {
    const group = pairs.slice(i, i + perDispatch);
    const inputs: tf.NamedTensorMap = {};
    group.forEach(({ x, y }, k) => Object.assign(inputs, { [`x${k}`]: x, [`y${k}`]: y }));
    out.push(...runMulti(EMA_MANY, inputs, { betas: group.map((p) => p.beta) }));
  }
  return out;
}

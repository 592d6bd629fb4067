/**
 * Fused element-wise parameter updates: the exponential moving averages of Adam's moments and of
 * BatchNorm's running statistics, and Adam's parameter step. With tfjs ops each is 3–6 kernels plus host
 * scalars that webgpu uploads one staging buffer at a time; an H200 training step spent more time in
 * the optimizer than in forward + backward that way (bench/RESULTS.md). On webgpu each update is one
 * dispatch with its constants as uniforms; other backends use the same formulas as tfjs ops.
 *
 * Adam on webgpu goes further (multi-tensor apply, engine/train/moments.ts): the moments of several
 * parameters live in one packed state tensor, updated by one dispatch from all their gradients, and each
 * parameter's step reads its m, v from there — one dispatch per parameter plus one per state chunk
 * instead of three per parameter. A tfjs-webgpu program writes a single output buffer, and every
 * parameter needs a fresh one (DerivedCache keys derived weights on the variable's dataId), so one
 * dispatch per parameter is the floor; a chunk holds as many gradients as a shader may bind storage
 * buffers, less the state and the output. BatchNorm's running statistics are at that floor already (one
 * EMA dispatch per statistic, and BN folding keys on them too). SED_WEBGPU_UNFUSED_TRAINING=1 leaves the
 * two packed kernels unregistered (per-parameter moments, three dispatches each; for A/B benchmarks).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ElementwiseProgram, fused, run, runProgram, webgpuKernelGroup, type Uniform } from './webgpuProgram';

const EMA = 'SedEma';
const ADAM_STEP = 'SedAdamStep';
const ADAM_MOMENTS = 'SedAdamMoments';
const ADAM_PACKED_STEP = 'SedAdamPackedStep';

const f32 = (v: number): Uniform => ({ type: 'float32', data: [v] });
const i32 = (v: number): Uniform => ({ type: 'int32', data: [v] });

const ADAM_BODY = 'let value = p[index] - uniforms.stepSize * m / (sqrt(v) / uniforms.sqrtBc2 + uniforms.epsilon);';

interface MomentsAttrs {
  /** Per slot: end of its elements in the chunk (exclusive), and whether a gradient input `g<slot>` is given. */
  ends: number[];
  present: boolean[];
  beta1: number;
  beta2: number;
}

/**
 * One thread per state element of a chunk [m_0 … m_k | v_0 … v_k]: finds its slot by the slot ends and
 * takes the EMA of g (first half) or g² (second half); a slot without gradient keeps its values.
 */
function momentsBody(present: boolean[]): string {
  const slots = present.map((has, k) => {
    const start = k === 0 ? '0' : `uniforms.end${k - 1}`;
    return `${k ? 'else ' : ''}if (j < uniforms.end${k}) { ${has ? `g = g${k}[j - ${start}];` : 'keep = true;'} }`;
  });
  return `
    let n = uniforms.size / 2;
    let second = index >= n;
    let j = select(index, index - n, second);
    var g = 0.0;
    var keep = false;
    ${slots.join('\n    ')}
    let value = select(select(uniforms.beta1 * s[index] + uniforms.gain1 * g, uniforms.beta2 * s[index] + uniforms.gain2 * g * g, second), s[index], keep);`;
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
      `let m = mIn[index]; let v = vIn[index]; ${ADAM_BODY}`, util);
    return runProgram(backend, program, [inputs.p!, inputs.m!, inputs.v!], [stepSize, sqrtBc2, epsilon].map(f32));
  },
}));

/** Packed moments (multi-tensor apply); SED_WEBGPU_UNFUSED_TRAINING=1 leaves them out. */
const packedKernels = webgpuKernelGroup('SED_WEBGPU_UNFUSED_TRAINING', (util) => ({
  [ADAM_MOMENTS]: ({ inputs, backend, attrs }) => {
    const { ends, present, beta1, beta2 } = attrs as unknown as MomentsAttrs;
    const slots = present.flatMap((has, k) => (has ? [k] : []));
    const uniforms = `beta1 : f32, gain1 : f32, beta2 : f32, gain2 : f32, ${ends.map((_, k) => `end${k} : i32,`).join(' ')}`;
    const program = new ElementwiseProgram(inputs.s!.shape, ['s', ...slots.map((k) => `g${k}`)], uniforms, `sedAdamMoments_${present.map(Number).join('')}`, momentsBody(present), util);
    const ins = [inputs.s!, ...slots.map((k) => inputs[`g${k}`]!)];
    return runProgram(backend, program, ins, [f32(beta1), f32(1 - beta1), f32(beta2), f32(1 - beta2), ...ends.map(i32)]);
  },
  [ADAM_PACKED_STEP]: ({ inputs, backend, attrs }) => {
    const { offset, stepSize, sqrtBc2, epsilon } = attrs as unknown as { offset: number; stepSize: number; sqrtBc2: number; epsilon: number };
    const program = new ElementwiseProgram(inputs.p!.shape, ['p', 's'], 'offset : i32, half : i32, stepSize : f32, sqrtBc2 : f32, epsilon : f32,', 'sedAdamPackedStep',
      `let m = s[uniforms.offset + index]; let v = s[uniforms.half + uniforms.offset + index]; ${ADAM_BODY}`, util);
    return runProgram(backend, program, [inputs.p!, inputs.s!], [i32(offset), i32(inputs.s!.shape[0] / 2), ...[stepSize, sqrtBc2, epsilon].map(f32)]);
  },
}));

/** Register the webgpu kernels (call once the webgpu backend is initialised). */
export async function registerWebgpuFusedUpdates(): Promise<void> {
  await updateKernels();
  await packedKernels();
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

/**
 * How many parameters' gradients one packed-moments dispatch takes (the shader's storage-buffer bindings
 * less the state and the output), or 0 where the packed kernels are not registered (other backends, opt-out).
 */
export function packedAdamSlots(): number {
  if (!fused(ADAM_MOMENTS)) return 0;
  return (tf.backend() as unknown as { device: { limits: { maxStorageBuffersPerShaderStage: number } } }).device.limits.maxStorageBuffersPerShaderStage - 2;
}

/**
 * The new packed state of one chunk: `grads[k]` is slot k's gradient (undefined: the slot keeps its m, v);
 * `ends[k]` is where slot k's elements end within each half of the state.
 */
export function adamMoments(state: tf.Tensor, grads: Array<tf.Tensor | undefined>, ends: number[], beta1: number, beta2: number): tf.Tensor {
  const inputs: tf.NamedTensorMap = { s: state };
  grads.forEach((g, k) => {
    if (g) inputs[`g${k}`] = g;
  });
  return run(ADAM_MOMENTS, inputs, { ends, present: grads.map((g) => !!g), beta1, beta2 });
}

/** `adamStep` with p's m at `offset` in the packed chunk state (and v at the same offset in its second half). */
export function adamPackedStep(p: tf.Tensor, state: tf.Tensor, offset: number, stepSize: number, sqrtBc2: number, epsilon: number): tf.Tensor {
  return run(ADAM_PACKED_STEP, { p, s: state }, { offset, stepSize, sqrtBc2, epsilon });
}

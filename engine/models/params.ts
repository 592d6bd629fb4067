/**
 * Parameter declarations and the parameter store.
 *
 * Every module declares its parameters as `ParamSpec`s under the upstream state-dict names and PyTorch
 * shapes. The store converts each tensor once into the layout the tfjs ops want (`layout`), keeps it as a
 * `tf.Variable`, and converts back when exporting a state dict. BatchNorm `num_batches_tracked` is a
 * state-dict entry without a variable (a counter kept in JS).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { HostTensor } from '../io/safetensors';
import { Rng } from './init';

/**
 * How a PyTorch tensor maps to the engine's variable:
 * - plain: same shape; linear: [out,in] → [in,out]; conv2d: [out,in,kh,kw] → [kh,kw,in,out];
 * - depthwise: [exp,1,kh,kw] → [kh,kw,exp,1]; conv1d: [out,in,k] → [k,in,out]; vector: [n,1,1] → [n].
 */
export type Layout = 'plain' | 'linear' | 'conv2d' | 'depthwise' | 'conv1d' | 'vector';

/**
 * param: trainable and counted; freqs: counted, not trainable (rotary `freqs`, an nn.Parameter upstream
 * with requires_grad=False); buffer: BN running stats (neither); counter: `num_batches_tracked` (no variable).
 */
export type Role = 'param' | 'freqs' | 'buffer' | 'counter';

export type Init =
  | { kind: 'const'; value: number }
  | { kind: 'normal'; std: number }
  | { kind: 'uniform'; bound: number }
  /** kaiming normal, mode fan_out, ReLU gain: std = sqrt(2 / (out·kh·kw)). */
  | { kind: 'kaimingFanOut' }
  | { kind: 'custom'; fill: (rng: Rng, n: number) => Float32Array };

export interface ParamSpec {
  key: string;
  /** PyTorch shape. */
  shape: number[];
  layout: Layout;
  role: Role;
  init: Init;
  /** Further state-dict names of the same tensor (TCN weight norm: `net.0.*` duplicates `conv1.*`). */
  aliases?: string[];
  /**
   * Derived initialisation from other already-initialised params (TCN weight norm: g = ‖v‖).
   * Receives the PyTorch-layout data of `from`.
   */
  derive?: { from: string; fn: (src: Float32Array, srcShape: number[]) => Float32Array };
}

export const PERMS: Record<Layout, number[] | null> = {
  plain: null, vector: null, linear: [1, 0], conv2d: [2, 3, 1, 0], depthwise: [2, 3, 0, 1], conv1d: [2, 1, 0],
};

export function engineShape(spec: ParamSpec): number[] {
  if (spec.layout === 'vector') return [spec.shape[0]];
  const perm = PERMS[spec.layout];
  return perm ? perm.map((p) => spec.shape[p]) : spec.shape.slice();
}

/** Transpose a C-order host array: out[i_perm...] = src[i...], out shape = perm.map(p => shape[p]). */
export function permuteHost(src: Float32Array, shape: number[], perm: number[]): Float32Array {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]);
  const srcStrides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) { srcStrides[i] = s; s *= shape[i]; }
  const stride = perm.map((p) => srcStrides[p]); // source stride of each output axis
  const out = new Float32Array(src.length);
  const idx = new Array<number>(rank).fill(0);
  let srcPos = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = src[srcPos];
    for (let ax = rank - 1; ax >= 0; ax--) {
      idx[ax]++;
      srcPos += stride[ax];
      if (idx[ax] < outShape[ax]) break;
      srcPos -= stride[ax] * outShape[ax];
      idx[ax] = 0;
    }
  }
  return out;
}

function inversePerm(perm: number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => { inv[p] = i; });
  return inv;
}

export function toEngineLayout(spec: ParamSpec, data: Float32Array): Float32Array {
  const perm = PERMS[spec.layout];
  return perm ? permuteHost(data, spec.shape, perm) : data;
}

export function toTorchLayout(spec: ParamSpec, data: Float32Array): Float32Array {
  const perm = PERMS[spec.layout];
  return perm ? permuteHost(data, engineShape(spec), inversePerm(perm)) : data;
}

const numel = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

function initData(spec: ParamSpec, rng: Rng): Float32Array {
  const n = numel(spec.shape);
  const init = spec.init;
  switch (init.kind) {
    case 'const': return new Float32Array(n).fill(init.value);
    case 'normal': return rng.normal(n, init.std);
    case 'uniform': return rng.uniform(n, -init.bound, init.bound);
    case 'kaimingFanOut': return rng.normal(n, Math.sqrt(2 / (spec.shape[0] * numel(spec.shape.slice(2)))));
    case 'custom': return init.fill(rng, n);
  }
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function toFloat32(t: HostTensor): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.data instanceof BigInt64Array) return Float32Array.from(t.data, (v) => Number(v));
  return Float32Array.from(t.data as ArrayLike<number>);
}

/** Every state-dict key (aliases included) → PyTorch shape, in declaration order. */
export function stateDictShapes(specs: ParamSpec[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const s of specs) {
    out.set(s.key, s.shape);
    for (const a of s.aliases ?? []) out.set(a, s.shape);
  }
  return out;
}

/**
 * Host data (PyTorch layout) for every non-counter spec: from `weights` (strict: every key present with
 * its exact shape, no unexpected keys; `num_batches_tracked` optional) or from the seeded init.
 */
export function hostParams(specs: ParamSpec[], weights: Map<string, HostTensor> | undefined, seed: number): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  if (weights) {
    const expected = stateDictShapes(specs);
    const counters = new Set(specs.filter((s) => s.role === 'counter').map((s) => s.key));
    for (const [key, shape] of expected) {
      const t = weights.get(key);
      if (!t) {
        if (counters.has(key)) continue;
        throw new Error(`weights: missing key '${key}' (expected shape [${shape}])`);
      }
      // Counters carry no model information; writers differ in storing them as [] or [1].
      if (counters.has(key) && t.data.length === 1) continue;
      if (!sameShape(t.shape, shape)) throw new Error(`weights: key '${key}' has shape [${t.shape}] but the model expects [${shape}]`);
    }
    for (const key of weights.keys()) {
      if (!expected.has(key)) throw new Error(`weights: unexpected key '${key}' (shape [${weights.get(key)!.shape}]) is not part of this model`);
    }
    for (const s of specs) if (s.role !== 'counter') out.set(s.key, toFloat32(weights.get(s.key)!));
    return out;
  }
  const rng = new Rng(seed);
  for (const s of specs) if (s.role !== 'counter' && !s.derive) out.set(s.key, initData(s, rng));
  for (const s of specs) {
    if (s.derive) {
      const from = specs.find((x) => x.key === s.derive!.from)!;
      out.set(s.key, s.derive.fn(out.get(from.key)!, from.shape));
    }
  }
  return out;
}

/** Read access to the engine-layout variables by state-dict name. */
export type ParamGetter = (key: string) => tf.Tensor;

/** The store behind a SedModel: variables in engine layout keyed by upstream names. */
export class ParamStore {
  readonly vars = new Map<string, tf.Variable>();
  readonly specs: ParamSpec[];
  /** `num_batches_tracked` per BN (upstream counts training forwards). */
  readonly counters = new Map<string, number>();

  constructor(specs: ParamSpec[], host: Map<string, Float32Array>, weights?: Map<string, HostTensor>) {
    this.specs = specs;
    for (const s of specs) {
      if (s.role === 'counter') {
        const t = weights?.get(s.key);
        this.counters.set(s.key, t ? Number(toFloat32(t)[0]) : 0);
        continue;
      }
      const data = toEngineLayout(s, host.get(s.key)!);
      // The variable takes over the tensor's buffer; the tensor handle itself must not outlive it.
      const initial = tf.tensor(data, engineShape(s), 'float32');
      this.vars.set(s.key, tf.variable(initial, s.role === 'param'));
      initial.dispose();
    }
  }

  get: ParamGetter = (key) => {
    const v = this.vars.get(key);
    if (!v) throw new Error(`internal: no parameter '${key}'`);
    return v;
  };

  trainableNames(): string[] {
    return this.specs.filter((s) => s.role === 'param').map((s) => s.key);
  }

  /** The full upstream state dict (PyTorch layout, aliases duplicated, counters as I64 scalars). */
  stateDict(): Map<string, HostTensor> {
    const out = new Map<string, HostTensor>();
    for (const s of this.specs) {
      if (s.role === 'counter') {
        out.set(s.key, { dtype: 'I64', shape: [], data: BigInt64Array.of(BigInt(this.counters.get(s.key) ?? 0)) });
        continue;
      }
      const data = toTorchLayout(s, this.vars.get(s.key)!.dataSync() as Float32Array);
      const t: HostTensor = { dtype: 'F32', shape: s.shape.slice(), data };
      out.set(s.key, t);
      for (const a of s.aliases ?? []) out.set(a, t);
    }
    return out;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

/** Parameter count in the paper's convention: params and rotary freqs, aliases once, no BN buffers. */
export function countSpecParams(specs: ParamSpec[]): number {
  return specs.filter((s) => s.role === 'param' || s.role === 'freqs').reduce((a, s) => a + numel(s.shape), 0);
}

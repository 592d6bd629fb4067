/**
 * Where GroupedAdam keeps its moments m and v, and the step that updates them and the parameters.
 * `VariableMoments`: one tf.Variable each per parameter, updated by `ema` / `adamStep` (tfjs ops, or one
 * dispatch each on webgpu with SED_WEBGPU_UNFUSED_TRAINING=1). `PackedMoments` (webgpu): the parameters, in
 * order, in chunks of `packedAdamSlots()`, each chunk's m and v in one state tensor [m_0 … m_k | v_0 … v_k];
 * one dispatch per chunk updates the state and steps its parameters, so a training step of P parameters
 * is ⌈P / slots⌉ dispatches instead of 3P (engine/backend/fusedUpdates.ts). Both give the same host arrays.
 */
import * as tf from '@tensorflow/tfjs-core';
import { adamChunk, adamStep, ema, type AdamHyper } from '../backend/fusedUpdates';

export type HostMoments = Map<string, { m: Float32Array; v: Float32Array }>;

export interface Moments {
  /**
   * One Adam step: the moving averages of g and g² for the parameters in `grads` (the others keep theirs),
   * then the new value of each parameter in `stepSizes` (all have gradients; see `adamStep`), returned.
   */
  apply(grads: Map<string, tf.Tensor>, params: Map<string, tf.Tensor>, stepSizes: Map<string, number>, hyper: AdamHyper): Map<string, tf.Tensor>;
  /** m and v of every parameter as host arrays. */
  read(): Promise<HostMoments>;
  /** Replace every parameter's m and v (sizes already checked). */
  load(values: Map<string, { m: ArrayLike<number>; v: ArrayLike<number> }>): void;
  dispose(): void;
}

/** Zeros that outlive tidy (variables are exempt, the zeros they were made from are not). */
const zeroVariable = (shape: number[]): tf.Variable => tf.tidy(() => tf.variable(tf.zeros(shape), false));

export class VariableMoments implements Moments {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(shapes: Map<string, number[]>) {
    for (const [name, shape] of shapes) {
      this.m.set(name, zeroVariable(shape));
      this.v.set(name, zeroVariable(shape));
    }
  }

  apply(grads: Map<string, tf.Tensor>, params: Map<string, tf.Tensor>, stepSizes: Map<string, number>, hyper: AdamHyper): Map<string, tf.Tensor> {
    for (const [name, m] of this.m) {
      const g = grads.get(name);
      if (!g) continue;
      const v = this.v.get(name)!;
      m.assign(ema(m, g, hyper.beta1));
      v.assign(ema(v, g, hyper.beta2, true));
    }
    const out = new Map<string, tf.Tensor>();
    for (const [name, stepSize] of stepSizes) out.set(name, adamStep(params.get(name)!, this.m.get(name)!, this.v.get(name)!, stepSize, hyper.sqrtBc2, hyper.epsilon));
    return out;
  }

  async read(): Promise<HostMoments> {
    const out: HostMoments = new Map();
    for (const [name, m] of this.m) out.set(name, { m: (await m.data()) as Float32Array, v: (await this.v.get(name)!.data()) as Float32Array });
    return out;
  }

  load(values: Map<string, { m: ArrayLike<number>; v: ArrayLike<number> }>): void {
    for (const [name, { m, v }] of values) {
      for (const [dst, src] of [[this.m.get(name)!, m], [this.v.get(name)!, v]] as const) tf.tidy(() => dst.assign(tf.tensor(Float32Array.from(src), dst.shape)));
    }
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}

interface Chunk {
  names: string[];
  /** Where each parameter's elements end within a half of the state. */
  ends: number[];
  state: tf.Variable;
}

export class PackedMoments implements Moments {
  private readonly chunks: Chunk[] = [];

  constructor(shapes: Map<string, number[]>, slots: number) {
    let chunk: Chunk | undefined;
    for (const [name, shape] of shapes) {
      if (!chunk || chunk.names.length === slots) this.chunks.push((chunk = { names: [], ends: [], state: undefined as unknown as tf.Variable }));
      const offset = chunk.ends.at(-1) ?? 0;
      chunk.names.push(name);
      chunk.ends.push(offset + tf.util.sizeFromShape(shape));
    }
    for (const c of this.chunks) c.state = zeroVariable([2 * c.ends.at(-1)!]);
  }

  apply(grads: Map<string, tf.Tensor>, params: Map<string, tf.Tensor>, stepSizes: Map<string, number>, hyper: AdamHyper): Map<string, tf.Tensor> {
    // A fresh state tensor each step, not written in place: a read-back's host copy stays cached under the
    // tensor's dataId.
    const out = new Map<string, tf.Tensor>();
    for (const c of this.chunks) {
      const g = c.names.map((name) => grads.get(name));
      if (!g.some(Boolean)) continue;
      const steps = c.names.map((name) => stepSizes.get(name) ?? 0);
      const [state, ...values] = adamChunk(c.state, g, c.names.map((name) => params.get(name)!), c.ends, steps, hyper);
      c.state.assign(state);
      // adamChunk returns the slots that step (a gradient and a step size ≠ 0), in slot order.
      c.names.filter((_, k) => g[k] && steps[k] !== 0).forEach((name, k) => out.set(name, values[k]));
    }
    return out;
  }

  async read(): Promise<HostMoments> {
    const out: HostMoments = new Map();
    for (const c of this.chunks) {
      const data = (await c.state.data()) as Float32Array;
      const half = c.ends.at(-1)!;
      c.names.forEach((name, k) => {
        const start = k ? c.ends[k - 1] : 0;
        out.set(name, { m: data.slice(start, c.ends[k]), v: data.slice(half + start, half + c.ends[k]) });
      });
    }
    return out;
  }

  load(values: Map<string, { m: ArrayLike<number>; v: ArrayLike<number> }>): void {
    for (const c of this.chunks) {
      const half = c.ends.at(-1)!;
      const data = new Float32Array(2 * half);
      c.names.forEach((name, k) => {
        const { m, v } = values.get(name)!;
        const start = k ? c.ends[k - 1] : 0;
        data.set(m, start);
        data.set(v, half + start);
      });
      tf.tidy(() => c.state.assign(tf.tensor1d(data)));
    }
  }

  dispose(): void {
    for (const c of this.chunks) c.state.dispose();
    this.chunks.length = 0;
  }
}

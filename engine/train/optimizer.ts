/**
 * Adam with one learning rate per parameter (tfjs' tf.train.adam has a single LR), as the reference
 * configures it (MODEL_SPEC §4): backbone parameters grouped by `features.<i>` with layer-wise decay
 * (the last group gets the backbone LR, each earlier group ×decay), sequence model and heads at their
 * own LR. Update rule and defaults are PyTorch's Adam (β 0.9/0.999, ε 1e-8, added to the
 * bias-corrected √v̂). The moments live on the device (moments.ts: packed into a few tensors on webgpu,
 * one variable each elsewhere); `state()`/`loadState()` move them to/from host arrays for the resume
 * checkpoint, the same arrays either way.
 */
import * as tf from '@tensorflow/tfjs-core';
import { packedAdamSlots } from '../backend/fusedUpdates';
import { PackedMoments, VariableMoments, type Moments } from './moments';

export interface LrConfig {
  /** LR of the last backbone group (`features.16` in fmn). */
  backboneLr: number;
  /** LR of everything outside the backbone (W_d, sequence model, heads). */
  seqLr: number;
  /** Layer-wise decay per backbone group (1 = none). */
  layerDecay: number;
}

const FEATURES = /(?:^|\.)features\.(\d+)\./;

/** The backbone group index of a parameter name, or null for non-backbone parameters. */
export function backboneGroup(name: string): number | null {
  const m = FEATURES.exec(name);
  return m ? Number(m[1]) : null;
}

/** Base LR for each parameter (before the schedule factor). */
export function baseLearningRates(names: string[], cfg: LrConfig): Map<string, number> {
  const groups = names.map(backboneGroup);
  const last = Math.max(-1, ...groups.map((g) => g ?? -1));
  const out = new Map<string, number>();
  names.forEach((name, i) => {
    const g = groups[i];
    out.set(name, g === null ? cfg.seqLr : cfg.backboneLr * cfg.layerDecay ** (last - g));
  });
  return out;
}

export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export interface HostArray {
  shape: number[];
  data: Float32Array;
}

export class GroupedAdam {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** Number of optimizer steps taken so far (also the schedule position). */
  step = 0;
  private readonly moments: Moments;
  private readonly shapes = new Map<string, number[]>();

  constructor(private readonly params: Map<string, tf.Variable>, readonly baseLr: Map<string, number>, opts: AdamOptions = {}) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.epsilon = opts.epsilon ?? 1e-8;
    for (const name of baseLr.keys()) {
      const p = params.get(name);
      if (!p) throw new Error(`optimizer: parameter '${name}' is not in the model`);
      this.shapes.set(name, p.shape.slice());
    }
    const slots = packedAdamSlots();
    this.moments = slots > 0 ? new PackedMoments(this.shapes, slots) : new VariableMoments(this.shapes);
  }

  get names(): string[] {
    return [...this.baseLr.keys()];
  }

  /** Apply one update with gradients `grads` (keyed by parameter name) and LR factor `factor` (call inside tf.tidy or not: it tidies itself). */
  apply(grads: Map<string, tf.Tensor>, factor: number): void {
    this.step += 1;
    const t = this.step;
    const bc1 = 1 - this.beta1 ** t;
    const sqrtBc2 = Math.sqrt(1 - this.beta2 ** t);
    // Like PyTorch, a parameter the loss did not reach (no gradient) is left untouched, moments included.
    const stepSizes = new Map<string, number>();
    for (const [name, lr0] of this.baseLr) {
      const stepSize = (lr0 * factor) / bc1;
      if (grads.get(name) && stepSize !== 0) stepSizes.set(name, stepSize);
    }
    tf.tidy(() => {
      const hyper = { beta1: this.beta1, beta2: this.beta2, sqrtBc2, epsilon: this.epsilon };
      for (const [name, value] of this.moments.apply(grads, this.params, stepSizes, hyper)) this.params.get(name)!.assign(value);
    });
  }

  /** Moments as host arrays keyed `m.<name>` / `v.<name>`, plus the step count. */
  async state(): Promise<{ step: number; tensors: Map<string, HostArray> }> {
    const moments = await this.moments.read();
    const tensors = new Map<string, HostArray>();
    for (const [name, shape] of this.shapes) {
      const { m, v } = moments.get(name)!;
      tensors.set(`m.${name}`, { shape: shape.slice(), data: m });
      tensors.set(`v.${name}`, { shape: shape.slice(), data: v });
    }
    return { step: this.step, tensors };
  }

  /** Restore moments and step; `label` names the state file in errors. */
  loadState(step: number, tensors: Map<string, { shape: number[]; data: ArrayLike<number> }>, label: string): void {
    const values = new Map<string, { m: ArrayLike<number>; v: ArrayLike<number> }>();
    for (const [name, shape] of this.shapes) {
      const [m, v] = ['m', 'v'].map((prefix) => {
        const key = `${prefix}.${name}`;
        const src = tensors.get(key);
        if (!src) throw new Error(`${label}: optimizer state lacks '${key}' (was it saved for a different model?)`);
        if (src.shape.join(',') !== shape.join(',')) throw new Error(`${label}: optimizer state '${key}' has shape [${src.shape}] but the model needs [${shape}]`);
        return src.data;
      });
      values.set(name, { m, v });
    }
    this.moments.load(values);
    this.step = step;
  }

  dispose(): void {
    this.moments.dispose();
  }
}

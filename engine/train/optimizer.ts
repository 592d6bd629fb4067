/**
 * Adam with one learning rate per parameter (tfjs' tf.train.adam has a single LR), as the reference
 * configures it (MODEL_SPEC §4): backbone parameters grouped by `features.<i>` with layer-wise decay
 * (the last group gets the backbone LR, each earlier group ×decay), sequence model and heads at their
 * own LR. Update rule and defaults are PyTorch's Adam (β 0.9/0.999, ε 1e-8, added to the
 * bias-corrected √v̂). Moments are tf.Variables; `state()`/`loadState()` move them to/from host
 * arrays for the resume checkpoint.
 */
import * as tf from '@tensorflow/tfjs-core';
import { adamStep, ema } from '../backend/fusedUpdates';

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
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(private readonly params: Map<string, tf.Variable>, readonly baseLr: Map<string, number>, opts: AdamOptions = {}) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.epsilon = opts.epsilon ?? 1e-8;
    for (const name of baseLr.keys()) {
      const p = params.get(name);
      if (!p) throw new Error(`optimizer: parameter '${name}' is not in the model`);
      // Variables are exempt from tidy, the zeros they were made from are not.
      tf.tidy(() => {
        this.m.set(name, tf.variable(tf.zerosLike(p), false));
        this.v.set(name, tf.variable(tf.zerosLike(p), false));
      });
    }
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
    tf.tidy(() => {
      for (const [name, lr0] of this.baseLr) {
        const g = grads.get(name);
        // Like PyTorch, a parameter the loss did not reach (no gradient) is left untouched.
        if (!g) continue;
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        const p = this.params.get(name)!;
        const mNew = ema(m, g, this.beta1);
        const vNew = ema(v, g, this.beta2, true);
        m.assign(mNew);
        v.assign(vNew);
        const stepSize = (lr0 * factor) / bc1;
        if (stepSize === 0) continue;
        p.assign(adamStep(p, mNew, vNew, stepSize, sqrtBc2, this.epsilon));
      }
    });
  }

  /** Moments as host arrays keyed `m.<name>` / `v.<name>`, plus the step count. */
  async state(): Promise<{ step: number; tensors: Map<string, HostArray> }> {
    const tensors = new Map<string, HostArray>();
    for (const name of this.baseLr.keys()) {
      for (const [prefix, store] of [['m', this.m], ['v', this.v]] as const) {
        const t = store.get(name)!;
        tensors.set(`${prefix}.${name}`, { shape: t.shape.slice(), data: (await t.data()) as Float32Array });
      }
    }
    return { step: this.step, tensors };
  }

  /** Restore moments and step; `label` names the state file in errors. */
  loadState(step: number, tensors: Map<string, { shape: number[]; data: ArrayLike<number> }>, label: string): void {
    for (const name of this.baseLr.keys()) {
      for (const [prefix, store] of [['m', this.m], ['v', this.v]] as const) {
        const key = `${prefix}.${name}`;
        const src = tensors.get(key);
        const dst = store.get(name)!;
        if (!src) throw new Error(`${label}: optimizer state lacks '${key}' (was it saved for a different model?)`);
        if (src.shape.join(',') !== dst.shape.join(',')) throw new Error(`${label}: optimizer state '${key}' has shape [${src.shape}] but the model needs [${dst.shape}]`);
        tf.tidy(() => dst.assign(tf.tensor(Float32Array.from(src.data), dst.shape)));
      }
    }
    this.step = step;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}

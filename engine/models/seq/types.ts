/** What every sequence model file provides (keys are full upstream names under `seq_model.`). */
import type * as tf from '@tensorflow/tfjs-core';
import type { ParamGetter, ParamSpec } from '../params';
import type { ForwardContext } from '../layers';

export interface SeqModelDef {
  /** State-dict specs for embedding width E and hidden size D. */
  specs(E: number, D: number): ParamSpec[];
  /** Output width F (D, or 2D for BiGRU). */
  outDim(D: number): number;
  /** z [B,T,E] → projected (output of W_d, when there is one) and the sequence output [B,T,F]. */
  forward(p: ParamGetter, E: number, D: number, z: tf.Tensor3D, ctx: ForwardContext): { projected?: tf.Tensor3D; seq: tf.Tensor3D };
  /** MACs over T frames (see complexity.ts for the convention). */
  macs(E: number, D: number, T: number): number;
}

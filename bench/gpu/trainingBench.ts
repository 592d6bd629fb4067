/**
 * The synthetic training setup both GPU benchmarks time: a fresh `name` model with 447 classes, random mels
 * [batch, 128, 1000, 1] and 10 %-positive frame targets, the trainer's loss (`distillationLoss`; without a
 * teacher it is BCE on the targets), GroupedAdam, and the two step shapes measured.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createModel, parseModelName, type EngineSedModel } from '../../engine/models/index';
import { distillationLoss } from '../../engine/train/loss';
import { baseLearningRates, GroupedAdam } from '../../engine/train/optimizer';

export interface TrainingBench {
  name: string;
  model: EngineSedModel;
  mel: tf.Tensor4D;
  /** Forward + backward; returns the loss (gradients disposed). */
  grads(): tf.Scalar;
  /** Forward + backward + BN running-stat update + Adam; returns the loss. */
  step(): tf.Scalar;
  /** Adam alone, on one batch's gradients (kept), until its last parameter is read back. */
  adam(): Promise<void>;
  dispose(): void;
}

export function trainingBench(name: string, batch: number): TrainingBench {
  const config = parseModelName(name, 447);
  const model = createModel(config, { seed: 1 }) as EngineSedModel;
  const opt = new GroupedAdam(model.params, baseLearningRates(model.trainable, { backboneLr: 1e-4, seqLr: 1e-4, layerDecay: 0.9 }));
  const mel = tf.randomNormal([batch, 128, 1000, 1]) as tf.Tensor4D;
  const target = tf.cast(tf.greater(tf.randomUniform([batch, 250, config.numClasses]), 0.9), 'float32');
  const vars = model.trainable.map((n) => model.params.get(n)!);
  const lossAndGrads = () => tf.variableGrads(() => distillationLoss(model.forward(mel, { training: true }).strongLogits, target, null, 0), vars);
  // variableGrads keys gradients by variable name (and leaves out unreached ones); the optimizer by parameter name.
  const named = (grads: tf.NamedTensorMap): Map<string, tf.Tensor> => {
    const out = new Map<string, tf.Tensor>();
    for (const n of model.trainable) if (grads[model.params.get(n)!.name]) out.set(n, grads[model.params.get(n)!.name]);
    return out;
  };
  let fixedGrads: Map<string, tf.Tensor> | undefined;
  return {
    name: config.name,
    model,
    mel,
    grads() {
      const { value, grads } = lossAndGrads();
      tf.dispose(Object.values(grads));
      return value;
    },
    step() {
      const { value, grads } = lossAndGrads();
      model.applyBatchNormUpdate();
      opt.apply(named(grads), 1);
      tf.dispose(Object.values(grads));
      return value;
    },
    async adam() {
      if (!fixedGrads) {
        const { value, grads } = lossAndGrads();
        value.dispose();
        fixedGrads = named(grads);
      }
      opt.apply(fixedGrads, 1);
      await vars[vars.length - 1].data();
    },
    dispose() {
      opt.dispose();
      tf.dispose([mel, target, ...(fixedGrads?.values() ?? [])]);
      model.dispose();
    },
  };
}

/**
 * GPU programs of one training step (what bounds a webgpu training step: ~0.1 ms of host time per program),
 * grouped by tfjs kernel and program class: forward, backward, and the update (BatchNorm running statistics +
 * Adam). The count does not depend on the adapter or the batch, so Mesa's software adapter gives the exact figure.
 * Usage: SED_WEBGPU_BACKEND=opengles EGL_PLATFORM=surfaceless npx tsx bench/gpu/countPrograms.ts [fmn04+tf:64] [--batch 2] [--classes 11]
 */
import * as tf from '@tensorflow/tfjs-core';
import '../../engine/train/gradients';
import { initBackend } from '../../engine/backend/select';
import { createModel, parseModelName, type EngineSedModel } from '../../engine/models/index';
import { distillationLoss } from '../../engine/train/loss';
import { trainableNames } from '../../engine/train/init';
import { baseLearningRates, GroupedAdam } from '../../engine/train/optimizer';
import { arg } from '../common';
import { watchDispatches } from '../../test/helpers/webgpuDispatches';

type Phase = 'forward' | 'backward' | 'update';
const PHASES: Phase[] = ['forward', 'backward', 'update'];
const counts = new Map<string, Record<Phase, number>>();
let phase: Phase = 'forward';
const kernels: string[] = [];

/** Wrap every webgpu kernel (to know which one dispatches) and count its dispatches (test/helpers/webgpuDispatches.ts). */
function instrument(): void {
  for (const k of tf.getKernelsForBackend('webgpu')) {
    const f = k.kernelFunc;
    k.kernelFunc = (args) => {
      kernels.push(k.kernelName);
      try {
        return f(args);
      } finally {
        kernels.pop();
      }
    };
  }
  watchDispatches((program) => {
    const key = `${kernels[kernels.length - 1] ?? '?'} | ${program}`;
    const row = counts.get(key) ?? { forward: 0, backward: 0, update: 0 };
    row[phase]++;
    counts.set(key, row);
  });
}

async function main(): Promise<void> {
  await initBackend('webgpu');
  const name = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 'fmn04+tf:64';
  const batch = Number(arg('batch', '2'));
  const model = createModel(parseModelName(name, Number(arg('classes', '11'))), { seed: 1 }) as EngineSedModel;
  const names = trainableNames(model, false);
  const vars = names.map((n) => model.params.get(n)!);
  const opt = new GroupedAdam(model.params, baseLearningRates(names, { backboneLr: 1e-4, seqLr: 1e-4, layerDecay: 0.9 }));
  const mel = tf.randomNormal([batch, 128, 1000, 1]) as tf.Tensor4D;
  const C = model.config.numClasses;
  const hard = tf.cast(tf.greater(tf.randomUniform([batch, 250, C]), 0.9), 'float32');
  const soft = tf.randomUniform([batch, 250, C]);
  const step = (): tf.Scalar => {
    const { value, grads } = tf.variableGrads(() => {
      const loss = distillationLoss(model.forward(mel, { training: true }).strongLogits, hard, soft, 0.9);
      phase = 'backward';
      return loss;
    }, vars);
    phase = 'update';
    model.applyBatchNormUpdate();
    opt.apply(new Map(names.map((n, i) => [n, grads[vars[i].name]])), 1);
    tf.dispose(Object.values(grads));
    return value;
  };
  tf.dispose(step()); // warm-up: the first pass uploads and caches
  instrument();
  phase = 'forward';
  const loss = step();
  await loss.data();
  loss.dispose();
  const sum = (r: Record<Phase, number>) => PHASES.reduce((n, p) => n + r[p], 0);
  const rows = [...counts].sort((a, b) => sum(b[1]) - sum(a[1]));
  const total = (p: Phase) => rows.reduce((n, [, r]) => n + r[p], 0);
  console.log(`${model.config.name}, batch ${batch}, ${C} classes: ${PHASES.reduce((n, p) => n + total(p), 0)} programs (${PHASES.map((p) => `${p} ${total(p)}`).join(', ')})\n`);
  console.log('| kernel \\| program | forward | backward | update | total |\n|---|---|---|---|---|');
  for (const [key, r] of rows) console.log(`| ${key.replace('|', '\\|')} | ${PHASES.map((p) => r[p]).join(' | ')} | ${sum(r)} |`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

/**
 * GPU programs of one training forward + backward (what bounds a webgpu training step: ~0.1 ms of host time per
 * program), grouped by tfjs kernel and program class, forward and backward apart. The count does not depend on
 * the adapter or the batch, so Mesa's software adapter gives the exact figure.
 * Usage: SED_WEBGPU_BACKEND=opengles EGL_PLATFORM=surfaceless npx tsx bench/gpu/countPrograms.ts [fmn04+tf:64] [--batch 2] [--classes 11]
 */
import * as tf from '@tensorflow/tfjs-core';
import '../../engine/train/gradients';
import { initBackend } from '../../engine/backend/select';
import { createModel, parseModelName } from '../../engine/models/index';
import { distillationLoss } from '../../engine/train/loss';
import { trainableNames } from '../../engine/train/init';
import { arg } from '../common';

type Phase = 'forward' | 'backward';
const counts = new Map<string, Record<Phase, number>>();
let phase: Phase = 'forward';
const kernels: string[] = [];

/** Wrap every webgpu kernel (to know which one dispatches) and the backend's program runner (to count). */
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
  const backend = tf.backend() as unknown as { runWebGPUProgram: (p: object, ...rest: unknown[]) => unknown };
  const runProgram = backend.runWebGPUProgram;
  backend.runWebGPUProgram = function (this: unknown, program: object, ...rest: unknown[]) {
    const key = `${kernels[kernels.length - 1] ?? '?'} | ${program.constructor.name}`;
    const row = counts.get(key) ?? { forward: 0, backward: 0 };
    row[phase]++;
    counts.set(key, row);
    return runProgram.call(this, program, ...rest);
  };
}

async function main(): Promise<void> {
  await initBackend('webgpu');
  const name = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 'fmn04+tf:64';
  const batch = Number(arg('batch', '2'));
  const model = createModel(parseModelName(name, Number(arg('classes', '11'))), { seed: 1 });
  const vars = trainableNames(model, false).map((n) => model.params.get(n)!);
  const mel = tf.randomNormal([batch, 128, 1000, 1]) as tf.Tensor4D;
  const C = model.config.numClasses;
  const hard = tf.cast(tf.greater(tf.randomUniform([batch, 250, C]), 0.9), 'float32');
  const soft = tf.randomUniform([batch, 250, C]);
  const step = () => tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => {
      const loss = distillationLoss(model.forward(mel, { training: true }).strongLogits, hard, soft, 0.9);
      phase = 'backward';
      return loss;
    }, vars);
    return [value, ...Object.values(grads)];
  });
  tf.dispose(step()); // warm-up: the first pass uploads and caches
  model.takeBatchNormStats();
  instrument();
  phase = 'forward';
  const out = step();
  await out[0].data();
  tf.dispose(out);
  const rows = [...counts].sort((a, b) => b[1].forward + b[1].backward - a[1].forward - a[1].backward);
  const total = (p: Phase) => rows.reduce((n, [, r]) => n + r[p], 0);
  console.log(`${model.config.name}, batch ${batch}, ${C} classes: ${total('forward') + total('backward')} programs (forward ${total('forward')}, backward ${total('backward')})\n`);
  console.log('| kernel \\| program | forward | backward | total |\n|---|---|---|---|');
  for (const [key, r] of rows) console.log(`| ${key.replace('|', '\\|')} | ${r.forward} | ${r.backward} | ${r.forward + r.backward} |`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

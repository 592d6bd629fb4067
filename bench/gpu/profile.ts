/**
 * Where the time of one training step and one inference batch goes on the active backend: the time the
 * JavaScript thread spends issuing kernels vs the wall time until the result is read back, and tf.profile's
 * per-kernel times (GPU timestamp queries on webgpu) summed by kernel and by kernel + input shapes.
 * Used by entry.ts `--profile a,b`.
 */
import * as tf from '@tensorflow/tfjs-core';

type ProfiledKernel = Awaited<ReturnType<typeof tf.profile>>['kernels'][number];
import { trainingBench } from './trainingBench';

interface KernelRow {
  kernel: string;
  count: number;
  ms: number;
}

function top(kernels: ProfiledKernel[], key: (k: ProfiledKernel) => string, n: number): KernelRow[] {
  const rows = new Map<string, KernelRow>();
  for (const k of kernels) {
    const name = key(k);
    const row = rows.get(name) ?? { kernel: name, count: 0, ms: 0 };
    row.count += 1;
    row.ms += Number(k.kernelTimeMs) || 0;
    rows.set(name, row);
  }
  return [...rows.values()].sort((a, b) => b.ms - a.ms).slice(0, n).map((r) => ({ ...r, ms: Number(r.ms.toFixed(3)) }));
}

/** Issue time (JS thread) and wall time (until read-back) of `step`, median of `reps`. */
async function split(step: () => tf.Tensor, reps: number): Promise<{ issueMs: number; wallMs: number }> {
  const issue: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const out = step();
    const t1 = performance.now();
    await out.data();
    const t2 = performance.now();
    out.dispose();
    issue.push(t1 - t0);
    wall.push(t2 - t0);
  }
  const med = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
  return { issueMs: Number(med(issue).toFixed(1)), wallMs: Number(med(wall).toFixed(1)) };
}

async function profileOne(label: string, step: () => tf.Tensor) {
  for (let i = 0; i < 2; i++) {
    const w = step();
    await w.data();
    w.dispose();
  }
  const times = await split(step, 5);
  const info = await tf.profile(() => step());
  const kernelMs = info.kernels.reduce((s, k) => s + (Number(k.kernelTimeMs) || 0), 0);
  const row = {
    label,
    ...times,
    kernels: info.kernels.length,
    kernelMsSum: Number(kernelMs.toFixed(1)),
    byKernel: top(info.kernels, (k) => k.name, 25),
    byShape: top(info.kernels, (k) => `${k.name} ${JSON.stringify(k.inputShapes)}`, 30),
  };
  console.log(JSON.stringify(row, null, 1));
  return row;
}

export async function profileModels(models: string[], batch: number) {
  const rows: Record<string, unknown>[] = [];
  for (const name of models) {
    const b = trainingBench(name, batch);
    rows.push(await profileOne(`${b.name} inference b${batch}`, () => tf.tidy(() => b.model.forward(b.mel, { training: false }).strongLogits)));
    rows.push(await profileOne(`${b.name} forward+backward b${batch}`, () => b.grads()));
    rows.push(await profileOne(`${b.name} train step b${batch}`, () => b.step()));
    b.dispose();
  }
  return rows;
}

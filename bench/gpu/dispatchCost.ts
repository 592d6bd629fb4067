/**
 * Host time per webgpu dispatch: a chain of small element-wise ops (nothing for the GPU to do) issued back to
 * back, timed on the JavaScript thread without waiting, median over 5 rounds of 2,000, under this process's
 * submit batch (entry.ts --submit-batch: dispatches per queue submission). Used by entry.ts `--dispatch-cost`.
 */
import * as tf from '@tensorflow/tfjs-core';

export async function dispatchCost(): Promise<Record<string, number>> {
  const bias = tf.randomNormal([256]);
  let x = tf.randomNormal([256]);
  const issue = (n: number) => {
    for (let i = 0; i < n; i++) {
      const y = tf.add(x, bias);
      x.dispose();
      x = y;
    }
  };
  issue(500);
  await x.data();
  const perDispatchUs: number[] = [];
  for (let round = 0; round < 5; round++) {
    const t0 = performance.now();
    issue(2000);
    perDispatchUs.push(((performance.now() - t0) / 2000) * 1000);
    await x.data();
  }
  x.dispose();
  bias.dispose();
  perDispatchUs.sort((a, b) => a - b);
  return {
    submit_batch: tf.env().getNumber('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE'),
    issue_us_per_dispatch: Number(perDispatchUs[2].toFixed(1)),
  };
}

/**
 * Inference throughput with several processes sharing one GPU. A tfjs-webgpu forward pass is bound by the
 * JavaScript that issues its kernels (one thread per process), not by the GPU, so N processes, each with its
 * own Dawn device and model, keep the GPU busier. The parent forks N copies of this bundle, waits until every
 * child has warmed up (shaders compiled, weights uploaded), starts them together and takes the aggregate
 * clips/s over the wall time until the last one finishes.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../engine/backend/select';
import { createModel, parseModelName } from '../../engine/models/index';

type ChildMessage = { type: 'ready' } | { type: 'done'; ms: number } | { type: 'error'; message: string };

/** Child side: `--stream-child <model> --batch B --iters K`. */
export async function streamChild(modelName: string, batch: number, iters: number, backend: string): Promise<void> {
  const send = (m: ChildMessage) => process.send!(m);
  try {
    await initBackend(backend);
    const model = createModel(parseModelName(modelName, 447), { seed: 1 });
    const mel = tf.randomNormal([batch, 128, 1000, 1]) as tf.Tensor4D;
    const step = async () => {
      const y = tf.tidy(() => model.forward(mel, { training: false }).strongLogits);
      await y.data();
      y.dispose();
    };
    for (let i = 0; i < 3; i++) await step();
    await new Promise<void>((resolve) => {
      process.once('message', () => resolve());
      send({ type: 'ready' });
    });
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) await step();
    send({ type: 'done', ms: performance.now() - t0 });
  } catch (err) {
    send({ type: 'error', message: String((err as Error)?.stack ?? err) });
  }
}

function once(child: ChildProcess, want: ChildMessage['type']): Promise<ChildMessage> {
  return new Promise((resolve, reject) => {
    child.once('message', (m: ChildMessage) => (m.type === 'error' ? reject(new Error(m.message)) : m.type === want ? resolve(m) : reject(new Error(`child sent ${m.type}, expected ${want}`))));
    child.once('exit', (code) => reject(new Error(`stream child exited with ${code}`)));
  });
}

/** Aggregate clips/s of `streams` processes, each running `iters` batches of `batch` clips of `modelName`. */
export async function multiStream(modelName: string, streams: number, batch: number, iters: number, backend: string): Promise<Record<string, number | string>> {
  const children = Array.from({ length: streams }, () => fork(process.argv[1], ['--stream-child', modelName, '--batch', String(batch), '--iters', String(iters), '--backend', backend], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
  try {
    await Promise.all(children.map((c) => once(c, 'ready')));
    const t0 = performance.now();
    const done = children.map((c) => once(c, 'done'));
    children.forEach((c) => c.send('go'));
    const ms = (await Promise.all(done)).map((m) => (m as { ms: number }).ms);
    const wall = performance.now() - t0;
    return { model: modelName, batch, streams, iters, wall_ms: wall, clips_s: (streams * iters * batch) / (wall / 1000), slowest_stream_ms: Math.max(...ms) };
  } finally {
    children.forEach((c) => c.kill());
  }
}

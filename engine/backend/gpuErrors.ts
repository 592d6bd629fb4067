/**
 * WebGPU errors that no error scope captured — running out of device memory above all. Dawn then hands out
 * invalid buffers and kernels quietly produce garbage: a GPU training run once cached garbage validation mels
 * this way and selected its "best" epoch on them (bench/RESULTS.md). The first such error is kept and every
 * read-back whose result is used or written checks it, so the run fails with the cause instead.
 */
import type * as tf from '@tensorflow/tfjs-core';

let firstError: string | undefined;

interface ErrorEventLike {
  error: { message: string; constructor: { name: string } };
}

export interface WatchedDevice {
  onuncapturederror: ((ev: ErrorEventLike) => void) | null;
}

/** Record the device's uncaptured errors (called once the webgpu backend is up). */
export function watchUncapturedErrors(device: WatchedDevice): void {
  firstError = undefined;
  device.onuncapturederror = (ev) => {
    firstError ??= `${ev.error.constructor.name}: ${ev.error.message.split('\n')[0]}`;
  };
}

/** Throw once the GPU has reported an uncaptured error: nothing computed since can be trusted. */
export function checkGpuHealth(what: string): void {
  if (!firstError) return;
  const hint = /memory/i.test(firstError) ? ' — the GPU ran out of memory: use a smaller --batch or --micro-batch, or stop other GPU jobs' : '';
  throw new Error(`${what}: the GPU reported an error, so its results are invalid (${firstError})${hint}`);
}

/** `await t.data()` that fails instead of handing back values computed after a GPU error. */
export async function readBack(t: tf.Tensor, what: string): Promise<Float32Array> {
  const data = (await t.data()) as Float32Array;
  checkGpuHealth(what);
  return data;
}

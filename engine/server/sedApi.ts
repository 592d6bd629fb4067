/**
 * The `sed` object notebook cells see: the engine's functions with the running cell's cancellation
 * signal and progress reporting wired in, plus tfjs itself. Members that need heavy modules load them
 * on first use, so an empty notebook costs nothing.
 */
import * as tf from '@tensorflow/tfjs-core';
import { activeBackend } from '../backend/select';
import type { CellHooks } from './kernel';

/** Resolves after `ms`, or rejects when the cell is interrupted. */
function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('interrupted'));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Error('interrupted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function createSedApi(cell: () => CellHooks): Record<string, unknown> {
  return {
    /** tfjs-core (ops, tidy, memory). */
    tf,
    /** The active backend (name, device, versions). */
    get backend() {
      return activeBackend();
    },
    /** The running cell's cancellation signal: pass it to long loops and engine calls. */
    get signal() {
      return cell().signal;
    },
    /** Throws when the cell was interrupted (for hand-written loops). */
    checkInterrupted(): void {
      if (cell().signal.aborted) throw new Error('interrupted');
    },
    /** Report progress of the running cell (shown by the notebook as the cell's progress). */
    progress(done: number, total?: number, message?: string): void {
      cell().progress(done, total, message);
    },
    /** Show `data` with a MIME type (our renderer types, text/html, image/png base64, …). */
    display(mime: string, data: unknown): void {
      cell().display(mime, data);
    },
    /** Tensor and process memory counters. */
    memory() {
      const m = tf.memory();
      return { numTensors: m.numTensors, numBytes: m.numBytes, rss: process.memoryUsage().rss };
    },
    /** Wait, interruptibly. */
    sleep(ms: number): Promise<void> {
      return abortableSleep(ms, cell().signal);
    },
  };
}

/**
 * The mel power step of the log-mel frontend (engine/frontend/mel.ts) on the wasm backend, natively
 * (`native/mel.c`): a 512-point FFT per 400-sample window in double precision, 2 frames per SIMD vector, and a sparse mel
 * projection, instead of two [200, 256] DFT matmuls and a dense [256, 128] one. The kernel `SedMelPower`
 * takes the raw windows [F, 400] and returns mel power [F, 128]; mel.ts runs it where it is registered.
 */
import * as tf from '@tensorflow/tfjs-core';
import { kaldiMelBanks, MEL, symmetricHann } from '../frontend/melBanks';
import { makeOutput, nativeKernels, offsetOf, withScratch } from './wasmNative';

export const MEL_POWER = 'SedMelPower';

const BINS = MEL.nFft / 2;

interface Tables {
  window: Float32Array;
  cos: Float64Array;
  sin: Float64Array;
  bitrev: Int32Array;
}

let tables: Tables | undefined;

function fftTables(): Tables {
  if (tables) return tables;
  const bits = Math.log2(MEL.nFft);
  const bitrev = new Int32Array(MEL.nFft);
  for (let n = 0; n < MEL.nFft; n++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((n >> b) & 1) << (bits - 1 - b);
    bitrev[n] = r;
  }
  const angle = (j: number) => (2 * Math.PI * j) / MEL.nFft;
  tables = {
    window: symmetricHann(MEL.winLength),
    cos: Float64Array.from({ length: BINS }, (_, j) => Math.cos(angle(j))),
    sin: Float64Array.from({ length: BINS }, (_, j) => Math.sin(angle(j))),
    bitrev,
  };
  return tables;
}

interface SparseBank {
  first: Int32Array;
  count: Int32Array;
  weights: Float32Array;
}

/** Mel rows as runs of nonzero weights over the first 256 bins, per (fmin, fmax) (a small LRU: training jitters them). */
const banks = new Map<string, SparseBank>();
const BANK_CACHE_SIZE = 16;

function sparseBank(fminHz: number, fmaxHz: number): SparseBank {
  const key = `${fminHz}|${fmaxHz}`;
  const hit = banks.get(key);
  if (hit) return hit;
  const dense = kaldiMelBanks(MEL.nMels, MEL.nFft, MEL.sampleRate, fminHz, fmaxHz);
  const cols = MEL.nFft / 2 + 1;
  const first = new Int32Array(MEL.nMels);
  const count = new Int32Array(MEL.nMels);
  const weights: number[] = [];
  for (let m = 0; m < MEL.nMels; m++) {
    const row = dense.subarray(m * cols, m * cols + BINS);
    let lo = row.findIndex((v) => v !== 0);
    if (lo < 0) lo = 0;
    let hi = BINS;
    while (hi > lo && row[hi - 1] === 0) hi--;
    first[m] = lo;
    count[m] = hi - lo;
    for (let k = lo; k < hi; k++) weights.push(row[k]);
  }
  const bank = { first, count, weights: Float32Array.from(weights) };
  banks.set(key, bank);
  if (banks.size > BANK_CACHE_SIZE) banks.delete(banks.keys().next().value as string);
  return bank;
}

/** tfjs-backend-wasm's heap, where the tables are copied. */
interface WasmHeap {
  wasm: { HEAPU8: Uint8Array };
}

function melPower({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const frames = inputs.frames!;
  const { fminHz, fmaxHz } = attrs as unknown as { fminHz: number; fmaxHz: number };
  const [count, width] = frames.shape;
  if (width !== MEL.winLength) throw new Error(`${MEL_POWER}: windows must have ${MEL.winLength} samples, got ${width}`);
  const t = fftTables();
  const bank = sparseBank(fminHz, fmaxHz);
  const heap = backend as unknown as WasmHeap;
  const out = makeOutput(backend, [count, MEL.nMels]);
  const arrays = [t.window, t.cos, t.sin, t.bitrev, bank.first, bank.count, bank.weights];
  withScratch(backend, [...arrays.map((a) => a.byteLength), 16 * (2 * MEL.nFft + BINS)], (...ptrs) => {
    // Views after the allocations: growing the heap replaces its buffer.
    arrays.forEach((a, i) => heap.wasm.HEAPU8.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), ptrs[i]));
    const [window, cos, sin, bitrev, first, runs, weights, work] = ptrs;
    nativeKernels(backend).melPower(offsetOf(backend, frames), count, width, window, cos, sin, bitrev, MEL.nMels, first, runs, weights, offsetOf(backend, out), work);
  });
  return out;
}

/** Register the kernel on the wasm backend (idempotent). SED_WASM_UNFUSED_MEL=1 leaves it out (the matmul frontend). */
export function registerWasmMelKernel(): void {
  if (process.env.SED_WASM_UNFUSED_MEL === '1' || tf.getKernel(MEL_POWER, 'wasm')) return;
  tf.registerKernel({ kernelName: MEL_POWER, backendName: 'wasm', kernelFunc: melPower });
}

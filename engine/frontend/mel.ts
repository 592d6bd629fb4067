/**
 * The log-mel frontend of the reference (MODEL_SPEC §1) as tfjs tensor ops, on whatever backend is
 * active: pre-emphasis → centred reflect padding → 400-tap symmetric Hann frames every 160 samples →
 * |DFT|² (512 points) → Kaldi mel (128 bins, fmin..fmax) → ln(max(·, 1e-7)) → (x + 4.5)/5.
 *
 * The STFT is framing + matmuls with windowed cos/sin bases, fast on every backend; on wasm a native
 * kernel (engine/backend/wasmMel.ts: an FFT per window, a sparse mel projection) replaces the matmuls.
 * Framing needs no gather: with hop 160, frame t is rows t, t+1 and the first 80 samples of row t+2 of
 * the padded signal cut into 160-sample rows. Each window is folded about its centre (sum and difference
 * of its halves, see foldedDftBases), so |X|² = (sum @ C)² + (diff @ S)² takes two [200, 256] matmuls
 * instead of one [400, 512], and the mel projection a [256, 128] one: half the multiplies of the frontend,
 * which training runs for every batch (~0.8 s of a 32-clip batch on wasm before, bench/RESULTS.md).
 */
import * as tf from '@tensorflow/tfjs-core';
import { MEL_POWER } from '../backend/wasmMel';
import { foldedDftBases, kaldiMelBanks, MEL } from './melBanks';

export { kaldiMelBanks, MEL } from './melBanks';

/** Spectral bins used: the Nyquist bin (256) carries mel weight 0 at any fmax. */
const BINS = MEL.nFft / 2;
/** Window start inside the 512-sample frame: (512 − 400)/2. */
const WIN_OFFSET = (MEL.nFft - MEL.winLength) / 2;
/** Taps in each folded half of the window. */
const HALF_WINDOW = MEL.winLength / 2;
/** Number of 160-sample rows one 400-sample window spans, and how much of the last one it uses. */
const ROWS_PER_WINDOW = Math.ceil(MEL.winLength / MEL.hop);
const LAST_ROW_USED = MEL.winLength - (ROWS_PER_WINDOW - 1) * MEL.hop;
/** Per-backend cache of mel matrices for jittered (fmin, fmax) during training; small LRU. */
const MEL_CACHE_SIZE = 16;

/** Frames the reference produces for `numSamples` input samples: 1 + ⌊(N − 1)/160⌋ (1000 for 10 s). */
export function melFrameCount(numSamples: number): number {
  return 1 + Math.floor((numSamples - 1) / MEL.hop);
}

interface BackendConstants {
  cos: tf.Tensor2D; // [200, 256]
  sin: tf.Tensor2D; // [200, 256]
  mel: Map<string, tf.Tensor2D>; // key "fmin|fmax" → [256, 128]
}
const constants = new Map<string, BackendConstants>();

function backendConstants(): BackendConstants {
  const backend = tf.getBackend();
  let c = constants.get(backend);
  if (!c) {
    const { cos, sin } = foldedDftBases(MEL.winLength, MEL.nFft, BINS);
    const basis = (b: Float32Array) => tf.keep(tf.tensor2d(b, [HALF_WINDOW, BINS]));
    c = { cos: basis(cos), sin: basis(sin), mel: new Map() };
    constants.set(backend, c);
  }
  return c;
}

/** Mᵀ for the first 256 bins: [256, 128]. Cached (LRU) per backend and (fmin, fmax). */
function melT(fminHz: number, fmaxHz: number): tf.Tensor2D {
  const c = backendConstants();
  const key = `${fminHz}|${fmaxHz}`;
  const hit = c.mel.get(key);
  if (hit) {
    c.mel.delete(key);
    c.mel.set(key, hit); // most recently used goes last
    return hit;
  }
  const banks = kaldiMelBanks(MEL.nMels, MEL.nFft, MEL.sampleRate, fminHz, fmaxHz);
  const cols = MEL.nFft / 2 + 1;
  const transposed = new Float32Array(BINS * MEL.nMels);
  for (let k = 0; k < BINS; k++) for (let m = 0; m < MEL.nMels; m++) transposed[k * MEL.nMels + m] = banks[m * cols + k];
  const t = tf.keep(tf.tensor2d(transposed, [BINS, MEL.nMels]));
  c.mel.set(key, t);
  if (c.mel.size > MEL_CACHE_SIZE) {
    const [oldKey, old] = c.mel.entries().next().value as [string, tf.Tensor2D];
    c.mel.delete(oldKey);
    old.dispose();
  }
  return t;
}

/**
 * Log-mel spectrogram of 16 kHz waveforms [B, N] → [B, 128, T, 1] with T = 1 + ⌊(N − 1)/160⌋
 * (channels-last layout of upstream's [B, 1, 128, T]). `fminHz`/`fmaxHz` default to the eval values
 * 0 / 7000 Hz; training passes jittered ones. No gradient flows through the frontend.
 */
export function computeMel(waveforms: tf.Tensor2D, opts: { fminHz?: number; fmaxHz?: number } = {}): tf.Tensor4D {
  if (waveforms.rank !== 2) throw new Error(`computeMel: waveforms must be [batch, samples], got shape [${waveforms.shape}]`);
  const [batch, n] = waveforms.shape;
  // Reflect padding by 256 needs more than 256 samples after pre-emphasis (torch.stft has the same limit).
  if (n - 1 <= MEL.nFft / 2) throw new Error(`computeMel: need at least ${MEL.nFft / 2 + 2} samples, got ${n}`);
  const fminHz = opts.fminHz ?? MEL.fminHz;
  const fmaxHz = opts.fmaxHz ?? MEL.fmaxHz;
  const frames = melFrameCount(n);
  const rows = frames + ROWS_PER_WINDOW - 1;
  return tf.tidy(() => {
    const x = waveforms.dtype === 'float32' ? waveforms : tf.cast(waveforms, 'float32');
    // y[i] = x[i+1] − 0.97·x[i]
    const emphasised = tf.sub(tf.slice(x, [0, 1], [batch, n - 1]), tf.mul(tf.slice(x, [0, 0], [batch, n - 1]), MEL.preemphasis));
    const padded = tf.mirrorPad(emphasised, [[0, 0], [MEL.nFft / 2, MEL.nFft / 2]], 'reflect');
    // Drop the 56 leading zeros of the window, then make exactly `rows` rows of 160 samples
    // (samples past the last window are never used; a few zeros may be appended to fill the rows).
    const available = n - 1 + MEL.nFft - WIN_OFFSET;
    const needed = rows * MEL.hop;
    let body = tf.slice(padded, [0, WIN_OFFSET], [batch, Math.min(available, needed)]);
    if (available < needed) body = tf.pad(body, [[0, 0], [0, needed - available]]);
    const grid = tf.reshape(body, [batch, rows, MEL.hop]) as tf.Tensor3D;
    const parts: tf.Tensor3D[] = [];
    for (let r = 0; r < ROWS_PER_WINDOW; r++) {
      const width = r === ROWS_PER_WINDOW - 1 ? LAST_ROW_USED : MEL.hop;
      parts.push(tf.slice(grid, [0, r, 0], [batch, frames, width]));
    }
    const windows = tf.reshape(tf.concat(parts, 2), [batch * frames, MEL.winLength]) as tf.Tensor2D;
    const mel = tf.getKernel(MEL_POWER, tf.getBackend()) ? melPower(windows, fminHz, fmaxHz) : foldedMelPower(windows, fminHz, fmaxHz);
    // A clip, not tf.maximum: the wasm backend runs a scalar maximum as a per-element generic loop (~20× slower).
    const logMel = tf.div(tf.add(tf.log(tf.clipByValue(mel, MEL.logFloor, Infinity)), MEL.normShift), MEL.normScale);
    return tf.expandDims(tf.transpose(tf.reshape(logMel, [batch, frames, MEL.nMels]), [0, 2, 1]), 3) as tf.Tensor4D;
  });
}

/** Mel power [F, 128] of windows [F, 400] natively (wasm: an FFT per window, engine/backend/wasmMel.ts). */
function melPower(windows: tf.Tensor2D, fminHz: number, fmaxHz: number): tf.Tensor2D {
  return tf.engine().runKernel(MEL_POWER, { frames: windows }, { fminHz, fmaxHz }) as tf.Tensor2D;
}

/** Mel power [F, 128] of windows [F, 400] with the folded DFT bases (two [200, 256] matmuls) and the dense mel projection. */
function foldedMelPower(windows: tf.Tensor2D, fminHz: number, fmaxHz: number): tf.Tensor2D {
  const rows = windows.shape[0];
  const bankT = melT(fminHz, fmaxHz);
  const { cos, sin } = backendConstants();
  return tf.tidy(() => {
    const head = tf.slice(windows, [0, 0], [rows, HALF_WINDOW]);
    const tail = tf.reverse(tf.slice(windows, [0, HALF_WINDOW], [rows, HALF_WINDOW]), 1);
    const re = tf.matMul(tf.add(head, tail), cos);
    const im = tf.matMul(tf.sub(head, tail), sin);
    return tf.matMul(tf.add(tf.square(re), tf.square(im)), bankT);
  });
}

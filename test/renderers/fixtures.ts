/**
 * Fixture payloads built from the shared reference material: a log-mel spectrogram computed from a real
 * DCASE soundscape (MODEL_SPEC §1 frontend geometry: 16 kHz, 512-point FFT, hop 160, 128 Kaldi/HTK mel
 * bins over 0–7 kHz), its ground truth, and WAV bytes of the same audio for playback.
 */
import decode from 'audio-decode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { melCentreFrequencies } from '../../renderers/lib/encode';
import { SHARED_DIR } from '../helpers/paths';

export const SOUNDSCAPES = path.join(SHARED_DIR, 'data', 'dcase2016t2-soundscapes');
export const CLASSES_11 = ['clearthroat', 'cough', 'doorslam', 'drawer', 'keyboard', 'keysDrop', 'knock', 'laughter', 'pageturn', 'phone', 'speech'];

export async function loadAudio(file: string): Promise<{ samples: Float32Array; sampleRate: number }> {
  const buf = await decode(fs.readFileSync(file));
  return { samples: buf.channelData[0], sampleRate: buf.sampleRate };
}

/** In-place iterative radix-2 FFT. */
function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = Math.cos(ang * k);
        const wi = Math.sin(ang * k);
        const ar = re[i + k + len / 2];
        const ai = im[i + k + len / 2];
        const tr = ar * wr - ai * wi;
        const ti = ar * wi + ai * wr;
        re[i + k + len / 2] = re[i + k] - tr;
        im[i + k + len / 2] = im[i + k] - ti;
        re[i + k] += tr;
        im[i + k] += ti;
      }
    }
  }
}

/** Log-mel power in dB, bins × frames row-major, plus the bin centre frequencies. */
export function logMel(samples: Float32Array, sampleRate: number, nMels = 128, fmax = 7000): { db: Float32Array; bins: number; frames: number; freqs: number[]; hop: number } {
  const nfft = 512;
  const hop = 160;
  const win = 400;
  const frames = 1 + Math.floor(samples.length / hop);
  const mel = (f: number) => 1127 * Math.log(1 + f / 700);
  const d = mel(fmax) / (nMels + 1);
  const binHz = sampleRate / nfft;
  const db = new Float32Array(nMels * frames);
  const re = new Float64Array(nfft);
  const im = new Float64Array(nfft);
  const power = new Float64Array(nfft / 2 + 1);
  // Triangles in the mel domain (MODEL_SPEC §1), computed once.
  const weights = new Float64Array(nMels * (nfft / 2));
  for (let m = 0; m < nMels; m++) {
    const [l, c, r] = [m * d, (m + 1) * d, (m + 2) * d];
    for (let k = 0; k < nfft / 2; k++) {
      const mk = mel(k * binHz);
      weights[m * (nfft / 2) + k] = mk > l && mk < r ? (mk <= c ? (mk - l) / (c - l) : (r - mk) / (r - c)) : 0;
    }
  }
  for (let t = 0; t < frames; t++) {
    re.fill(0);
    im.fill(0);
    for (let n = 0; n < win; n++) {
      const idx = t * hop - win / 2 + n;
      const x = idx >= 0 && idx < samples.length ? samples[idx] : 0;
      re[n + (nfft - win) / 2] = x * (0.5 - 0.5 * Math.cos((2 * Math.PI * n) / (win - 1)));
    }
    fft(re, im);
    for (let k = 0; k <= nfft / 2; k++) power[k] = re[k] * re[k] + im[k] * im[k];
    for (let m = 0; m < nMels; m++) {
      let s = 0;
      for (let k = 0; k < nfft / 2; k++) s += weights[m * (nfft / 2) + k] * power[k];
      db[m * frames + t] = 10 * Math.log10(Math.max(s, 1e-10));
    }
  }
  return { db, bins: nMels, frames, freqs: melCentreFrequencies(nMels, 0, fmax), hop: hop / sampleRate };
}

/** Ground truth of one soundscape from metadata/<split>.tsv as [onset, offset, label]. */
export function groundTruth(split: string, file: string): [number, number, string][] {
  return fs.readFileSync(path.join(SOUNDSCAPES, 'metadata', `${split}.tsv`), 'utf8').trim().split('\n').slice(1)
    .map((l) => l.split('\t'))
    .filter((c) => c[0] === file)
    .map((c) => [Number(c[1]), Number(c[2]), c[3]]);
}

/** 16-bit PCM mono WAV bytes. */
export function wavBytes(samples: Float32Array, sampleRate: number): Uint8Array {
  const out = new Uint8Array(44 + samples.length * 2);
  const v = new DataView(out.buffer);
  const str = (o: number, s: string) => { for (let i = 0; i < s.length; i++) out[o + i] = s.charCodeAt(i); };
  str(0, 'RIFF'); v.setUint32(4, 36 + samples.length * 2, true); str(8, 'WAVE');
  str(12, 'fmt '); v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
  v.setUint32(24, sampleRate, true); v.setUint32(28, sampleRate * 2, true); v.setUint16(32, 2, true); v.setUint16(34, 16, true);
  str(36, 'data'); v.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) v.setInt16(44 + i * 2, Math.max(-32768, Math.min(32767, Math.round(samples[i] * 32767))), true);
  return out;
}

/**
 * Frame-wise scores that follow the ground truth: each GT event ramps up to `peak` inside its span
 * (smooth edges), plus a deterministic low-level "false alarm" bump per class, so thresholds between
 * the bump and the peak keep exactly the GT events and lower thresholds add the false alarms. This
 * stands in for model output (no trained model is part of the renderers' tests).
 */
export function scoresFromGt(gt: [number, number, string][], classes: string[], frames: number, hop: number): Float32Array {
  const probs = new Float32Array(classes.length * frames);
  for (let c = 0; c < classes.length; c++) {
    const bumpAt = ((c * 7919) % 97) / 97; // position of the false alarm, spread over the clip
    for (let t = 0; t < frames; t++) {
      const time = t * hop;
      const b = 0.3 * Math.exp(-(((time - (bumpAt * frames * hop)) / 0.15) ** 2));
      probs[c * frames + t] = b;
    }
  }
  for (const [on, off, label] of gt) {
    const c = classes.indexOf(label);
    for (let t = 0; t < frames; t++) {
      const time = (t + 0.5) * hop;
      const edge = Math.min(time - on, off - time);
      if (edge <= -0.1) continue;
      const p = 0.9 / (1 + Math.exp(-edge / 0.03));
      probs[c * frames + t] = Math.max(probs[c * frames + t], p);
    }
  }
  return probs;
}

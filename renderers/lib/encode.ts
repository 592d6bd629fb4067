/**
 * Payload encoders for the binary renderer MIME types (pure TypeScript: used by the engine, the
 * extension and the tests; no DOM, no Node APIs). Large arrays are quantised to uint8 and, for very
 * long audio, decimated along time before they leave the engine, so an hour of audio is a few MB of
 * safetensors, never millions of JSON numbers. The layouts are documented in renderers/README.md.
 */
import { serializeSafetensors, type HostTensor } from '../../engine/io/safetensorsFormat';

export const MIME = {
  spectrogram: 'application/vnd.sed-studio.spectrogram',
  spectrogramJson: 'application/vnd.sed-studio.spectrogram+json',
  eventRoll: 'application/vnd.sed-studio.event-roll',
  eventRollJson: 'application/vnd.sed-studio.event-roll+json',
  psdRoc: 'application/vnd.sed-studio.psd-roc+json',
  tradeoff: 'application/vnd.sed-studio.tradeoff+json',
  trainingCurves: 'application/vnd.sed-studio.training-curves+json',
} as const;

/** Columns a spectrogram keeps by default: an hour at 40 ms hop (90 000 frames) becomes 2 frames per column. */
export const DEFAULT_MAX_COLUMNS = 65536;

export interface SpectrogramHeader {
  kind: 'mel' | 'linear';
  /** Centre frequency of each row (bin) in Hz, ascending. */
  freqs_hz: number[];
  /** Seconds per input frame. */
  hop_s: number;
  t0?: number;
  title?: string;
  source?: string;
  colormap?: 'viridis' | 'magma';
}

export interface SpectrogramInput {
  /** dB values, bins × frames, row-major (row 0 = lowest frequency). */
  db: Float32Array;
  bins: number;
  frames: number;
  header: SpectrogramHeader;
  /** Dynamic range shown; default [max − 80 dB, max]. */
  dbRange?: [number, number];
  /** Decimate (max over time) until at most this many columns remain. */
  maxColumns?: number;
}

/** Quantise and decimate a dB spectrogram: the `spectrogram` tensor and its header. */
export function spectrogramTensor(s: SpectrogramInput): { tensor: { shape: number[]; data: Uint8Array }; header: Record<string, unknown> } {
  const { db, bins, frames } = s;
  if (db.length !== bins * frames) throw new Error(`spectrogram: db has ${db.length} values, expected bins × frames = ${bins} × ${frames}`);
  if (s.header.freqs_hz.length !== bins) throw new Error(`spectrogram: freqs_hz has ${s.header.freqs_hz.length} entries, expected ${bins}`);
  let max = -Infinity;
  for (let i = 0; i < db.length; i++) if (db[i] > max) max = db[i];
  if (!isFinite(max)) max = 0;
  const [lo, hi] = s.dbRange ?? [max - 80, max];
  if (!(hi > lo)) throw new Error(`spectrogram: dbRange [${lo}, ${hi}] is empty`);
  const factor = Math.max(1, Math.ceil(frames / (s.maxColumns ?? DEFAULT_MAX_COLUMNS)));
  const cols = Math.ceil(frames / factor);
  const out = new Uint8Array(bins * cols);
  const k = 255 / (hi - lo);
  for (let r = 0; r < bins; r++) {
    for (let c = 0; c < cols; c++) {
      let m = -Infinity;
      const end = Math.min(frames, (c + 1) * factor);
      for (let i = c * factor; i < end; i++) if (db[r * frames + i] > m) m = db[r * frames + i];
      const v = (m - lo) * k;
      out[r * cols + c] = v > 255 ? 255 : v > 0 ? Math.round(v) : 0;
    }
  }
  return { tensor: { shape: [bins, cols], data: out }, header: { ...s.header, hop_s: s.header.hop_s * factor, db_min: lo, db_max: hi } };
}

/** `application/vnd.sed-studio.spectrogram` bytes. */
export function encodeSpectrogram(s: SpectrogramInput): Uint8Array {
  const { tensor, header } = spectrogramTensor(s);
  return serializeSafetensors(new Map([['spectrogram', tensor]]), { header: JSON.stringify(header) });
}

export interface EventRollInput {
  /** Frame-wise probabilities in [0, 1], classes × frames, row-major (after any median filter). */
  probs: Float32Array;
  classes: string[];
  frames: number;
  hop_s: number;
  t0?: number;
  threshold?: number;
  /** [onset_s, offset_s, label] */
  ground_truth?: [number, number, string][];
  title?: string;
  source?: string;
  /** Audio to play: a URL the webview can load, or the file bytes (WAV, FLAC, MP3, OGG) with their MIME type. */
  audio?: { url: string } | { bytes: Uint8Array; mime: string };
  /** A spectrogram of the same audio drawn above the roll. */
  spectrogram?: SpectrogramInput;
}

/** `application/vnd.sed-studio.event-roll` bytes: probabilities as uint8 (p = v / 255). */
export function encodeEventRoll(r: EventRollInput): Uint8Array {
  if (r.probs.length !== r.classes.length * r.frames) throw new Error(`event roll: probs has ${r.probs.length} values, expected classes × frames = ${r.classes.length} × ${r.frames}`);
  const q = new Uint8Array(r.probs.length);
  for (let i = 0; i < q.length; i++) {
    const v = r.probs[i] * 255;
    q[i] = v > 255 ? 255 : v > 0 ? Math.round(v) : 0;
  }
  const tensors = new Map<string, { shape: number[]; data: HostTensor['data'] }>([['probs', { shape: [r.classes.length, r.frames], data: q }]]);
  const header: Record<string, unknown> = { classes: r.classes, hop_s: r.hop_s, t0: r.t0 ?? 0, threshold: r.threshold ?? 0.5 };
  if (r.ground_truth) header.ground_truth = r.ground_truth;
  if (r.title) header.title = r.title;
  if (r.source) header.source = r.source;
  if (r.audio && 'url' in r.audio) header.audio_url = r.audio.url;
  if (r.audio && 'bytes' in r.audio) {
    tensors.set('audio', { shape: [r.audio.bytes.length], data: r.audio.bytes });
    header.audio_mime = r.audio.mime;
  }
  if (r.spectrogram) {
    const s = spectrogramTensor(r.spectrogram);
    tensors.set('spectrogram', s.tensor);
    header.spectrogram = s.header;
  }
  return serializeSafetensors(tensors, { header: JSON.stringify(header) });
}

/**
 * Centre frequencies of the engine's log-mel bins (MODEL_SPEC §1: Kaldi banks, HTK mel
 * 1127·ln(1 + f/700), centres equally spaced in mel, Δ = (mel(fmax) − mel(fmin)) / (n + 1)).
 */
export function melCentreFrequencies(nMels = 128, fmin = 0, fmax = 7000): number[] {
  const mel = (f: number) => 1127 * Math.log(1 + f / 700);
  const inv = (m: number) => 700 * (Math.exp(m / 1127) - 1);
  const lo = mel(fmin);
  const d = (mel(fmax) - lo) / (nMels + 1);
  return Array.from({ length: nMels }, (_, m) => inv(lo + (m + 1) * d));
}

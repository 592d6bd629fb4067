/**
 * Builds the renderer payloads of a detection result from the engine's bulk files (safetensors written
 * by `sed/detect` and `sed/mel`): the spectrogram and the event roll (binary MIME types, encoded with
 * renderers/lib/encode.ts as documented in renderers/README.md).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DetectResult, MelResult } from '../../engine/protocol/protocol';
import { readSafetensors } from '../../engine/io/safetensors';
import { encodeEventRoll, encodeSpectrogram, melCentreFrequencies, MIME } from '../../renderers/lib/encode';

export { MIME };

/** Audio above this size is not embedded for playback (the roll still draws). */
const MAX_EMBEDDED_AUDIO_BYTES = 32 * 1024 * 1024;
/** Rows of the event roll: classes that fire, plus the strongest others, at most this many. */
const MAX_ROLL_CLASSES = 24;
const AUDIO_MIME: Record<string, string> = { '.wav': 'audio/wav', '.flac': 'audio/flac', '.mp3': 'audio/mpeg', '.ogg': 'audio/ogg', '.opus': 'audio/ogg' };

function f32(file: string, name: string): { data: Float32Array; shape: number[] } {
  const st = readSafetensors(file);
  const t = st.tensors.get(name);
  if (!t) throw new Error(`${file}: tensor "${name}" is missing (tensors: ${[...st.tensors.keys()].join(', ')})`);
  if (!(t.data instanceof Float32Array)) throw new Error(`${file}: tensor "${name}" is ${t.dtype}, expected F32`);
  return { data: t.data, shape: t.shape };
}

/** Classes shown in the roll: every class with an event, then the highest peaks, in class order. */
export function rollClasses(scores: Float32Array, frames: number, result: DetectResult, limit = MAX_ROLL_CLASSES): number[] {
  const C = result.classes.length;
  const peak = new Float32Array(C);
  for (let t = 0; t < frames; t++) for (let c = 0; c < C; c++) if (scores[t * C + c] > peak[c]) peak[c] = scores[t * C + c];
  const firing = new Set(result.events.map((e) => result.classes.indexOf(e.label)).filter((i) => i >= 0));
  const rest = [...Array(C).keys()].filter((c) => !firing.has(c)).sort((a, b) => peak[b] - peak[a]);
  const chosen = [...firing].sort((a, b) => peak[b] - peak[a]).slice(0, limit);
  for (const c of rest) {
    if (chosen.length >= Math.min(limit, C)) break;
    chosen.push(c);
  }
  return chosen.sort((a, b) => a - b);
}

export interface DetectionPayloads {
  spectrogram?: Uint8Array;
  eventRoll: Uint8Array;
  /** Classes drawn in the roll. */
  rollClasses: string[];
}

/** Converts the engine's log-mel (MODEL_SPEC §1: ln(mel), then (x + 4.5) / 5) to dB. */
function melToDb(mel: Float32Array): Float32Array {
  const k = 10 / Math.LN10;
  const out = new Float32Array(mel.length);
  for (let i = 0; i < mel.length; i++) out[i] = (mel[i] * 5 - 4.5) * k;
  return out;
}

export function buildDetectionPayloads(result: DetectResult, mel: MelResult | undefined, opts: { threshold: number }): DetectionPayloads {
  const s = f32(result.scoresFile, 'scores');
  const [T, C] = s.shape;
  if (C !== result.classes.length) throw new Error(`${result.scoresFile}: scores have ${C} classes, the result lists ${result.classes.length}`);
  // The engine's scores are already median-filtered, as the events were decoded from them.
  const shown = rollClasses(s.data, T, result);
  const probs = new Float32Array(shown.length * T);
  shown.forEach((c, r) => {
    for (let t = 0; t < T; t++) probs[r * T + t] = s.data[t * C + c];
  });

  let spectrogram: Uint8Array | undefined;
  if (mel) {
    const m = f32(mel.file, 'mel');
    const [bins, frames] = m.shape;
    spectrogram = encodeSpectrogram({
      db: melToDb(m.data),
      bins,
      frames,
      header: { kind: 'mel', freqs_hz: melCentreFrequencies(bins), hop_s: mel.hopSeconds, t0: mel.start, title: `log-mel spectrogram of ${path.basename(result.file)}`, source: result.file },
    });
  }

  const size = fs.statSync(result.file).size;
  const audioMime = AUDIO_MIME[path.extname(result.file).toLowerCase()];
  const audio = audioMime && size <= MAX_EMBEDDED_AUDIO_BYTES ? { bytes: new Uint8Array(fs.readFileSync(result.file)), mime: audioMime } : undefined;
  const eventRoll = encodeEventRoll({
    probs,
    classes: shown.map((c) => result.classes[c]),
    frames: T,
    hop_s: result.frameSeconds,
    threshold: opts.threshold,
    title: `${path.basename(result.file)} — ${result.modelName}`,
    source: result.file,
    ...(audio ? { audio } : {}),
    // No embedded spectrogram: the separate spectrogram output has the same `source`, so the roll's
    // playhead moves over it too, and the view does not carry the image twice.
  });
  return { spectrogram, eventRoll, rollClasses: shown.map((c) => result.classes[c]) };
}

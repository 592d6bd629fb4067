/**
 * The event-roll payload (see renderers/README.md): classes × frames probabilities (uint8 p = v/255 or
 * float32 in the binary form, a nested array in the JSON form), optional ground truth, optional audio
 * (URL or bytes) and an optional embedded spectrogram of the same audio.
 */
import { PayloadError } from './host';
import { base64Bytes, Fields, quantise, tensor2d, type Payload } from './payload';
import { parseSpectrogram, type SpectrogramData } from './spectrogramData';

export interface GroundTruthEvent {
  cls: number;
  onset: number;
  offset: number;
}

export interface EventRollData {
  classes: string[];
  frames: number;
  hop: number;
  t0: number;
  /** classes × frames, p = v / 255. */
  levels: Uint8Array;
  threshold: number;
  groundTruth: GroundTruthEvent[];
  audio?: string | Blob;
  spectrogram?: SpectrogramData;
  title?: string;
  source?: string;
}

export function parseEventRoll(p: Payload): EventRollData {
  const f = new Fields(p.mime, p.header);
  const classes = f.strings('classes');
  if (classes.length === 0) throw new PayloadError(`${p.mime}: "classes" is empty`);
  const hop = f.num('hop_s', undefined, (v) => v > 0, 'a positive number of seconds per frame');
  const t0 = f.num('t0', 0);
  const threshold = f.num('threshold', 0.5, (v) => v >= 0 && v <= 1, 'a number in [0, 1]');
  let levels: Uint8Array;
  let frames: number;
  if (f.has('probs')) {
    const m = f.matrix('probs');
    if (m.rows !== classes.length) throw new PayloadError(`${p.mime}: "probs" has ${m.rows} rows but there are ${classes.length} classes`);
    frames = m.cols;
    levels = quantise(m.data, 0, 1);
  } else {
    if (p.tensors.size === 0) throw new PayloadError(`${p.mime}: no probabilities: give "probs" (classes × frames) or use the binary form with a "probs" tensor`);
    const { t, cols } = tensor2d(p, 'probs', classes.length);
    frames = cols;
    levels = t.dtype === 'U8' ? (t.data as Uint8Array) : quantise(t.data as Float32Array, 0, 1);
  }
  const groundTruth: GroundTruthEvent[] = [];
  f.list('ground_truth', []).forEach((e, i) => {
    if (!Array.isArray(e) || e.length < 3 || typeof e[0] !== 'number' || typeof e[1] !== 'number' || typeof e[2] !== 'string') {
      throw new PayloadError(`${p.mime}: "ground_truth"[${i}] must be [onset_s, offset_s, label] (got ${JSON.stringify(e)})`);
    }
    const cls = classes.indexOf(e[2]);
    if (cls < 0) throw new PayloadError(`${p.mime}: "ground_truth"[${i}] has label '${e[2]}', which is not in "classes" (${classes.slice(0, 12).join(', ')}${classes.length > 12 ? ', …' : ''})`);
    groundTruth.push({ cls, onset: e[0], offset: e[1] });
  });
  let audio: string | Blob | undefined;
  if (f.has('audio_url')) audio = f.str('audio_url');
  else if (f.has('audio_base64')) {
    try {
      audio = new Blob([base64Bytes(f.str('audio_base64')) as Uint8Array<ArrayBuffer>], { type: f.str('audio_mime', 'audio/wav') });
    } catch {
      throw new PayloadError(`${p.mime}: "audio_base64" is not valid base64`);
    }
  } else if (p.tensors.has('audio')) {
    const a = p.tensors.get('audio')!;
    if (a.dtype !== 'U8') throw new PayloadError(`${p.mime}: tensor "audio" must be U8 file bytes (got ${a.dtype})`);
    audio = new Blob([a.data as Uint8Array<ArrayBuffer>], { type: f.str('audio_mime', 'audio/wav') });
  }
  const sf = f.obj_('spectrogram');
  return {
    classes, frames, hop, t0, levels, threshold, groundTruth, audio,
    spectrogram: sf ? parseSpectrogram(p, sf, 'spectrogram') : undefined,
    title: f.has('title') ? f.str('title') : undefined,
    source: f.has('source') ? f.str('source') : undefined,
  };
}

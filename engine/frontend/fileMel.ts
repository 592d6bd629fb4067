/**
 * Log-mel of a whole audio file, computed the way the model sees it: the file is streamed as 10 s
 * chunks at 16 kHz (the last zero-padded, as the reference's inference does), each chunk goes through
 * `computeMel`, and the chunks' frames are concatenated on the time axis. Frames of the padding after
 * the end of the audio are dropped, so T = Σ ⌈validSamples/160⌉ (1000 per full chunk).
 */
import * as tf from '@tensorflow/tfjs-core';
import { AudioDecodeError, DEFAULT_CHUNK_SECONDS, streamChunks, type AudioInfo } from '../audio';
import { computeMel, MEL, melFrameCount } from './mel';

export interface FileMel {
  /** Row-major [128, frames] (mel bin major), i.e. the tensor [1,128,T] without its batch axis. */
  data: Float32Array;
  frames: number;
  /** Seconds of audio analysed (at 16 kHz, after resampling). */
  durationSeconds: number;
  info: AudioInfo;
}

export async function melForFile(file: string, opts: { chunkSeconds?: number; onWarning?: (message: string) => void } = {}): Promise<FileMel> {
  const chunkSeconds = opts.chunkSeconds ?? DEFAULT_CHUNK_SECONDS;
  let info: AudioInfo | undefined;
  const pieces: { data: Float32Array; frames: number }[] = [];
  let frames = 0;
  let samples = 0;
  for await (const chunk of streamChunks(file, { chunkSeconds, sampleRate: MEL.sampleRate, onWarning: opts.onWarning, onInfo: (i) => (info = i) })) {
    const n = chunk.samples.length;
    const keep = chunk.validSamples === n ? melFrameCount(n) : Math.ceil(chunk.validSamples / MEL.hop);
    const mel = tf.tidy(() => {
      const m = computeMel(tf.tensor2d(chunk.samples, [1, n])); // [1,128,T,1]
      return tf.reshape(tf.slice(m, [0, 0, 0, 0], [1, MEL.nMels, keep, 1]), [MEL.nMels, keep]);
    });
    pieces.push({ data: (await mel.data()) as Float32Array, frames: keep });
    mel.dispose();
    frames += keep;
    samples += chunk.validSamples;
  }
  if (frames === 0) throw new AudioDecodeError(file, 'contains no audio samples (0 s); there is no spectrogram to compute');
  const data = new Float32Array(MEL.nMels * frames);
  let t0 = 0;
  for (const p of pieces) {
    for (let m = 0; m < MEL.nMels; m++) data.set(p.data.subarray(m * p.frames, (m + 1) * p.frames), m * frames + t0);
    t0 += p.frames;
  }
  return { data, frames, durationSeconds: samples / MEL.sampleRate, info: info! };
}

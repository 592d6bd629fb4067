/**
 * Log-mel of a whole audio file, computed the way the model sees it: the file is streamed as 10 s
 * chunks at 16 kHz (the last zero-padded, as the reference's inference does), each chunk goes through
 * `computeMel`, and the chunks' frames are concatenated on the time axis. Frames of the padding after
 * the end of the audio are dropped, so T = Σ ⌈validSamples/160⌉ (1000 per full 10 s chunk).
 *
 * `melForFile` returns the spectrogram in memory; `writeMelFile` streams it into a safetensors file
 * (tensor `mel` [1,128,T]) chunk by chunk, so an hours-long file needs no more memory than one chunk.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AudioDecodeError, DEFAULT_CHUNK_SECONDS, probeAudio, StreamingResampler, streamChunks, type AudioChunk, type AudioInfo } from '../audio';
import { computeMel, MEL } from './mel';
import { readBack } from '../backend/gpuErrors';

export interface FileMel {
  /** Row-major [128, frames] (mel bin major), i.e. the tensor [1,128,T] without its batch axis. */
  data: Float32Array;
  frames: number;
  /** Seconds of audio analysed (at 16 kHz, after resampling). */
  durationSeconds: number;
  info: AudioInfo;
}

export interface FileMelOptions {
  chunkSeconds?: number;
  onWarning?: (message: string) => void;
}

/** Frames kept for a chunk: those centred on real audio (frame t is centred on sample 160·t). */
function framesOf(validSamples: number): number {
  return Math.ceil(validSamples / MEL.hop);
}

/** The chunk's log-mel, [128, framesOf(validSamples)] row-major. */
async function chunkMel(chunk: AudioChunk): Promise<{ data: Float32Array; frames: number }> {
  const n = chunk.samples.length;
  const keep = framesOf(chunk.validSamples);
  const mel = tf.tidy(() => {
    const m = computeMel(tf.tensor2d(chunk.samples, [1, n])); // [1,128,T,1]
    return tf.reshape(tf.slice(m, [0, 0, 0, 0], [1, MEL.nMels, keep, 1]), [MEL.nMels, keep]);
  });
  try {
    return { data: await readBack(mel, 'mel spectrogram'), frames: keep };
  } finally {
    mel.dispose();
  }
}

/** The whole file's log-mel in memory (4 bytes × 128 × 100 frames per second of audio). */
export async function melForFile(file: string, opts: FileMelOptions = {}): Promise<FileMel> {
  const pieces: { data: Float32Array; frames: number }[] = [];
  let info: AudioInfo | undefined;
  let frames = 0;
  let samples = 0;
  const chunks = streamChunks(file, { chunkSeconds: opts.chunkSeconds ?? DEFAULT_CHUNK_SECONDS, sampleRate: MEL.sampleRate, onWarning: opts.onWarning, onInfo: (i) => (info = i) });
  for await (const chunk of chunks) {
    const piece = await chunkMel(chunk);
    pieces.push(piece);
    frames += piece.frames;
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

/**
 * safetensors header for one F32 tensor `name` of `shape`, laid out as engine/io's serializer does
 * (JSON padded with spaces so the data starts 8-byte aligned). Written here because the streaming
 * writer needs the header before the data exists.
 */
function safetensorsHeader(name: string, shape: number[], metadata: Record<string, string>): Buffer {
  const bytes = shape.reduce((a, b) => a * b, 1) * 4;
  let json = JSON.stringify({ __metadata__: metadata, [name]: { dtype: 'F32', shape, data_offsets: [0, bytes] } });
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.alloc(8 + Buffer.byteLength(json));
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)), 0);
  head.write(json, 8, 'utf8');
  return head;
}

/**
 * Stream the whole file's log-mel into `out` as safetensors: tensor `mel` [1,128,T] plus the string
 * metadata `metadataFor(info, frames)` returns. The frame count is worked out from `probeAudio` first
 * (free for WAV; a decode-only pass for compressed formats), then each chunk's rows are written at
 * their offsets. The file appears atomically (temp file + rename) and only when complete.
 */
export async function writeMelFile(
  file: string,
  out: string,
  opts: FileMelOptions & { metadataFor?: (info: AudioInfo, frames: number) => Record<string, string> } = {},
): Promise<{ frames: number; durationSeconds: number; info: AudioInfo }> {
  const chunkSeconds = opts.chunkSeconds ?? DEFAULT_CHUNK_SECONDS;
  const chunkSamples = Math.round(chunkSeconds * MEL.sampleRate);
  const info = await probeAudio(file);
  const total = StreamingResampler.outputLength(info.frames, info.sampleRate, MEL.sampleRate);
  if (total === 0) throw new AudioDecodeError(file, 'contains no audio samples (0 s); there is no spectrogram to compute');
  const frames = Math.floor(total / chunkSamples) * framesOf(chunkSamples) + framesOf(total % chunkSamples);
  const header = safetensorsHeader('mel', [1, MEL.nMels, frames], opts.metadataFor?.(info, frames) ?? {});
  const tmp = path.join(path.dirname(path.resolve(out)), `.${path.basename(out)}.${process.pid}.tmp`);
  await fs.mkdir(path.dirname(tmp), { recursive: true });
  const fh = await fs.open(tmp, 'w');
  let done = false;
  try {
    await fh.write(header, 0, header.length, 0);
    await fh.truncate(header.length + MEL.nMels * frames * 4);
    let t0 = 0;
    let samples = 0;
    for await (const chunk of streamChunks(file, { chunkSeconds, sampleRate: MEL.sampleRate, onWarning: opts.onWarning })) {
      const piece = await chunkMel(chunk);
      if (t0 + piece.frames > frames) throw new AudioDecodeError(file, `decoded more audio than probed (${frames} frames expected); the file changed while being read?`);
      const bytes = new Uint8Array(piece.data.buffer, piece.data.byteOffset, piece.data.byteLength);
      for (let m = 0; m < MEL.nMels; m++) {
        await fh.write(bytes, m * piece.frames * 4, piece.frames * 4, header.length + (m * frames + t0) * 4);
      }
      t0 += piece.frames;
      samples += chunk.validSamples;
    }
    if (t0 !== frames) throw new AudioDecodeError(file, `decoded ${t0} frames but probing promised ${frames}; the file changed while being read?`);
    await fh.sync();
    await fh.close();
    await fs.rename(tmp, out);
    done = true;
    return { frames, durationSeconds: samples / MEL.sampleRate, info };
  } finally {
    if (!done) {
      await fh.close().catch(() => undefined);
      await fs.rm(tmp, { force: true });
    }
  }
}

/**
 * The audio input pipeline: decode → mono mix → resample → (optionally) fixed-length chunks.
 * Everything runs as a stream over `openAudio(...).blocks()`, so memory is bounded by one read
 * buffer, one decoded block and one chunk — except `decodeAudio`, which returns the whole signal.
 */
import { ChunkAssembler } from './chunker';
import { AudioDecodeError } from './errors';
import { mixToMono } from './mix';
import { StreamingResampler } from './resample';
import { openAudio, type AudioSource } from './sources';
import type { AudioChunk, AudioInfo } from './types';

/** The model's sample rate (MODEL_SPEC §1). */
export const DEFAULT_SAMPLE_RATE = 16000;
/** The reference's analysis window: 10 s chunks. */
export const DEFAULT_CHUNK_SECONDS = 10;

function checkRate(file: string, sampleRate: number): void {
  if (!(Number.isInteger(sampleRate) && sampleRate > 0)) throw new AudioDecodeError(file, `invalid target sample rate ${sampleRate} (must be a positive integer, e.g. 16000)`);
}

function infoOf(source: AudioSource, sampleRate: number, channels: number, frames: number): AudioInfo {
  return {
    file: source.file,
    format: source.format,
    codec: source.codec,
    sampleRate,
    channels,
    frames,
    durationSeconds: sampleRate > 0 ? frames / sampleRate : 0,
    bitsPerSample: source.bitsPerSample,
    warnings: [...source.warnings],
  };
}

/**
 * Describe a file as stored. WAV is read from its header; compressed formats are decoded (streaming,
 * bounded memory) to count the frames exactly — the count then equals what `decodeAudio` returns,
 * with encoder delay/padding already removed. Throws AudioDecodeError for anything unusable.
 */
export async function probeAudio(file: string): Promise<AudioInfo> {
  const source = await openAudio(file);
  if (source.layout) return infoOf(source, source.layout.sampleRate, source.layout.channels, source.layout.frames);
  let frames = 0;
  let channels = 0;
  let sampleRate = 0;
  for await (const block of source.blocks()) {
    frames += block.channelData[0].length;
    channels = Math.max(channels, block.channelData.length);
    sampleRate = block.sampleRate;
  }
  return infoOf(source, sampleRate, channels, frames);
}

/** Mono samples at `sampleRate`, in pieces, plus the source's info once the stream has ended. */
async function* monoResampled(source: AudioSource, sampleRate: number, stats: { channels: number; frames: number; rate: number }): AsyncGenerator<Float32Array> {
  let resampler: StreamingResampler | undefined;
  try {
    for await (const block of source.blocks()) {
      if (!resampler) {
        try {
          resampler = await StreamingResampler.create(block.sampleRate, sampleRate);
        } catch (err) {
          throw new AudioDecodeError(source.file, (err as Error).message, { cause: err });
        }
      }
      stats.channels = Math.max(stats.channels, block.channelData.length);
      stats.frames += block.channelData[0].length;
      stats.rate = block.sampleRate;
      const out = resampler.push(mixToMono(block.channelData));
      if (out.length) yield out;
    }
    if (resampler) {
      const tail = resampler.finish();
      resampler = undefined;
      if (tail.length) yield tail;
    }
  } finally {
    // An early exit (error, or the consumer stopped) must still release the wasm converter.
    resampler?.dispose();
  }
}

/**
 * Decode a whole file to mono at `sampleRate` (default 16 kHz): channels averaged, then resampled
 * with libsamplerate's best sinc converter. `info` describes the file as stored, plus any warnings.
 */
export async function decodeAudio(
  file: string,
  opts: { sampleRate?: number } = {},
): Promise<{ samples: Float32Array; sampleRate: number; durationSeconds: number; info: AudioInfo }> {
  const sampleRate = opts.sampleRate ?? DEFAULT_SAMPLE_RATE;
  checkRate(file, sampleRate);
  const source = await openAudio(file);
  const stats = { channels: source.layout?.channels ?? 0, frames: 0, rate: source.layout?.sampleRate ?? 0 };
  const parts: Float32Array[] = [];
  let total = 0;
  for await (const piece of monoResampled(source, sampleRate, stats)) {
    // The resampler may hand back the decoder's own array (no resampling needed): keep a copy.
    parts.push(piece.slice());
    total += piece.length;
  }
  const samples = new Float32Array(total);
  let o = 0;
  for (const p of parts) {
    samples.set(p, o);
    o += p.length;
  }
  return { samples, sampleRate, durationSeconds: total / sampleRate, info: infoOf(source, stats.rate, stats.channels, stats.frames) };
}

/**
 * Stream a file as consecutive chunks of exactly chunkSeconds·sampleRate mono samples (defaults
 * 10 s at 16 kHz), the last one zero-padded, as the reference's inference does. A file with no
 * samples yields no chunk. Once the stream has ended, warnings found while decoding go to
 * `opts.onWarning` (default: a Node process warning) and the file's AudioInfo (as `probeAudio`
 * would report it, without a second decoding pass) to `opts.onInfo`.
 */
export async function* streamChunks(
  file: string,
  opts: { chunkSeconds?: number; sampleRate?: number; onWarning?: (message: string) => void; onInfo?: (info: AudioInfo) => void } = {},
): AsyncGenerator<AudioChunk> {
  const sampleRate = opts.sampleRate ?? DEFAULT_SAMPLE_RATE;
  const chunkSeconds = opts.chunkSeconds ?? DEFAULT_CHUNK_SECONDS;
  checkRate(file, sampleRate);
  const chunkSamples = Math.round(chunkSeconds * sampleRate);
  if (!(chunkSeconds > 0) || chunkSamples < 1) throw new AudioDecodeError(file, `invalid chunk length ${chunkSeconds} s (must be > 0)`);
  const source = await openAudio(file);
  const assembler = new ChunkAssembler(chunkSamples, chunkSeconds);
  const stats = { channels: source.layout?.channels ?? 0, frames: 0, rate: source.layout?.sampleRate ?? 0 };
  for await (const piece of monoResampled(source, sampleRate, stats)) {
    for (const chunk of assembler.push(piece)) yield chunk;
  }
  const last = assembler.finish();
  if (last) yield last;
  const warn = opts.onWarning ?? ((message: string) => process.emitWarning(message, 'AudioDecodeWarning'));
  for (const w of source.warnings) warn(`${file}: ${w}`);
  opts.onInfo?.(infoOf(source, stats.rate, stats.channels, stats.frames));
}

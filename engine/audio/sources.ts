/**
 * Opening an audio file and reading it as a stream of PCM blocks at its own sample rate.
 *
 * The format is sniffed from the content (not the extension). WAV goes through our header reader
 * (wavHeader.ts) and `@audio/decode-wav`'s sample converter, fed straight from positioned file reads.
 * Everything else goes through `audio-decode`'s incremental decoders (FLAC, MP3, Ogg Vorbis, Ogg
 * Opus, and whatever else that library knows), fed the file in fixed-size pieces, so memory stays
 * bounded for files of any length. Every failure becomes an AudioDecodeError naming the file.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import audioType from 'audio-type';
import { AudioDecodeError } from './errors';
import type { PcmBlock } from './types';
import { canonicalHeader, describeMagic, readWavLayout, WavHeaderProblem, type WavLayout } from './wavHeader';

/** Bytes read from the file per step: large enough to amortise calls, small enough to bound memory. */
const READ_BYTES = 256 * 1024;
/** An asynchronous decoder step (wasm start-up, one piece of input) that takes longer than this is treated as a hang. */
const STALL_MS = 60_000;

const FORMAT_NAMES: Record<string, string> = { oga: 'vorbis' };
const SUPPORTED = 'WAV (PCM 8/16/24/32-bit, float 32/64, A-law, mu-law), FLAC, MP3, Ogg Vorbis, Ogg Opus; also AAC/M4A, AIFF, CAF, WebM and others that audio-decode reads';

export interface AudioSource {
  file: string;
  /** Our format name: wav, flac, mp3, vorbis, opus, … */
  format: string;
  codec: string;
  fileSize: number;
  /** Header information, known before decoding for WAV only. */
  layout?: WavLayout;
  /** FLAC STREAMINFO: declared frames (0 = unknown), bits per sample. */
  declaredFrames?: number;
  bitsPerSample?: number;
  /** Non-fatal problems; decoding may append more (read it after iterating `blocks`). */
  warnings: string[];
  /** A fresh pass over the decoded audio; the file is opened on first `next()` and closed when the pass ends. */
  blocks(): AsyncGenerator<PcmBlock>;
}

type StreamDecoder = ((chunk?: Uint8Array) => Promise<{ channelData: Float32Array[]; sampleRate: number }>) & { free(): void };

function fail(file: string, problem: string, cause?: unknown): never {
  throw new AudioDecodeError(file, problem, cause === undefined ? undefined : { cause });
}

async function withDeadline<T>(work: Promise<T>, file: string, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stall = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AudioDecodeError(file, `${what} did not finish within ${STALL_MS / 1000} s (decoder stalled)`)), STALL_MS);
  });
  try {
    return await Promise.race([work, stall]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Run a decoder call while collecting what the wasm decoders print through console.error/warn
 * (mpg123 and libFLAC report corrupt frames that way), so those reports become our warnings instead
 * of stray stderr lines. The decoders do their work synchronously inside the call, which is when
 * the console is redirected.
 */
function callCapturingLogs<T>(fn: () => T, sink: string[]): T {
  const { error, warn } = console;
  const capture = (...args: unknown[]) => {
    sink.push(args.map(String).join(' ').replace(/\s+/g, ' ').trim());
  };
  console.error = capture;
  console.warn = capture;
  try {
    return fn();
  } finally {
    console.error = error;
    console.warn = warn;
  }
}

function firstNonFinite(channels: Float32Array[]): number {
  for (const ch of channels) {
    for (let i = 0; i < ch.length; i++) if (!Number.isFinite(ch[i])) return i;
  }
  return -1;
}

/** FLAC STREAMINFO (the mandatory first metadata block): bits per sample and declared total frames. */
function flacStreamInfo(head: Uint8Array): { bitsPerSample: number; totalFrames: number } | undefined {
  if (head.length < 8 + 34 || head[0] !== 0x66 || head[1] !== 0x4c || head[2] !== 0x61 || head[3] !== 0x43) return undefined;
  if ((head[4] & 0x7f) !== 0) return undefined;
  const b = head.subarray(8 + 10);
  const bitsPerSample = (((b[2] & 0x01) << 4) | (b[3] >> 4)) + 1;
  const totalFrames = (b[3] & 0x0f) * 2 ** 32 + ((b[4] << 24) >>> 0) + (b[5] << 16) + (b[6] << 8) + b[7];
  return { bitsPerSample, totalFrames };
}

function openOrFail(file: string): Promise<FileHandle> {
  return open(file, 'r').catch((err: NodeJS.ErrnoException) => fail(file, `cannot open (${err.code ?? err.message})`, err));
}

async function readHead(file: string): Promise<{ head: Uint8Array; fileSize: number }> {
  let size: number;
  try {
    const st = await stat(file);
    if (st.isDirectory()) fail(file, 'is a directory, not an audio file');
    size = st.size;
  } catch (err) {
    if (err instanceof AudioDecodeError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    fail(file, code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? (err as Error).message})`, err);
  }
  const fh = await openOrFail(file);
  try {
    const head = new Uint8Array(Math.min(size, 64 * 1024));
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    return { head: head.subarray(0, bytesRead), fileSize: size };
  } finally {
    await fh.close();
  }
}

function looksLikeWav(head: Uint8Array, file: string): boolean {
  const magic = String.fromCharCode(...head.subarray(0, 4));
  if (magic === 'RIFF' || magic === 'RF64' || magic === 'RIFX') return true;
  // A broken file named .wav gets the WAV reader's precise diagnosis rather than "unknown format".
  const ext = path.extname(file).toLowerCase();
  return (ext === '.wav' || ext === '.wave') && audioType(head) === undefined;
}

/** Sniff and validate a file; no sample is decoded yet. */
export async function openAudio(file: string): Promise<AudioSource> {
  const { head, fileSize } = await readHead(file);
  if (fileSize === 0) fail(file, 'empty file (0 bytes)');
  if (looksLikeWav(head, file)) {
    const fh = await openOrFail(file);
    let layout: WavLayout;
    try {
      layout = await readWavLayout(fh, fileSize);
    } catch (err) {
      if (err instanceof WavHeaderProblem) fail(file, err.message);
      throw err;
    } finally {
      await fh.close();
    }
    const warnings = [...layout.warnings];
    return { file, format: 'wav', codec: layout.codec, fileSize, layout, bitsPerSample: layout.bitsPerSample, warnings, blocks: () => wavBlocks(file, layout, warnings) };
  }
  const sniffed = audioType(head);
  if (!sniffed) fail(file, `not a recognised audio file (starts with ${describeMagic(head)}); supported: ${SUPPORTED}`);
  const decoders = (await import('audio-decode')).default as unknown as Record<string, (() => Promise<StreamDecoder>) | undefined>;
  if (typeof decoders[sniffed] !== 'function') fail(file, `${sniffed} files are recognised but cannot be decoded (no decoder); supported: ${SUPPORTED}`);
  const format = FORMAT_NAMES[sniffed] ?? sniffed;
  const flac = sniffed === 'flac' ? flacStreamInfo(head) : undefined;
  const warnings: string[] = [];
  const source: AudioSource = {
    file,
    format,
    codec: format,
    fileSize,
    declaredFrames: flac?.totalFrames,
    bitsPerSample: flac?.bitsPerSample,
    warnings,
    blocks: () => codecBlocks(source, decoders[sniffed]!),
  };
  return source;
}

async function* wavBlocks(file: string, layout: WavLayout, warnings: string[]): AsyncGenerator<PcmBlock> {
  if (layout.frames === 0) return;
  const { decoder } = await import('@audio/decode-wav');
  const dec = decoder();
  const fh = await openOrFail(file);
  try {
    dec.decode(canonicalHeader(layout));
    const stepBytes = Math.max(1, Math.floor(READ_BYTES / layout.blockAlign)) * layout.blockAlign;
    const totalBytes = layout.frames * layout.blockAlign;
    const buf = new Uint8Array(stepBytes);
    for (let done = 0; done < totalBytes; ) {
      const want = Math.min(stepBytes, totalBytes - done);
      const { bytesRead } = await fh.read(buf, 0, want, layout.dataOffset + done);
      const whole = bytesRead - (bytesRead % layout.blockAlign);
      if (whole === 0) {
        warnings.push(`file shrank while being read: stopped at ${(done / layout.blockAlign / layout.sampleRate).toFixed(3)} s`);
        return;
      }
      // Copy: the converter may keep views of its input, and `buf` is reused.
      const out = dec.decode(buf.slice(0, whole));
      done += whole;
      if (out.channelData.length) {
        const bad = firstNonFinite(out.channelData);
        if (bad >= 0) fail(file, `invalid (NaN or infinite) sample at ${((done - whole) / layout.blockAlign / layout.sampleRate).toFixed(3)} s; the file is corrupt`);
        yield { channelData: out.channelData, sampleRate: layout.sampleRate };
      }
    }
  } finally {
    dec.free();
    await fh.close();
  }
}

async function* codecBlocks(source: AudioSource, factory: () => Promise<StreamDecoder>): AsyncGenerator<PcmBlock> {
  const { file, format, warnings } = source;
  const decoderLog: string[] = [];
  let frames = 0;
  let sampleRate = 0;
  const accept = (out: { channelData: Float32Array[]; sampleRate: number }): PcmBlock | undefined => {
    if (!out.channelData.length || !out.channelData[0].length) return undefined;
    if (sampleRate && out.sampleRate !== sampleRate) fail(file, `sample rate changes mid-stream (${sampleRate} Hz → ${out.sampleRate} Hz at ${(frames / sampleRate).toFixed(3)} s), which is not supported`);
    sampleRate = out.sampleRate;
    if (!(sampleRate > 0)) fail(file, `the ${format} decoder reported an invalid sample rate (${out.sampleRate})`);
    const bad = firstNonFinite(out.channelData);
    if (bad >= 0) fail(file, `the ${format} decoder produced invalid (NaN or infinite) samples at ${((frames + bad) / sampleRate).toFixed(3)} s; the file is corrupt`);
    frames += out.channelData[0].length;
    return { channelData: out.channelData, sampleRate };
  };
  const step = async (dec: StreamDecoder, chunk: Uint8Array | undefined, where: string) => {
    try {
      return await withDeadline(callCapturingLogs(() => dec(chunk), decoderLog), file, `${format} decoding ${where}`);
    } catch (err) {
      if (err instanceof AudioDecodeError) throw err;
      fail(file, `${format} decoding failed ${where}: ${(err as Error).message ?? String(err)}`, err);
    }
  };
  const fh = await openOrFail(file);
  let dec: StreamDecoder | undefined;
  try {
    dec = await withDeadline(factory(), file, `starting the ${format} decoder`).catch((err) => {
      if (err instanceof AudioDecodeError) throw err;
      fail(file, `cannot start the ${format} decoder: ${(err as Error).message}`, err);
    });
    const buf = new Uint8Array(READ_BYTES);
    for (let pos = 0; ; ) {
      const { bytesRead } = await fh.read(buf, 0, READ_BYTES, pos);
      if (bytesRead === 0) break;
      const block = accept(await step(dec, buf.slice(0, bytesRead), `near byte ${pos}`));
      pos += bytesRead;
      if (block) yield block;
    }
    const tail = accept(await step(dec, undefined, 'at the end of the file'));
    if (tail) yield tail;
    if (frames === 0) fail(file, `no audio could be decoded: corrupt, truncated or unsupported ${format} stream${decoderLog.length ? ` (${decoderLog[0]})` : ''}`);
    if (source.declaredFrames && frames < source.declaredFrames) {
      warnings.push(`truncated: the ${format} header declares ${(source.declaredFrames / sampleRate).toFixed(3)} s but only ${(frames / sampleRate).toFixed(3)} s could be decoded`);
    }
    if (decoderLog.length) warnings.push(`the ${format} decoder reported ${decoderLog.length} problem(s) (corrupt data was skipped); first: ${decoderLog[0]}`);
  } finally {
    dec?.free(); // idempotent: a no-op after the final flush, releases the wasm decoder on early exit
    await fh.close();
  }
}

/**
 * RIFF/WAVE header reader. It walks the chunk list with positioned reads (so a large LIST/JUNK
 * chunk before the data costs nothing), validates the `fmt ` chunk strictly and works out exactly
 * which bytes are sample data. The sample conversion itself is left to `@audio/decode-wav`; this file
 * exists because that decoder silently returns nothing for headers it cannot use (0 channels, a cut
 * header, a data chunk with no bytes), and because streaming needs the data offset and frame count
 * before decoding starts.
 */
import type { FileHandle } from 'node:fs/promises';

/** WAVE format tags we decode; WAVE_FORMAT_EXTENSIBLE (0xFFFE) resolves to its SubFormat tag. */
const TAG_PCM = 0x0001;
const TAG_FLOAT = 0x0003;
const TAG_ALAW = 0x0006;
const TAG_MULAW = 0x0007;
const TAG_EXTENSIBLE = 0xfffe;
const SUPPORTED_TAGS = 'PCM (0x0001), IEEE float (0x0003), A-law (0x0006), mu-law (0x0007), each also inside WAVE_FORMAT_EXTENSIBLE (0xFFFE)';
/** A data size of 0xFFFFFFFF is the placeholder written by tools that stream WAV to a pipe. */
const SIZE_UNKNOWN = 0xffffffff;

export interface WavLayout {
  /** The resolved format tag (never 0xFFFE). */
  formatTag: number;
  /** ffprobe-style sample encoding name: pcm_u8, pcm_s16le, pcm_s24le, pcm_s32le, pcm_f32le, pcm_f64le, pcm_alaw, pcm_mulaw. */
  codec: string;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** Bytes per frame (all channels of one sample instant). */
  blockAlign: number;
  /** The complete `fmt ` chunk (8-byte chunk header + body) as found in the file. */
  fmtChunk: Uint8Array;
  /** File offset of the first sample byte. */
  dataOffset: number;
  /** Whole frames present in the file (after any truncation). */
  frames: number;
  warnings: string[];
}

/** Thrown for an unusable header; the caller turns it into an AudioDecodeError naming the file. */
export class WavHeaderProblem extends Error {}

function fourcc(b: Uint8Array, o: number): string {
  return String.fromCharCode(b[o], b[o + 1], b[o + 2], b[o + 3]);
}

/** A printable rendering of 4 bytes for error messages (non-printable bytes as \xNN). */
export function describeMagic(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < Math.min(4, b.length); i++) {
    const c = b[i];
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return `'${s}'`;
}

function isChunkId(b: Uint8Array, o: number): boolean {
  for (let i = 0; i < 4; i++) if (b[o + i] < 0x20 || b[o + i] > 0x7e) return false;
  return true;
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === length ? buf : buf.subarray(0, got);
}

function codecName(tag: number, bits: number): string {
  switch (tag) {
    case TAG_PCM: return bits === 8 ? 'pcm_u8' : `pcm_s${bits}le`;
    case TAG_FLOAT: return `pcm_f${bits}le`;
    case TAG_ALAW: return 'pcm_alaw';
    default: return 'pcm_mulaw';
  }
}

interface FmtInfo {
  formatTag: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bitsPerSample: number;
}

function parseFmt(body: Uint8Array): FmtInfo {
  if (body.length < 16) throw new WavHeaderProblem(`'fmt ' chunk is ${body.length} bytes, shorter than the 16 every WAV needs`);
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let formatTag = dv.getUint16(0, true);
  const channels = dv.getUint16(2, true);
  const sampleRate = dv.getUint32(4, true);
  const blockAlign = dv.getUint16(12, true);
  const bitsPerSample = dv.getUint16(14, true);
  if (formatTag === TAG_EXTENSIBLE) {
    if (body.length < 40) throw new WavHeaderProblem(`WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk is ${body.length} bytes, needs 40`);
    formatTag = dv.getUint16(24, true); // first two bytes of the SubFormat GUID
  }
  if (![TAG_PCM, TAG_FLOAT, TAG_ALAW, TAG_MULAW].includes(formatTag)) {
    throw new WavHeaderProblem(`unsupported WAV codec: format tag 0x${formatTag.toString(16).padStart(4, '0')} (supported: ${SUPPORTED_TAGS})`);
  }
  if (channels === 0) throw new WavHeaderProblem(`'fmt ' chunk declares 0 channels`);
  if (sampleRate === 0) throw new WavHeaderProblem(`'fmt ' chunk declares a sample rate of 0 Hz`);
  const validBits: Record<number, number[]> = { [TAG_PCM]: [8, 16, 24, 32], [TAG_FLOAT]: [32, 64], [TAG_ALAW]: [8], [TAG_MULAW]: [8] };
  if (!validBits[formatTag].includes(bitsPerSample)) {
    throw new WavHeaderProblem(`unsupported sample size: ${bitsPerSample} bits for ${codecName(formatTag, 0).replace(/_.*/, '')} format tag 0x${formatTag.toString(16).padStart(4, '0')} (supported: ${validBits[formatTag].join('/')} bits)`);
  }
  if (blockAlign !== (channels * bitsPerSample) / 8) {
    throw new WavHeaderProblem(`inconsistent 'fmt ' chunk: block align ${blockAlign} bytes for ${channels} channel(s) of ${bitsPerSample} bits (expected ${(channels * bitsPerSample) / 8})`);
  }
  return { formatTag, channels, sampleRate, blockAlign, bitsPerSample };
}

/**
 * Read and validate the header of a RIFF/WAVE (or RF64) file of `fileSize` bytes.
 * Throws WavHeaderProblem with a user-facing description when the file cannot be decoded.
 */
export async function readWavLayout(fh: FileHandle, fileSize: number): Promise<WavLayout> {
  if (fileSize === 0) throw new WavHeaderProblem('empty file (0 bytes)');
  const head = await readAt(fh, 0, 12);
  const magic = fourcc(head, 0);
  if (head.length < 4 || (magic !== 'RIFF' && magic !== 'RF64')) {
    const hint = magic === 'RIFX' ? " ('RIFX' is big-endian RIFF, which is not supported)" : '';
    throw new WavHeaderProblem(`not a WAV file: expected 'RIFF' at byte 0, found ${describeMagic(head)}${hint}`);
  }
  if (head.length < 12) throw new WavHeaderProblem(`WAV header truncated: file is only ${fileSize} bytes`);
  if (fourcc(head, 8) !== 'WAVE') throw new WavHeaderProblem(`RIFF file is not WAVE audio (form type ${describeMagic(head.subarray(8))})`);

  let fmt: FmtInfo | undefined;
  let fmtChunk: Uint8Array | undefined;
  let rf64DataSize: number | undefined;
  let pos = 12;
  for (;;) {
    if (pos + 8 > fileSize) {
      if (!fmt) throw new WavHeaderProblem(pos === fileSize ? "no 'fmt ' chunk" : `WAV header truncated at byte ${fileSize} (inside a chunk header)`);
      throw new WavHeaderProblem(pos >= fileSize ? "no 'data' chunk" : `WAV header truncated at byte ${fileSize} (inside a chunk header, before the 'data' chunk)`);
    }
    const ch = await readAt(fh, pos, 8);
    if (!isChunkId(ch, 0)) throw new WavHeaderProblem(`corrupt WAV header: invalid chunk id ${describeMagic(ch)} at byte ${pos}`);
    const id = fourcc(ch, 0);
    const size = new DataView(ch.buffer).getUint32(4, true);
    const bodyStart = pos + 8;
    if (id === 'data') {
      if (!fmt || !fmtChunk) throw new WavHeaderProblem("'data' chunk comes before any 'fmt ' chunk");
      return dataLayout(fmt, fmtChunk, bodyStart, size === SIZE_UNKNOWN && rf64DataSize !== undefined ? rf64DataSize : size, fileSize);
    }
    if (id === 'fmt ' || id === 'ds64') {
      if (bodyStart + size > fileSize) throw new WavHeaderProblem(`WAV header truncated inside the '${id}' chunk (file is ${fileSize} bytes)`);
      const body = await readAt(fh, bodyStart, size);
      if (id === 'fmt ') {
        fmt = parseFmt(body);
        fmtChunk = new Uint8Array(8 + size);
        fmtChunk.set(ch, 0);
        fmtChunk.set(body, 8);
      } else if (size >= 16) {
        // RF64 keeps the real 64-bit data size here; the 'data' chunk then says 0xFFFFFFFF.
        rf64DataSize = Number(new DataView(body.buffer).getBigUint64(8, true));
      }
    }
    pos = bodyStart + size + (size & 1); // chunks are padded to even sizes
  }
}

function dataLayout(fmt: FmtInfo, fmtChunk: Uint8Array, dataOffset: number, declared: number, fileSize: number): WavLayout {
  const warnings: string[] = [];
  const available = Math.max(0, fileSize - dataOffset);
  const seconds = (bytes: number) => (Math.floor(bytes / fmt.blockAlign) / fmt.sampleRate).toFixed(3);
  let present = declared === SIZE_UNKNOWN ? available : Math.min(declared, available);
  if (declared !== SIZE_UNKNOWN && available < declared) {
    if (available < fmt.blockAlign) {
      throw new WavHeaderProblem(`no sample data: the header declares ${seconds(declared)} s of audio (${declared} bytes) but the file ends after the header`);
    }
    warnings.push(`truncated: the header declares ${seconds(declared)} s of audio but the file holds only ${seconds(available)} s; decoding what is present`);
  }
  present -= present % fmt.blockAlign;
  return {
    formatTag: fmt.formatTag,
    codec: codecName(fmt.formatTag, fmt.bitsPerSample),
    channels: fmt.channels,
    sampleRate: fmt.sampleRate,
    bitsPerSample: fmt.bitsPerSample,
    blockAlign: fmt.blockAlign,
    fmtChunk,
    dataOffset,
    frames: present / fmt.blockAlign,
    warnings,
  };
}

/**
 * A minimal canonical WAV header (RIFF + the original fmt chunk + a data chunk header), so the sample
 * decoder sees only the bytes we choose to feed it as audio. The data size is the "unknown length"
 * placeholder: the decoder then converts whatever it is given, and we decide how much that is.
 */
export function canonicalHeader(layout: WavLayout): Uint8Array {
  const fmtLen = layout.fmtChunk.length + (layout.fmtChunk.length & 1);
  const out = new Uint8Array(12 + fmtLen + 8);
  const dv = new DataView(out.buffer);
  out.set([0x52, 0x49, 0x46, 0x46], 0); // RIFF
  dv.setUint32(4, SIZE_UNKNOWN, true);
  out.set([0x57, 0x41, 0x56, 0x45], 8); // WAVE
  out.set(layout.fmtChunk, 12); // an odd-sized fmt chunk is followed by its pad byte (already 0)
  out.set([0x64, 0x61, 0x74, 0x61], 12 + fmtLen); // data
  dv.setUint32(12 + fmtLen + 4, SIZE_UNKNOWN, true);
  return out;
}

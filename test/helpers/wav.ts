/** Writes small WAV files for tests (16-bit PCM or 32-bit float, any channel count). */
import * as fs from 'node:fs';

export function wavBytes(channels: Float32Array[], sampleRate: number, encoding: 'pcm16' | 'float32' = 'pcm16'): Buffer {
  const nch = channels.length;
  const frames = channels[0].length;
  const bytesPer = encoding === 'pcm16' ? 2 : 4;
  const dataBytes = frames * nch * bytesPer;
  const buf = Buffer.alloc(44 + dataBytes);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + dataBytes, 4);
  buf.write('WAVE', 8, 'ascii');
  buf.write('fmt ', 12, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(encoding === 'pcm16' ? 1 : 3, 20);
  buf.writeUInt16LE(nch, 22);
  buf.writeUInt32LE(sampleRate, 24);
  buf.writeUInt32LE(sampleRate * nch * bytesPer, 28);
  buf.writeUInt16LE(nch * bytesPer, 32);
  buf.writeUInt16LE(bytesPer * 8, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(dataBytes, 40);
  let o = 44;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < nch; c++) {
      const v = channels[c][i];
      if (encoding === 'pcm16') buf.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v * 32768))), o);
      else buf.writeFloatLE(v, o);
      o += bytesPer;
    }
  }
  return buf;
}

export function writeWav(file: string, channels: Float32Array[], sampleRate: number, encoding: 'pcm16' | 'float32' = 'pcm16'): void {
  fs.writeFileSync(file, wavBytes(channels, sampleRate, encoding));
}

/** A sine of `seconds` at `hz`, amplitude `amp`. */
export function sine(hz: number, sampleRate: number, seconds: number, amp = 0.5): Float32Array {
  const n = Math.round(sampleRate * seconds);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * hz * i) / sampleRate);
  return x;
}

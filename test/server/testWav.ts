/** Writes a deterministic 16-bit mono WAV (a chirp plus pseudo-random noise) for tests that need long audio fast. */
import * as fs from 'node:fs';

export function writeTestWav(file: string, seconds: number, sampleRate = 16000): void {
  const n = Math.round(seconds * sampleRate);
  const buf = Buffer.alloc(44 + 2 * n);
  buf.write('RIFF', 0);
  buf.writeUInt32LE(36 + 2 * n, 4);
  buf.write('WAVEfmt ', 8);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(sampleRate, 24);
  buf.writeUInt32LE(2 * sampleRate, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36);
  buf.writeUInt32LE(2 * n, 40);
  let seed = 12345;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const t = i / sampleRate;
    const v = 0.3 * Math.sin(2 * Math.PI * (200 + 150 * t) * t) + 0.05 * (seed / 0x7fffffff - 0.5);
    buf.writeInt16LE(Math.round(v * 32767), 44 + 2 * i);
  }
  fs.writeFileSync(file, buf);
}

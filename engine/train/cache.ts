/**
 * On-disk cache of decoded audio, so later epochs and runs never decode again.
 *
 * What is cached: 16 kHz mono waveforms, not mels — the recipe's wave-mix mixes waveforms and its
 * fmin/fmax jitter changes the mel filterbank every batch, so training mels cannot be precomputed.
 * Mels of the fixed evaluation frontend (validation) are cached separately, keyed by the frontend
 * settings too. Keys are the sha256 of the audio file's bytes (+ settings), so renamed or copied files
 * hit and edited files miss. Entries are safetensors written atomically; waveforms are stored as I16
 * when every sample is exactly k/32768 or k/32767 (16-bit sources, depending on the decoder's
 * scaling: lossless, half the size), else F32.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readSafetensors, writeSafetensors } from '../io/safetensors';

export const WAVE_CACHE_VERSION = 'wave16k-v1';
export const MEL_CACHE_VERSION = 'mel-v1';

export function defaultCacheDir(): string {
  return process.env.SED_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'sed-studio', 'audio');
}

/** sha256 of a file, memoised per (path, size, mtime) within the process. */
const hashMemo = new Map<string, string>();
export function fileHash(file: string): string {
  const st = fs.statSync(file);
  const memoKey = `${path.resolve(file)}\0${st.size}\0${st.mtimeMs}`;
  const hit = hashMemo.get(memoKey);
  if (hit) return hit;
  const h = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  hashMemo.set(memoKey, h);
  return h;
}

function entryPath(dir: string, key: string): string {
  return path.join(dir, key.slice(0, 2), `${key}.safetensors`);
}

function keyOf(parts: string[]): string {
  return crypto.createHash('sha256').update(parts.join('\0')).digest('hex');
}

/** The samples as int16 with the scale that reproduces every float32 sample bit-exactly, or null. */
function toInt16IfExact(x: Float32Array): { data: Int16Array; scale: number } | null {
  for (const scale of [32768, 32767]) {
    const out = new Int16Array(x.length);
    let ok = true;
    for (let i = 0; i < x.length && ok; i++) {
      const q = Math.round(x[i] * scale);
      if (q < -32768 || q > 32767 || Math.fround(q / scale) !== x[i]) ok = false;
      out[i] = q;
    }
    if (ok) return { data: out, scale };
  }
  return null;
}

export class AudioCache {
  hits = 0;
  misses = 0;

  constructor(readonly dir: string = defaultCacheDir()) {}

  /** The 16 kHz mono waveform of `file`, decoding (with `decode`) only on a cache miss. */
  async waveform(file: string, decode: (file: string) => Promise<Float32Array>): Promise<Float32Array> {
    const key = keyOf([WAVE_CACHE_VERSION, fileHash(file)]);
    const p = entryPath(this.dir, key);
    if (fs.existsSync(p)) {
      try {
        const { tensors, metadata } = readSafetensors(p);
        const t = tensors.get('waveform');
        if (t) {
          this.hits++;
          if (t.data instanceof Int16Array) {
            const scale = Number(metadata.scale);
            const out = new Float32Array(t.data.length);
            for (let i = 0; i < out.length; i++) out[i] = t.data[i] / scale;
            return out;
          }
          if (t.data instanceof Float32Array) return t.data;
        }
      } catch {
        // A damaged entry is rebuilt below.
      }
    }
    this.misses++;
    const samples = await decode(file);
    const i16 = toInt16IfExact(samples);
    writeSafetensors(p, new Map([['waveform', { shape: [samples.length], data: i16?.data ?? samples }]]), { source: path.basename(file), version: WAVE_CACHE_VERSION, ...(i16 ? { scale: String(i16.scale) } : {}) });
    return samples;
  }

  /** A cached mel [128, T] for `file` under frontend `settings`, or compute and store it. */
  async mel(file: string, settings: Record<string, unknown>, compute: () => Promise<{ shape: number[]; data: Float32Array }>): Promise<{ shape: number[]; data: Float32Array }> {
    const key = keyOf([MEL_CACHE_VERSION, fileHash(file), JSON.stringify(settings)]);
    const p = entryPath(this.dir, key);
    if (fs.existsSync(p)) {
      try {
        const t = readSafetensors(p).tensors.get('mel');
        if (t && t.data instanceof Float32Array) {
          this.hits++;
          return { shape: t.shape, data: t.data };
        }
      } catch {
        // rebuilt below
      }
    }
    this.misses++;
    const mel = await compute();
    writeSafetensors(p, new Map([['mel', mel]]), { source: path.basename(file), version: MEL_CACHE_VERSION, settings: JSON.stringify(settings) });
    return mel;
  }
}

/** Bytes used by the cache folder. */
export function cacheSize(dir: string): number {
  let total = 0;
  if (!fs.existsSync(dir)) return 0;
  for (const sub of fs.readdirSync(dir)) {
    const d = path.join(dir, sub);
    if (!fs.statSync(d).isDirectory()) continue;
    for (const f of fs.readdirSync(d)) total += fs.statSync(path.join(d, f)).size;
  }
  return total;
}

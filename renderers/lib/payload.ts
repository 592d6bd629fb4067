/**
 * Reading output items: `+json` MIME types carry a JSON object; the binary forms carry a safetensors
 * blob whose `__metadata__.header` is the same JSON header and whose tensors hold the large arrays.
 * The small validators below raise PayloadErrors that name the MIME type and the offending field.
 */
import type { OutputItem } from 'vscode-notebook-renderer';
import { parseSafetensors, type HostTensor } from '../../engine/io/safetensorsFormat';
import { PayloadError } from './host';

export interface Payload {
  mime: string;
  header: Record<string, unknown>;
  tensors: Map<string, HostTensor>;
}

export function readPayload(item: OutputItem): Payload {
  const mime = item.mime;
  if (mime.endsWith('+json')) {
    let header: unknown;
    try {
      header = item.json();
    } catch (err) {
      throw new PayloadError(`${mime}: the output is not valid JSON (${(err as Error).message})`);
    }
    if (!header || typeof header !== 'object' || Array.isArray(header)) throw new PayloadError(`${mime}: expected a JSON object, got ${header === null ? 'null' : Array.isArray(header) ? 'an array' : typeof header}`);
    return { mime, header: header as Record<string, unknown>, tensors: new Map() };
  }
  let file;
  try {
    file = parseSafetensors(item.data(), mime);
  } catch (err) {
    throw new PayloadError(`${(err as Error).message} (the binary form must be a safetensors blob; see renderers/README.md)`);
  }
  const raw = file.metadata.header;
  if (typeof raw !== 'string') throw new PayloadError(`${mime}: safetensors metadata has no "header" entry (a JSON string)`);
  let header: unknown;
  try {
    header = JSON.parse(raw);
  } catch {
    throw new PayloadError(`${mime}: safetensors metadata "header" is not valid JSON`);
  }
  if (!header || typeof header !== 'object') throw new PayloadError(`${mime}: safetensors metadata "header" must be a JSON object`);
  return { mime, header: header as Record<string, unknown>, tensors: file.tensors };
}

/** Field readers: `where` is the MIME type (and path) used in error messages. */
export class Fields {
  constructor(readonly where: string, readonly obj: Record<string, unknown>) {}

  private fail(key: string, want: string, got: unknown): never {
    const desc = got === undefined ? 'missing' : `got ${Array.isArray(got) ? 'an array' : got === null ? 'null' : typeof got === 'string' ? JSON.stringify(got.slice(0, 40)) : typeof got}`;
    throw new PayloadError(`${this.where}: field "${key}" must be ${want} (${desc})`);
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  num(key: string, dflt?: number, check?: (v: number) => boolean, want = 'a finite number'): number {
    const v = this.obj[key];
    if ((v === undefined || v === null) && dflt !== undefined) return dflt;
    if (typeof v !== 'number' || !isFinite(v) || (check && !check(v))) this.fail(key, want, v);
    return v;
  }

  str(key: string, dflt?: string): string {
    const v = this.obj[key];
    if ((v === undefined || v === null) && dflt !== undefined) return dflt;
    if (typeof v !== 'string') this.fail(key, 'a string', v);
    return v;
  }

  oneOf<T extends string>(key: string, choices: readonly T[], dflt?: T): T {
    const v = this.str(key, dflt);
    if (!choices.includes(v as T)) throw new PayloadError(`${this.where}: field "${key}" is '${v}' (valid: ${choices.join(', ')})`);
    return v as T;
  }

  strings(key: string, dflt?: string[]): string[] {
    const v = this.obj[key];
    if ((v === undefined || v === null) && dflt !== undefined) return dflt;
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) this.fail(key, 'an array of strings', v);
    return v as string[];
  }

  numbers(key: string, dflt?: number[]): number[] {
    const v = this.obj[key];
    if ((v === undefined || v === null) && dflt !== undefined) return dflt;
    if (!Array.isArray(v)) this.fail(key, 'an array of numbers', v);
    const bad = (v as unknown[]).findIndex((x) => typeof x !== 'number' || !isFinite(x));
    if (bad >= 0) throw new PayloadError(`${this.where}: field "${key}"[${bad}] must be a finite number (got ${JSON.stringify((v as unknown[])[bad])})`);
    return v as number[];
  }

  /** A rows × cols matrix given as an array of equal-length number arrays. */
  matrix(key: string): { data: Float32Array; rows: number; cols: number } {
    const v = this.obj[key];
    if (!Array.isArray(v) || v.length === 0 || !Array.isArray(v[0])) this.fail(key, 'a non-empty array of number arrays', v);
    const rows = v.length;
    const cols = (v[0] as unknown[]).length;
    const data = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const row = v[r] as unknown[];
      if (!Array.isArray(row) || row.length !== cols) throw new PayloadError(`${this.where}: field "${key}"[${r}] must have ${cols} numbers like row 0 (got ${Array.isArray(row) ? row.length : typeof row})`);
      for (let c = 0; c < cols; c++) {
        const x = row[c];
        if (typeof x !== 'number' || !isFinite(x)) throw new PayloadError(`${this.where}: field "${key}"[${r}][${c}] must be a finite number (got ${JSON.stringify(x)})`);
        data[r * cols + c] = x;
      }
    }
    return { data, rows, cols };
  }

  obj_(key: string): Fields | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(key, 'an object', v);
    return new Fields(`${this.where} ${key}`, v as Record<string, unknown>);
  }

  list(key: string, dflt?: unknown[]): unknown[] {
    const v = this.obj[key];
    if ((v === undefined || v === null) && dflt !== undefined) return dflt;
    if (!Array.isArray(v)) this.fail(key, 'an array', v);
    return v as unknown[];
  }
}

/** A 2-D tensor of the binary payload as uint8 levels or float values. */
export function tensor2d(p: Payload, name: string, rows?: number): { t: HostTensor; rows: number; cols: number } {
  const t = p.tensors.get(name);
  if (!t) throw new PayloadError(`${p.mime}: tensor "${name}" is missing (tensors: ${[...p.tensors.keys()].join(', ') || 'none'})`);
  if (t.shape.length !== 2) throw new PayloadError(`${p.mime}: tensor "${name}" must be 2-D [rows, time] (shape [${t.shape}])`);
  if (t.dtype !== 'U8' && t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') throw new PayloadError(`${p.mime}: tensor "${name}" must be U8 or F32 (got ${t.dtype})`);
  if (rows !== undefined && t.shape[0] !== rows) throw new PayloadError(`${p.mime}: tensor "${name}" has ${t.shape[0]} rows, the header describes ${rows}`);
  return { t, rows: t.shape[0], cols: t.shape[1] };
}

/** Quantise floats linearly from [lo, hi] to 0–255 (NaN → 0). */
export function quantise(data: Float32Array, lo: number, hi: number): Uint8Array {
  const out = new Uint8Array(data.length);
  const k = hi > lo ? 255 / (hi - lo) : 0;
  for (let i = 0; i < data.length; i++) {
    const v = (data[i] - lo) * k;
    out[i] = v > 255 ? 255 : v > 0 ? Math.round(v) : 0;
  }
  return out;
}

export function minMax(data: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** Decode base64 (standard alphabet) to bytes. */
export function base64Bytes(s: string): Uint8Array {
  const bin = atob(s.replace(/\s+/g, ''));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

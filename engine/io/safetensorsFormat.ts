/**
 * safetensors format (https://github.com/huggingface/safetensors): u64 little-endian header length N,
 * N bytes of JSON header, then raw little-endian C-order data. Parsing and serialising only, with no
 * Node imports, so the notebook renderers (browser bundles) share this code with the engine; file IO
 * lives in safetensors.ts. Tensors come back as typed arrays that share the buffer (no copies);
 * F16/BF16 are widened to F32.
 */
export type SafetensorsDtype = 'F32' | 'F64' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export interface HostTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  /** F32/F16/BF16 → Float32Array; F64 → Float64Array; I64 → BigInt64Array; I32 → Int32Array; … */
  data: Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;
}

export interface SafetensorsFile {
  tensors: Map<string, HostTensor>;
  metadata: Record<string, string>;
}

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F64: 8, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** IEEE 754 half-precision bits → number (also used for PyTorch float16 storages). */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

function decodeTensor(bytes: Uint8Array, dtype: SafetensorsDtype): HostTensor['data'] {
  // Copy into an aligned buffer when the slice is misaligned for its element size.
  const size = BYTES[dtype];
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const { buffer, byteOffset, byteLength } = aligned;
  switch (dtype) {
    case 'F32': return new Float32Array(buffer, byteOffset, byteLength / 4);
    case 'F64': return new Float64Array(buffer, byteOffset, byteLength / 8);
    case 'I64': return new BigInt64Array(buffer, byteOffset, byteLength / 8);
    case 'I32': return new Int32Array(buffer, byteOffset, byteLength / 4);
    case 'I16': return new Int16Array(buffer, byteOffset, byteLength / 2);
    case 'I8': return new Int8Array(buffer, byteOffset, byteLength);
    case 'U8': case 'BOOL': return new Uint8Array(buffer, byteOffset, byteLength);
    case 'F16': case 'BF16': {
      const src = new Uint16Array(buffer, byteOffset, byteLength / 2);
      const out = new Float32Array(src.length);
      const u32 = new Uint32Array(out.buffer);
      for (let i = 0; i < src.length; i++) {
        if (dtype === 'BF16') u32[i] = src[i] << 16;
        else out[i] = halfToFloat(src[i]);
      }
      return out;
    }
  }
}

/** Parse a safetensors buffer. `label` names the file in error messages. */
export function parseSafetensors(buf: Uint8Array, label = 'safetensors data'): SafetensorsFile {
  if (buf.byteLength < 8) throw new Error(`${label}: not a safetensors file (only ${buf.byteLength} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen <= 0 || 8 + headerLen > buf.byteLength) throw new Error(`${label}: corrupt safetensors header length ${headerLen}`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + headerLen)));
  } catch {
    throw new Error(`${label}: safetensors header is not valid JSON`);
  }
  const dataStart = 8 + headerLen;
  const tensors = new Map<string, HostTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = (entry ?? {}) as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = entry as { dtype: SafetensorsDtype; shape: number[]; data_offsets: [number, number] };
    if (!(dtype in BYTES)) throw new Error(`${label}: tensor '${name}' has unsupported dtype ${dtype}`);
    const count = shape.reduce((a, b) => a * b, 1);
    const [begin, end] = offsets;
    if (end - begin !== count * BYTES[dtype] || dataStart + end > buf.byteLength) {
      throw new Error(`${label}: tensor '${name}' (${dtype} [${shape}]) has inconsistent data offsets [${begin}, ${end}] (file truncated?)`);
    }
    tensors.set(name, { dtype, shape, data: decodeTensor(buf.subarray(dataStart + begin, dataStart + end), dtype) });
  }
  return { tensors, metadata };
}

function dtypeOf(data: HostTensor['data']): SafetensorsDtype {
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof Float64Array) return 'F64';
  if (data instanceof BigInt64Array) return 'I64';
  if (data instanceof Int32Array) return 'I32';
  if (data instanceof Int16Array) return 'I16';
  if (data instanceof Int8Array) return 'I8';
  return 'U8';
}

/** Serialise tensors (in insertion order) with string metadata. */
export function serializeSafetensors(tensors: Map<string, { shape: number[]; data: HostTensor['data'] }>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = t.data.byteLength;
    header[name] = { dtype: dtypeOf(t.data), shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = JSON.stringify(header);
  let headerBytes = new TextEncoder().encode(json);
  const pad = (8 - ((8 + headerBytes.length) % 8)) % 8; // keep the data 8-byte aligned
  if (pad) headerBytes = new TextEncoder().encode(json + ' '.repeat(pad));
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}


/**
 * Reads a `torch.save` zip archive (PyTorch ≥ 1.6 format) into host tensors without Python:
 * `<root>/data.pkl` (the object graph, read by the restricted unpickler) + `<root>/data/<key>` (raw
 * storages) + optional `<root>/byteorder`. Strided views are gathered into contiguous C-order arrays;
 * floating tensors (f16, bf16, f32, f64) come back as F32, integers keep their width.
 */
import { halfToFloat } from '../io/safetensorsFormat';
import * as fs from 'node:fs';
import { unzipSync } from 'fflate';
import type { HostTensor } from '../io/safetensors';
import { PyTuple, unpickle, type PickleKey, type PickleValue, type TensorRef, type TorchDtype } from './torchPickle';

const ELEMENT_BYTES: Record<TorchDtype, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

/** A state dict read from a `.pt`, with each tensor's original dtype (for reporting). */
export interface TorchStateDict {
  tensors: Map<string, HostTensor>;
  sourceDtypes: Map<string, TorchDtype>;
}

/** Decodes a whole storage into a typed array (little-endian, aligned copy). */
function decodeStorage(raw: Uint8Array, dtype: TorchDtype, bigEndian: boolean): HostTensor['data'] {
  const size = ELEMENT_BYTES[dtype];
  const bytes = raw.slice(); // own, aligned buffer
  if (bigEndian && size > 1) {
    for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
  }
  const buf = bytes.buffer;
  switch (dtype) {
    case 'float32': return new Float32Array(buf);
    case 'float64': return Float32Array.from(new Float64Array(buf));
    case 'float16': {
      const src = new Uint16Array(buf);
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = halfToFloat(src[i]);
      return out;
    }
    case 'bfloat16': {
      const src = new Uint16Array(buf);
      const out = new Float32Array(src.length);
      const u32 = new Uint32Array(out.buffer);
      for (let i = 0; i < src.length; i++) u32[i] = src[i] << 16;
      return out;
    }
    case 'int64': return new BigInt64Array(buf);
    case 'int32': return new Int32Array(buf);
    case 'int16': return new Int16Array(buf);
    case 'int8': return new Int8Array(buf);
    case 'uint8': case 'bool': return new Uint8Array(buf);
  }
}

function hostDtype(dtype: TorchDtype): HostTensor['dtype'] {
  switch (dtype) {
    case 'float32': case 'float64': case 'float16': case 'bfloat16': return 'F32';
    case 'int64': return 'I64';
    case 'int32': return 'I32';
    case 'int16': return 'I16';
    case 'int8': return 'I8';
    case 'uint8': case 'bool': return 'U8';
  }
}

/** Copies the strided view `ref` of `storage` into a new contiguous array of the same type. */
function gather(storage: HostTensor['data'], ref: TensorRef, name: string, label: string): HostTensor['data'] {
  const { shape, stride, offset } = ref;
  if (shape.length !== stride.length) throw new Error(`${label}: tensor '${name}' has ${shape.length} sizes but ${stride.length} strides`);
  const count = shape.reduce((a, b) => a * b, 1);
  // Every element index the view touches (offset + Σ i_d·stride_d) must lie inside the storage.
  const last = offset + shape.reduce((acc, s, i) => acc + (s - 1) * stride[i], 0);
  if (offset < 0 || stride.some((s) => s < 0) || (count > 0 && last >= storage.length)) {
    throw new Error(`${label}: tensor '${name}' [${shape}] (offset ${offset}, stride [${stride}]) reaches past its storage of ${storage.length} elements`);
  }
  // A view never has more elements than its storage unless it repeats elements (stride 0); such views
  // could claim any size over a tiny storage, so they are capped instead of allocated blindly.
  if (count > storage.length && count > 2 ** 24) {
    throw new Error(`${label}: tensor '${name}' [${shape}] repeats its ${storage.length}-element storage into ${count} elements (refused)`);
  }
  const Ctor = storage.constructor as new (n: number) => HostTensor['data'];
  const out = new Ctor(count);
  let contiguous = true;
  for (let i = shape.length - 1, expect = 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expect) contiguous = false;
    expect *= shape[i];
  }
  if (contiguous) {
    (out as Float32Array).set((storage as Float32Array).subarray(offset, offset + count));
    return out;
  }
  const idx = new Array<number>(shape.length).fill(0);
  let src = offset;
  for (let o = 0; o < count; o++) {
    (out as Float32Array)[o] = (storage as Float32Array)[src];
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d]++;
      src += stride[d];
      if (idx[d] < shape[d]) break;
      src -= stride[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

function isTensor(v: PickleValue | undefined): v is TensorRef {
  return typeof v === 'object' && v !== null && (v as TensorRef).kind === 'tensor';
}

/**
 * The name → tensor mapping inside the unpickled object: a plain (Ordered)dict of tensors, or such a
 * dict under a `state_dict` / `model` / `net` key (Lightning-style wrappers keep it there).
 */
function findStateDict(root: PickleValue, label: string): Map<PickleKey, PickleValue> {
  if (root instanceof Map) {
    const values = [...root.values()];
    if (values.length && values.some(isTensor)) return root;
    for (const key of ['state_dict', 'model', 'net']) {
      const inner = root.get(key);
      if (inner instanceof Map && [...inner.values()].some(isTensor)) return inner;
    }
  }
  const what = root instanceof Map ? `a dict with keys ${[...root.keys()].slice(0, 8).join(', ')}` : root instanceof PyTuple ? 'a tuple' : typeof root;
  throw new Error(`${label}: no tensor state dict found (the pickle holds ${what})`);
}

/** Reads every tensor of a `torch.save` zip checkpoint. Errors name `file`. */
export function readTorchStateDict(file: string): TorchStateDict {
  let buf: Uint8Array;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    throw new Error(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseTorchStateDict(buf, file);
}

/** Same as `readTorchStateDict` on bytes already in memory; `label` names the source in errors. */
export function parseTorchStateDict(buf: Uint8Array, label: string): TorchStateDict {
  if (buf.length < 4 || buf[0] !== 0x50 || buf[1] !== 0x4b) {
    const legacy = buf[0] === 0x80; // a bare pickle: torch.save before 1.6 (or _use_new_zipfile_serialization=False)
    throw new Error(
      legacy
        ? `${label}: legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with torch.save(state_dict, path) in PyTorch ≥ 1.6`
        : `${label}: not a PyTorch checkpoint (expected a torch.save zip archive)`,
    );
  }
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(buf);
  } catch (err) {
    throw new Error(`${label}: corrupt zip archive (${(err as Error).message}); the download may be incomplete`);
  }
  const pkl = Object.keys(files).filter((n) => n === 'data.pkl' || n.endsWith('/data.pkl')).sort((a, b) => a.length - b.length)[0];
  if (!pkl) throw new Error(`${label}: zip archive has no data.pkl (not a torch.save checkpoint)`);
  const root = pkl.slice(0, -'data.pkl'.length);
  const byteorder = files[`${root}byteorder`] ? new TextDecoder().decode(files[`${root}byteorder`]).trim() : 'little';
  if (byteorder !== 'little' && byteorder !== 'big') throw new Error(`${label}: unknown byteorder '${byteorder}'`);

  const dict = findStateDict(unpickle(files[pkl], label), label);
  const storages = new Map<string, HostTensor['data']>();
  const tensors = new Map<string, HostTensor>();
  const sourceDtypes = new Map<string, TorchDtype>();
  for (const [key, value] of dict) {
    const name = String(key);
    if (!isTensor(value)) throw new Error(`${label}: entry '${name}' of the state dict is not a tensor`);
    const { storage } = value;
    let data = storages.get(storage.key);
    if (!data) {
      const raw = files[`${root}data/${storage.key}`];
      if (!raw) throw new Error(`${label}: storage '${storage.key}' of tensor '${name}' is missing from the archive`);
      const needBytes = storage.numel * ELEMENT_BYTES[storage.dtype];
      if (raw.length < needBytes) {
        throw new Error(`${label}: storage '${storage.key}' of tensor '${name}' has ${raw.length} bytes, expected ${needBytes} (truncated archive?)`);
      }
      data = decodeStorage(raw.subarray(0, needBytes), storage.dtype, byteorder === 'big');
      storages.set(storage.key, data);
    }
    tensors.set(name, { dtype: hostDtype(storage.dtype), shape: value.shape, data: gather(data, value, name, label) });
    sourceDtypes.set(name, storage.dtype);
  }
  return { tensors, sourceDtypes };
}

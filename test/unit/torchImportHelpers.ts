/**
 * Test helpers: a tiny pickle writer (protocol 2 opcodes) and a torch.save-style zip builder, to craft
 * checkpoints with chosen dtypes/strides/offsets and malicious pickles without Python or torch.
 */
import { zipSync } from 'fflate';

export class PickleWriter {
  private parts: number[] = [];

  private bytes(...b: number[]): this {
    this.parts.push(...b);
    return this;
  }
  private u32(n: number): number[] {
    return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
  }
  proto(v = 2): this { return this.bytes(0x80, v); }
  mark(): this { return this.bytes(0x28); }
  stop(): this { return this.bytes(0x2e); }
  emptyDict(): this { return this.bytes(0x7d); }
  emptyTuple(): this { return this.bytes(0x29); }
  tuple(): this { return this.bytes(0x74); }
  tuple1(): this { return this.bytes(0x85); }
  setitems(): this { return this.bytes(0x75); }
  setitem(): this { return this.bytes(0x73); }
  reduce(): this { return this.bytes(0x52); }
  build(): this { return this.bytes(0x62); }
  newFalse(): this { return this.bytes(0x89); }
  binpersid(): this { return this.bytes(0x51); }
  int(n: number): this { return this.bytes(0x4a, ...this.u32(n)); }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.bytes(0x58, ...this.u32(b.length), ...b);
  }
  global(module: string, name: string): this {
    return this.bytes(0x63, ...Buffer.from(`${module}\n${name}\n`, 'utf8'));
  }
  stackGlobal(module: string, name: string): this {
    return this.str(module).str(name).bytes(0x93);
  }
  inst(module: string, name: string): this {
    return this.bytes(0x69, ...Buffer.from(`${module}\n${name}\n`, 'utf8'));
  }
  ints(values: number[]): this {
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export interface FakeTensor {
  name: string;
  /** torch storage class name, e.g. FloatStorage. */
  storageType: string;
  storageKey: string;
  storageNumel: number;
  offset: number;
  shape: number[];
  stride: number[];
}

/** data.pkl for `{name: tensor}` exactly as torch.save writes a state dict (OrderedDict hooks included). */
export function stateDictPickle(tensors: FakeTensor[]): Uint8Array {
  const w = new PickleWriter().proto().emptyDict().mark();
  for (const t of tensors) {
    w.str(t.name).global('torch._utils', '_rebuild_tensor_v2').mark();
    w.mark().str('storage').global('torch', t.storageType).str(t.storageKey).str('cpu').int(t.storageNumel).tuple().binpersid();
    w.int(t.offset).ints(t.shape).ints(t.stride).newFalse().global('collections', 'OrderedDict').emptyTuple().reduce();
    w.tuple().reduce();
  }
  return w.setitems().stop().done();
}

/** A torch.save zip: `<root>/data.pkl`, `<root>/data/<key>`, `<root>/version` (stored, uncompressed). */
export function torchZip(pickle: Uint8Array, storages: Record<string, Uint8Array>, root = 'archive', extra: Record<string, Uint8Array> = {}): Uint8Array {
  const files: Record<string, Uint8Array> = { [`${root}/data.pkl`]: pickle, [`${root}/version`]: Buffer.from('3\n') };
  for (const [k, v] of Object.entries(storages)) files[`${root}/data/${k}`] = v;
  for (const [k, v] of Object.entries(extra)) files[`${root}/${k}`] = v;
  return zipSync(files, { level: 0 });
}

export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * A torch.save zip of a state dict, one storage per tensor (F32 → FloatStorage, I64 → LongStorage),
 * except that keys mapped to the same `shareWith` key reuse its storage, as torch does for tensors that
 * are one object (TCN's `conv1.*` ≡ `net.0.*`).
 */
export function torchZipFromStateDict(
  tensors: Map<string, { shape: number[]; data: ArrayBufferView & { length: number } }>,
  shareWith: (key: string) => string | undefined = () => undefined,
): Uint8Array {
  const fakes: FakeTensor[] = [];
  const storages: Record<string, Uint8Array> = {};
  const keyOf = new Map<string, string>();
  for (const [name, t] of tensors) {
    const twin = shareWith(name);
    let storageKey = twin !== undefined ? keyOf.get(twin) : undefined;
    if (storageKey === undefined) {
      storageKey = String(Object.keys(storages).length);
      storages[storageKey] = bytesOf(t.data);
    }
    keyOf.set(name, storageKey);
    const stride = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
    const storageType = t.data instanceof BigInt64Array ? 'LongStorage' : 'FloatStorage';
    fakes.push({ name, storageType, storageKey, storageNumel: t.data.length, offset: 0, shape: t.shape, stride });
  }
  return torchZip(stateDictPickle(fakes), storages, 'checkpoint');
}

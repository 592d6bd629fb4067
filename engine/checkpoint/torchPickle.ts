/**
 * A restricted unpickler for the `data.pkl` of a `torch.save` zip archive.
 *
 * Python's pickle is a small stack machine whose GLOBAL/REDUCE opcodes can call any importable
 * function, so loading an untrusted `.pt` with a real unpickler runs arbitrary code. This one never
 * calls anything from the file: it interprets the data opcodes itself, and the only callables a
 * pickle may name are the few a tensor state dict needs (listed in `ALLOWED_GLOBALS`), each of which
 * is implemented here as a pure data constructor. Any other global, class instantiation or extension
 * opcode is an error naming the file and the global.
 */

/** Tensor element types a torch storage can hold (named after `torch.<X>Storage`). */
export type TorchDtype = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export const STORAGE_TYPES: Record<string, TorchDtype> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

/** A storage reference from the pickle's persistent id: the bytes live in `<archive>/data/<key>`. */
export interface StorageRef {
  kind: 'storage';
  dtype: TorchDtype;
  key: string;
  location: string;
  /** Number of elements in the storage. */
  numel: number;
}

/** A strided view into a storage, as `torch._utils._rebuild_tensor_v2` describes it. */
export interface TensorRef {
  kind: 'tensor';
  storage: StorageRef;
  offset: number;
  shape: number[];
  stride: number[];
}

/** A Python tuple (kept distinct from lists so argument tuples are recognisable). */
export class PyTuple {
  constructor(readonly items: PickleValue[]) {}
}

/** One of the allowed globals; `call` builds data, it never runs anything from the file. */
export class PyGlobal {
  constructor(
    readonly qualname: string,
    readonly call: (args: PickleValue[], label: string) => PickleValue,
  ) {}
}

export type PickleKey = string | number | boolean | null | bigint;
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | PyTuple
  | Map<PickleKey, PickleValue>
  | StorageRef
  | TensorRef
  | PyGlobal;

const MARK = Symbol('mark');
type StackItem = PickleValue | typeof MARK;

function isStorage(v: PickleValue): v is StorageRef {
  return typeof v === 'object' && v !== null && (v as StorageRef).kind === 'storage';
}

function intList(v: PickleValue, what: string, label: string): number[] {
  if (!(v instanceof PyTuple) && !Array.isArray(v)) throw new Error(`${label}: ${what} must be a tuple of integers`);
  const items = v instanceof PyTuple ? v.items : v;
  return items.map((x) => {
    if (typeof x === 'number' && Number.isInteger(x)) return x;
    if (typeof x === 'bigint') return Number(x);
    throw new Error(`${label}: ${what} must be a tuple of integers`);
  });
}

function rebuildTensor(args: PickleValue[], label: string): TensorRef {
  const [storage, offset, size, stride] = args;
  if (!isStorage(storage)) throw new Error(`${label}: _rebuild_tensor_v2 expects a storage as its first argument`);
  if (typeof offset !== 'number') throw new Error(`${label}: _rebuild_tensor_v2 expects an integer storage offset`);
  return { kind: 'tensor', storage, offset, shape: intList(size, 'tensor size', label), stride: intList(stride, 'tensor stride', label) };
}

function orderedDict(args: PickleValue[], label: string): Map<PickleKey, PickleValue> {
  const out = new Map<PickleKey, PickleValue>();
  const [items] = args;
  if (items === undefined) return out;
  if (!Array.isArray(items)) throw new Error(`${label}: OrderedDict expects a list of (key, value) pairs`);
  for (const pair of items) {
    if (!(pair instanceof PyTuple) || pair.items.length !== 2) throw new Error(`${label}: OrderedDict expects a list of (key, value) pairs`);
    out.set(pair.items[0] as PickleKey, pair.items[1]);
  }
  return out;
}

/** Parameters unpickle to their data tensor: `requires_grad` and hooks do not matter for inference. */
function rebuildParameter(args: PickleValue[], label: string): PickleValue {
  const data = args[0];
  if (typeof data !== 'object' || data === null || (data as TensorRef).kind !== 'tensor') {
    throw new Error(`${label}: _rebuild_parameter expects a tensor`);
  }
  return data;
}

function storageType(name: string): PyGlobal {
  return new PyGlobal(`torch.${name}`, (_args, label) => {
    throw new Error(`${label}: torch.${name} may only appear inside a storage reference, not be called`);
  });
}

/** The complete list of globals a state-dict pickle may reference. */
export const ALLOWED_GLOBALS: ReadonlyMap<string, PyGlobal> = new Map<string, PyGlobal>([
  ['collections.OrderedDict', new PyGlobal('collections.OrderedDict', orderedDict)],
  ['torch._utils._rebuild_tensor_v2', new PyGlobal('torch._utils._rebuild_tensor_v2', rebuildTensor)],
  ['torch._utils._rebuild_tensor', new PyGlobal('torch._utils._rebuild_tensor', rebuildTensor)],
  ['torch._utils._rebuild_parameter', new PyGlobal('torch._utils._rebuild_parameter', rebuildParameter)],
  ['torch._utils._rebuild_parameter_with_state', new PyGlobal('torch._utils._rebuild_parameter_with_state', rebuildParameter)],
  ...Object.keys(STORAGE_TYPES).map((n): [string, PyGlobal] => [`torch.${n}`, storageType(n)]),
]);

function resolveGlobal(module: string, name: string, label: string): PyGlobal {
  const qualname = `${module}.${name}`;
  const g = ALLOWED_GLOBALS.get(qualname);
  if (!g) {
    throw new Error(
      `${label}: refusing to load: the pickle references the Python global '${qualname}', which a tensor state dict never needs ` +
        `(it could run code). Allowed globals: ${[...ALLOWED_GLOBALS.keys()].join(', ')}.`,
    );
  }
  return g;
}

/** Turns a persistent id `('storage', storage_type, key, location, numel)` into a StorageRef. */
function persistentLoad(pid: PickleValue, label: string): StorageRef {
  const items = pid instanceof PyTuple ? pid.items : null;
  if (!items || items[0] !== 'storage' || items.length < 5) {
    throw new Error(`${label}: unsupported persistent id in pickle (expected a ('storage', …) tuple)`);
  }
  const [, type, key, location, numel] = items;
  const typeName = type instanceof PyGlobal ? type.qualname.replace(/^torch\./, '') : '';
  const dtype = STORAGE_TYPES[typeName];
  if (!dtype) throw new Error(`${label}: unsupported storage type '${type instanceof PyGlobal ? type.qualname : String(type)}'`);
  if (typeof key !== 'string' || typeof numel !== 'number') throw new Error(`${label}: malformed storage reference`);
  return { kind: 'storage', dtype, key, location: String(location), numel };
}

const decoder = new TextDecoder('utf-8');

/**
 * Interpret a pickle (protocols 2–5, binary opcodes plus the few text ones torch may emit).
 * `label` names the file in errors. Returns the top-level object.
 */
export function unpickle(data: Uint8Array, label: string): PickleValue {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const stack: StackItem[] = [];
  const memo = new Map<number, PickleValue>();
  let pos = 0;

  const need = (n: number): void => {
    if (pos + n > data.length) throw new Error(`${label}: pickle truncated at byte ${pos}`);
  };
  const u8 = (): number => (need(1), data[pos++]);
  const u16 = (): number => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = (): number => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const i32 = (): number => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const u64 = (): number => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${label}: pickle length field too large`);
    return Number(v);
  };
  const bytes = (n: number): Uint8Array => {
    need(n);
    pos += n;
    return data.subarray(pos - n, pos);
  };
  const line = (): string => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) throw new Error(`${label}: pickle truncated at byte ${pos}`);
    const s = decoder.decode(data.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): PickleValue => {
    const v = stack.pop();
    if (v === undefined || v === MARK) throw new Error(`${label}: malformed pickle (stack underflow at byte ${pos})`);
    return v;
  };
  const top = (): PickleValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) throw new Error(`${label}: malformed pickle (empty stack at byte ${pos})`);
    return v;
  };
  const popMark = (): PickleValue[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) throw new Error(`${label}: malformed pickle (missing MARK at byte ${pos})`);
    const items = stack.splice(i) as PickleValue[];
    items.shift();
    return items;
  };
  const getMemo = (i: number): PickleValue => {
    if (!memo.has(i)) throw new Error(`${label}: malformed pickle (memo ${i} unset)`);
    return memo.get(i) as PickleValue;
  };
  const setItems = (dict: PickleValue, kv: PickleValue[]): void => {
    if (!(dict instanceof Map)) throw new Error(`${label}: malformed pickle (SETITEM on a non-dict)`);
    for (let i = 0; i + 1 < kv.length; i += 2) dict.set(kv[i] as PickleKey, kv[i + 1]);
  };
  const appendItems = (list: PickleValue, items: PickleValue[]): void => {
    if (!Array.isArray(list)) throw new Error(`${label}: malformed pickle (APPEND on a non-list)`);
    list.push(...items);
  };
  const callGlobal = (fn: PickleValue, args: PickleValue, opname: string): PickleValue => {
    if (!(fn instanceof PyGlobal)) throw new Error(`${label}: refusing to load: ${opname} on a non-callable object`);
    if (!(args instanceof PyTuple)) throw new Error(`${label}: malformed pickle (${opname} arguments are not a tuple)`);
    return fn.call(args.items, label);
  };
  const longFromBytes = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: u64(); break; // FRAME (framing is only a read-ahead hint)
      case 0x2e: { // STOP
        const result = pop();
        return result;
      }
      case 0x28: stack.push(MARK); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(longFromBytes(bytes(u8()))); break; // LONG1
      case 0x8b: stack.push(longFromBytes(bytes(u32()))); break; // LONG4
      case 0x49: { // INT (text); "00"/"01" are the protocol-0 booleans
        const s = line();
        stack.push(s === '00' ? false : s === '01' ? true : Number.parseInt(s, 10));
        break;
      }
      case 0x4c: { // LONG (text)
        const v = BigInt(line().replace(/L$/, ''));
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: need(8); stack.push(view.getFloat64(pos, false)); pos += 8; break; // BINFLOAT (big-endian)
      case 0x46: stack.push(Number.parseFloat(line())); break; // FLOAT (text)
      case 0x58: stack.push(decoder.decode(bytes(u32()))); break; // BINUNICODE
      case 0x8c: stack.push(decoder.decode(bytes(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(decoder.decode(bytes(u64()))); break; // BINUNICODE8
      case 0x54: stack.push(decoder.decode(bytes(i32()))); break; // BINSTRING (Python 2 str)
      case 0x55: stack.push(decoder.decode(bytes(u8()))); break; // SHORT_BINSTRING
      case 0x42: stack.push(bytes(u32()).slice()); break; // BINBYTES
      case 0x43: stack.push(bytes(u8()).slice()); break; // SHORT_BINBYTES
      case 0x8e: stack.push(bytes(u64()).slice()); break; // BINBYTES8
      case 0x96: stack.push(bytes(u64()).slice()); break; // BYTEARRAY8
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push(new PyTuple([])); break; // EMPTY_TUPLE
      case 0x74: stack.push(new PyTuple(popMark())); break; // TUPLE
      case 0x85: stack.push(new PyTuple([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push(new PyTuple([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push(new PyTuple([a, b, c])); break; } // TUPLE3
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x64: { const d = new Map<PickleKey, PickleValue>(); setItems(d, popMark()); stack.push(d); break; } // DICT
      case 0x61: { const v = pop(); appendItems(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); appendItems(top(), items); break; } // APPENDS
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const kv = popMark(); setItems(top(), kv); break; } // SETITEMS
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x70: memo.set(Number.parseInt(line(), 10), top()); break; // PUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: stack.push(getMemo(u8())); break; // BINGET
      case 0x6a: stack.push(getMemo(u32())); break; // LONG_BINGET
      case 0x67: stack.push(getMemo(Number.parseInt(line(), 10))); break; // GET
      case 0x63: { // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        stack.push(resolveGlobal(module, name, label));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw new Error(`${label}: malformed pickle (STACK_GLOBAL operands)`);
        stack.push(resolveGlobal(module, name, label));
        break;
      }
      case 0x52: { const args = pop(); const fn = pop(); stack.push(callGlobal(fn, args, 'REDUCE')); break; } // REDUCE
      case 0x81: { const args = pop(); const cls = pop(); stack.push(callGlobal(cls, args, 'NEWOBJ')); break; } // NEWOBJ
      case 0x92: { // NEWOBJ_EX: cls, args, kwargs — only allowed without keyword arguments
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        if (!(kwargs instanceof Map) || kwargs.size) throw new Error(`${label}: refusing to load: NEWOBJ_EX with keyword arguments`);
        stack.push(callGlobal(cls, args, 'NEWOBJ_EX'));
        break;
      }
      case 0x62: { // BUILD
        // On a dict, BUILD sets Python *attributes*, not items: `state_dict()` pickles its `_metadata`
        // (module versions) this way. Attributes carry no tensors, so they are dropped.
        const state = pop();
        const obj = top();
        if (state === null || (state instanceof Map && state.size === 0)) break;
        if (obj instanceof Map && state instanceof Map) break;
        throw new Error(`${label}: refusing to load: BUILD (object state) at byte ${at} on a non-dict object`);
      }
      case 0x51: stack.push(persistentLoad(pop(), label)); break; // BINPERSID
      case 0x50: throw new Error(`${label}: unsupported text persistent id (PERSID) at byte ${at}`);
      case 0x69: // INST
      case 0x6f: // OBJ
        throw new Error(`${label}: refusing to load: class instantiation opcode ${op === 0x69 ? 'INST' : 'OBJ'} at byte ${at}`);
      case 0x82: case 0x83: case 0x84: // EXT1/2/4 (extension registry → arbitrary globals)
        throw new Error(`${label}: refusing to load: extension-registry opcode at byte ${at}`);
      default:
        throw new Error(`${label}: unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at}`);
    }
  }
}

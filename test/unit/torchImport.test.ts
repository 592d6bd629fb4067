import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { HostTensor } from '../../engine/io/safetensors';
import { parseTorchStateDict, readTorchStateDict } from '../../engine/checkpoint/torchArchive';
import { alignToExpected, mapUpstreamKey, mapUpstreamKeys, tcnAlias } from '../../engine/checkpoint/keyMap';
import { ALLOWED_GLOBALS, unpickle } from '../../engine/checkpoint/torchPickle';
import { PARITY_DIR } from '../helpers/paths';
import { bytesOf, PickleWriter, stateDictPickle, torchZip } from './torchImportHelpers';

const PT = path.join(PARITY_DIR, 'fmn10_tf256_c447.upstream_format.pt');
const KEYS = path.join(PARITY_DIR, 'fmn10_tf256_c447.keys.json');

describe('torch .pt import: the upstream-format fixture', () => {
  it('reads every tensor, and the mapped keys/shapes equal keys.json', () => {
    const sd = readTorchStateDict(PT);
    const keys = JSON.parse(fs.readFileSync(KEYS, 'utf8')) as Record<string, { shape: number[]; dtype: string }>;
    assert.equal(sd.tensors.size, Object.keys(keys).length);
    for (const k of sd.tensors.keys()) assert.ok(k.startsWith('net.'), `release-style key expected, got ${k}`);
    const mapped = mapUpstreamKeys(sd.tensors, PT);
    const expected = Object.entries(keys).filter(([k]) => !k.endsWith('num_batches_tracked'));
    assert.deepEqual([...mapped.keys()], expected.map(([k]) => k));
    for (const [k, { shape, dtype }] of expected) {
      assert.deepEqual(mapped.get(k)!.shape, shape, k);
      assert.equal(dtype, 'float32');
      assert.ok(mapped.get(k)!.data instanceof Float32Array, k);
    }
  });

  it('decodes int64 storages (BN num_batches_tracked = 12345) and float values (rotary freqs)', () => {
    const sd = readTorchStateDict(PT);
    const nbt = sd.tensors.get('net.model.features.0.1.num_batches_tracked')!;
    assert.equal(sd.sourceDtypes.get('net.model.features.0.1.num_batches_tracked'), 'int64');
    assert.deepEqual(nbt.shape, []);
    assert.equal(nbt.data[0], 12345n);
    // TF:256 → 8 heads of 32: inv_freq_i = 1/10000^(2i/32), stored as a parameter upstream.
    const freqs = sd.tensors.get('net.seq_model.1.layers.0.0.pos_encoding.freqs')!;
    assert.deepEqual(freqs.shape, [16]);
    for (let i = 0; i < 16; i++) assert.ok(Math.abs((freqs.data[i] as number) - 1 / 10000 ** ((2 * i) / 32)) < 1e-7, `freqs[${i}]`);
    // Real weights, not zeros: the backbone's first conv has spread.
    const w = sd.tensors.get('net.model.features.0.0.weight')!.data as Float32Array;
    assert.ok(Math.max(...w) > 0.01 && Math.min(...w) < -0.01);
  });
});

describe('torch .pt import: dtypes, strides, offsets', () => {
  it('gathers non-contiguous views with storage offsets and widens f16/bf16/f64', () => {
    // Storage 0: 12 floats; tensor a = transpose of a 3×4 view starting at element 0 → [4,3] stride [1,4].
    const base = Float32Array.from({ length: 12 }, (_, i) => i + 0.5);
    // Storage 1: f16 [1, 2, -0.5, 65504]; tensor h = elements 1..3 (offset 1).
    const half = Uint16Array.of(0x3c00, 0x4000, 0xb800, 0x7bff);
    // Storage 2: bf16 [1.5, -2]; storage 3: f64; storage 4: int64 with negative values, step-2 view.
    const bf = Uint16Array.of(0x3fc0, 0xc000);
    const f64 = Float64Array.of(0.1, 0.2, 0.3);
    const i64 = BigInt64Array.of(-5n, 7n, 9007199254740993n, 4n);
    const pkl = stateDictPickle([
      { name: 'a', storageType: 'FloatStorage', storageKey: '0', storageNumel: 12, offset: 0, shape: [4, 3], stride: [1, 4] },
      { name: 'tail', storageType: 'FloatStorage', storageKey: '0', storageNumel: 12, offset: 10, shape: [2], stride: [1] },
      { name: 'h', storageType: 'HalfStorage', storageKey: '1', storageNumel: 4, offset: 1, shape: [3], stride: [1] },
      { name: 'b', storageType: 'BFloat16Storage', storageKey: '2', storageNumel: 2, offset: 0, shape: [2], stride: [1] },
      { name: 'd', storageType: 'DoubleStorage', storageKey: '3', storageNumel: 3, offset: 0, shape: [3], stride: [1] },
      { name: 'l', storageType: 'LongStorage', storageKey: '4', storageNumel: 4, offset: 0, shape: [2], stride: [2] },
      { name: 'bcast', storageType: 'FloatStorage', storageKey: '0', storageNumel: 12, offset: 3, shape: [2, 2], stride: [0, 1] },
    ]);
    const zip = torchZip(pkl, { 0: bytesOf(base), 1: bytesOf(half), 2: bytesOf(bf), 3: bytesOf(f64), 4: bytesOf(i64) }, 'my_model');
    const { tensors, sourceDtypes } = parseTorchStateDict(zip, 'crafted.pt');
    assert.deepEqual([...tensors.get('a')!.data], [0.5, 4.5, 8.5, 1.5, 5.5, 9.5, 2.5, 6.5, 10.5, 3.5, 7.5, 11.5]);
    assert.deepEqual([...tensors.get('tail')!.data], [10.5, 11.5]);
    assert.deepEqual([...tensors.get('h')!.data], [2, -0.5, 65504]);
    assert.equal(sourceDtypes.get('h'), 'float16');
    assert.deepEqual([...tensors.get('b')!.data], [1.5, -2]);
    assert.deepEqual([...tensors.get('d')!.data], [...Float32Array.of(0.1, 0.2, 0.3)]);
    assert.equal(tensors.get('d')!.dtype, 'F32');
    assert.deepEqual([...tensors.get('l')!.data], [-5n, 9007199254740993n]);
    assert.equal(tensors.get('l')!.dtype, 'I64');
    assert.deepEqual([...tensors.get('bcast')!.data], [3.5, 4.5, 3.5, 4.5]);
  });

  it('reads torch.save(model.state_dict()) pickles: OrderedDict with `_metadata` attributes via BUILD', () => {
    // OrderedDict() → SETITEMS (tensors) → BUILD {'_metadata': OrderedDict([('', {'version': 1})])}, as pickle writes it.
    const w = new PickleWriter().proto().global('collections', 'OrderedDict').emptyTuple().reduce().mark();
    w.str('w').global('torch._utils', '_rebuild_tensor_v2').mark();
    w.mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(2).tuple().binpersid();
    w.int(0).ints([2]).ints([1]).newFalse().global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce();
    w.setitems();
    w.emptyDict().str('_metadata').global('collections', 'OrderedDict').emptyTuple().reduce();
    w.str('').emptyDict().str('version').int(1).setitem().setitem().setitem().build().stop();
    const zip = torchZip(w.done(), { 0: bytesOf(Float32Array.of(1, 2)) });
    const { tensors } = parseTorchStateDict(zip, 'sd.pt');
    assert.deepEqual([...tensors.keys()], ['w']);
    assert.deepEqual([...tensors.get('w')!.data], [1, 2]);
  });

  it('honours a big-endian byteorder record', () => {
    const be = new Uint8Array(8);
    new DataView(be.buffer).setFloat32(0, 1.25, false);
    new DataView(be.buffer).setFloat32(4, -3, false);
    const pkl = stateDictPickle([{ name: 'x', storageType: 'FloatStorage', storageKey: '0', storageNumel: 2, offset: 0, shape: [2], stride: [1] }]);
    const zip = torchZip(pkl, { 0: be }, 'archive', { byteorder: Buffer.from('big') });
    assert.deepEqual([...parseTorchStateDict(zip, 'be.pt').tensors.get('x')!.data], [1.25, -3]);
  });

  it('rejects views that reach past their storage, missing storages and truncated storages', () => {
    const f = (numel: number, offset: number, shape: number[], stride: number[], bytes: number): Uint8Array =>
      torchZip(stateDictPickle([{ name: 'w', storageType: 'FloatStorage', storageKey: '0', storageNumel: numel, offset, shape, stride }]), bytes ? { 0: new Uint8Array(bytes) } : {});
    assert.throws(() => parseTorchStateDict(f(4, 2, [3], [1], 16), 'bad.pt'), /bad\.pt: tensor 'w' \[3\].*reaches past its storage of 4 elements/);
    assert.throws(() => parseTorchStateDict(f(4, 0, [4], [1], 0), 'bad.pt'), /bad\.pt: storage '0' of tensor 'w' is missing/);
    assert.throws(() => parseTorchStateDict(f(4, 0, [1 << 20, 1 << 10], [0, 0], 16), 'bad.pt'), /bad\.pt: tensor 'w' \[1048576,1024\] repeats its 4-element storage into 1073741824 elements/);
    assert.throws(() => parseTorchStateDict(f(4, 0, [4], [1], 12), 'bad.pt'), /bad\.pt: storage '0' of tensor 'w' has 12 bytes, expected 16/);
  });

  it('names the problem for non-zip, legacy and truncated files', () => {
    assert.throws(() => parseTorchStateDict(Buffer.from('hello world'), 'x.pt'), /x\.pt: not a PyTorch checkpoint/);
    assert.throws(() => parseTorchStateDict(Uint8Array.of(0x80, 2, 0x8a, 0x0a), 'old.pt'), /old\.pt: legacy \(pre-1\.6/);
    const zip = fs.readFileSync(PT);
    assert.throws(() => parseTorchStateDict(zip.subarray(0, zip.length >> 1), 'half.pt'), /half\.pt: /);
  });
});

describe('torch .pt import: the unpickler never executes code', () => {
  const marker = path.join(os.tmpdir(), `sed-pwned-${process.pid}`);
  afterEach(() => fs.rmSync(marker, { force: true }));

  it('rejects GLOBAL os.system + REDUCE, naming the file and the global', () => {
    const evil = new PickleWriter().proto().global('os', 'system').str(`touch ${marker}`).tuple1().reduce().stop().done();
    assert.throws(() => unpickle(evil, 'evil.pt'), (err: Error) => {
      assert.match(err.message, /^evil\.pt: refusing to load: .*'os\.system'/);
      assert.match(err.message, /Allowed globals: collections\.OrderedDict/);
      return true;
    });
    assert.equal(fs.existsSync(marker), false);
  });

  it('rejects the same payload inside a torch zip, via STACK_GLOBAL, INST and in a tensor position', () => {
    const evil = new PickleWriter().proto().emptyDict().mark().str('w').stackGlobal('builtins', 'eval').str(`__import__('os').system('touch ${marker}')`).tuple1().reduce().setitems().stop().done();
    assert.throws(() => parseTorchStateDict(torchZip(evil, {}), 'model.pt'), /model\.pt: refusing to load: .*'builtins\.eval'/);
    const inst = new PickleWriter().proto().mark().str(`touch ${marker}`).inst('os', 'system').stop().done();
    assert.throws(() => unpickle(inst, 'inst.pt'), /inst\.pt: refusing to load: class instantiation opcode INST/);
    // A lookalike under an allowed module name is still refused.
    const fake = new PickleWriter().proto().global('torch._utils', 'exec').stop().done();
    assert.throws(() => unpickle(fake, 'f.pt'), /'torch\._utils\.exec'/);
    // A storage type is data, not a callable.
    const call = new PickleWriter().proto().global('torch', 'FloatStorage').emptyTuple().reduce().stop().done();
    assert.throws(() => unpickle(call, 'c.pt'), /c\.pt: torch\.FloatStorage may only appear inside a storage reference/);
    assert.equal(fs.existsSync(marker), false);
  });

  it('allows only the state-dict globals', () => {
    assert.deepEqual([...ALLOWED_GLOBALS.keys()].filter((k) => !/^torch\.[A-Za-z0-9]+Storage$/.test(k)).sort(), [
      'collections.OrderedDict',
      'torch._utils._rebuild_parameter',
      'torch._utils._rebuild_parameter_with_state',
      'torch._utils._rebuild_tensor',
      'torch._utils._rebuild_tensor_v2',
    ]);
  });

  it('survives corrupted pickles: every mutation either loads or fails with an error naming the file', () => {
    let seed = 12345;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const mutate = (src: Uint8Array): Uint8Array => {
      const bad = src.slice(0, rand(8) === 0 ? rand(src.length) : src.length);
      for (let k = 0, n = 1 + rand(4); k < n && bad.length; k++) bad[rand(bad.length)] = rand(256);
      return bad;
    };
    const expectLabelled = (fn: () => unknown, trial: number): boolean => {
      try {
        fn();
        return true;
      } catch (err) {
        assert.ok(err instanceof Error && err.message.startsWith('fuzz.pt: '), `trial ${trial}: ${String(err)}`);
        return false;
      }
    };
    // The real fixture's pickle (unpickling only) …
    const { unzipSync } = require('fflate') as typeof import('fflate');
    const files = unzipSync(fs.readFileSync(PT), { filter: (f) => f.name.endsWith('/data.pkl') });
    const pkl = Object.values(files)[0];
    let ok = 0;
    for (let trial = 0; trial < 300; trial++) if (expectLabelled(() => unpickle(mutate(pkl), 'fuzz.pt'), trial)) ok++;
    assert.ok(ok < 300, 'mutations must be detected at least sometimes');
    // … and a small state dict end to end (storages, shapes, strides, offsets).
    const storage = bytesOf(Float32Array.from({ length: 64 }, (_, i) => i));
    const small = stateDictPickle([
      { name: 'a', storageType: 'FloatStorage', storageKey: '0', storageNumel: 64, offset: 0, shape: [4, 4], stride: [4, 1] },
      { name: 'b', storageType: 'FloatStorage', storageKey: '0', storageNumel: 64, offset: 16, shape: [8, 3], stride: [1, 8] },
    ]);
    for (let trial = 0; trial < 1000; trial++) expectLabelled(() => parseTorchStateDict(torchZip(mutate(small), { 0: storage }), 'fuzz.pt'), trial);
  });

  it('rejects unknown opcodes and stack underflow instead of guessing', () => {
    assert.throws(() => unpickle(Uint8Array.of(0x80, 2, 0xff), 'u.pt'), /u\.pt: unsupported pickle opcode 0xff at byte 2/);
    assert.throws(() => unpickle(Uint8Array.of(0x80, 2, 0x52, 0x2e), 'u.pt'), /u\.pt: malformed pickle/);
  });
});

describe('torch .pt import: key mapping', () => {
  const t = (v: number, shape = [2]): HostTensor => ({ dtype: 'F32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(v) });

  it('maps net./model. release prefixes onto our names and drops num_batches_tracked', () => {
    assert.equal(mapUpstreamKey('net.model.features.3.block.0.0.weight'), 'model.fmn.features.3.block.0.0.weight');
    assert.equal(mapUpstreamKey('model.model.features.3.block.0.0.weight'), 'model.fmn.features.3.block.0.0.weight');
    assert.equal(mapUpstreamKey('model.seq_model.0.weight'), 'seq_model.0.weight');
    assert.equal(mapUpstreamKey('net.strong_head.bias'), 'strong_head.bias');
    assert.equal(mapUpstreamKey('model.fmn.features.0.0.weight'), 'model.fmn.features.0.0.weight');
    assert.equal(mapUpstreamKey('weak_head.weight'), 'weak_head.weight');
    assert.equal(mapUpstreamKey('net.model.features.0.1.num_batches_tracked'), null);
    assert.throws(() => mapUpstreamKeys(new Map([['net.strong_head.bias', t(1)], ['model.strong_head.bias', t(1)]]), 'dup.pt'),
      /dup\.pt: keys 'net\.strong_head\.bias' and 'model\.strong_head\.bias' both map to 'strong_head\.bias'/);
  });

  it('resolves TCN weight-norm duplicates against what the model declares', () => {
    const p = 'seq_model.1.layers.0.network.2.';
    assert.equal(tcnAlias(`${p}conv1.weight_g`), `${p}net.0.weight_g`);
    assert.equal(tcnAlias(`${p}net.4.bias`), `${p}conv2.bias`);
    assert.equal(tcnAlias('seq_model.0.weight'), null);
    const file = new Map([[`${p}conv1.weight_v`, t(3)], [`${p}net.0.weight_v`, t(3)], ['strong_head.bias', t(1)]]);
    // Model declares only conv1 → the net.0 copy is dropped.
    assert.deepEqual([...alignToExpected(file, [`${p}conv1.weight_v`, 'strong_head.bias'], 'x.pt').keys()].sort(), [`${p}conv1.weight_v`, 'strong_head.bias']);
    // Model declares both (the upstream state dict) → both kept.
    assert.equal(alignToExpected(file, [`${p}conv1.weight_v`, `${p}net.0.weight_v`, 'strong_head.bias'], 'x.pt').size, 3);
    // File has one copy, the model wants both → the alias is filled from the same tensor.
    const one = new Map([[`${p}net.0.weight_v`, t(3)]]);
    const both = alignToExpected(one, [`${p}conv1.weight_v`, `${p}net.0.weight_v`], 'x.pt');
    assert.equal(both.get(`${p}conv1.weight_v`), one.get(`${p}net.0.weight_v`));
    // Copies that differ mean a corrupt file.
    const differ = new Map([[`${p}conv1.weight_v`, t(3)], [`${p}net.0.weight_v`, t(4)]]);
    assert.throws(() => alignToExpected(differ, [`${p}conv1.weight_v`], 'x.pt'), /x\.pt: TCN duplicates .*conv1\.weight_v' and .*net\.0\.weight_v' differ/);
  });
});

import { strict as assert } from 'node:assert';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../engine/backend/select';
import {
  CONFIG_FILE,
  loadCheckpoint,
  readCheckpointConfig,
  readCheckpointWeights,
  saveCheckpoint,
  WEIGHTS_FILE,
  weightShapes,
  writeCheckpoint,
} from '../../engine/checkpoint';
import { readSafetensors, writeSafetensors } from '../../engine/io/safetensors';
import { createModel, parseModelName, type EngineSedModel } from '../../engine/models';

const CLASSES = Array.from({ length: 10 }, (_, i) => `event ${i}`);

function sameStateDict(a: EngineSedModel, b: EngineSedModel): void {
  const sa = a.stateDict();
  const sb = b.stateDict();
  for (const [k, t] of sa) {
    if (k.endsWith('num_batches_tracked')) continue;
    assert.deepEqual(sb.get(k)!.shape, t.shape, k);
    assert.deepEqual(sb.get(k)!.data, t.data, k);
  }
}

describe('checkpoint: our format (config.json + model.safetensors)', () => {
  let tmp: string;
  let model: EngineSedModel;

  before(async () => {
    await initBackend('cpu');
    // TCN: exercises the duplicated weight-norm keys; 10 classes: not the name's default head size.
    model = createModel(parseModelName('fmn04+tcn:64', CLASSES.length), { seed: 7 });
  });
  after(() => model.dispose());
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sed-ckpt-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('round-trips weights, classes, thresholds and metadata exactly', () => {
    const dir = path.join(tmp, 'ck');
    const thresholds = CLASSES.map((_, i) => 0.1 + i * 0.05);
    const written = saveCheckpoint(dir, model, { classes: CLASSES, thresholds, training: { epochs: 3 }, metrics: { psds1: 0.4 } });
    assert.deepEqual(fs.readdirSync(dir).sort(), [CONFIG_FILE, WEIGHTS_FILE]);
    assert.deepEqual(fs.readdirSync(tmp), ['ck'], 'no temp folders left behind');
    const config = readCheckpointConfig(dir);
    assert.deepEqual(config, written);
    assert.equal(config.format, 'sed-studio-checkpoint');
    assert.equal(config.version, 1);
    assert.equal(config.model, 'fmn04+tcn:64');
    assert.deepEqual(config.frontend, { sampleRate: 16000, nMels: 128, hop: 160, fminHz: 0, fmaxHz: 7000 });
    assert.deepEqual(config.postprocessing, { thresholds, medianWindowFrames: 9 });
    assert.deepEqual(config.training, { epochs: 3 });

    const file = readSafetensors(path.join(dir, WEIGHTS_FILE));
    const counterKeys = [...model.batchNormCounters.keys()];
    assert.deepEqual([...file.tensors.keys()].sort(), [...weightShapes(model.config).keys(), ...counterKeys].sort());
    for (const [k, t] of file.tensors) assert.equal(t.dtype, k.endsWith('.num_batches_tracked') ? 'I64' : 'F32', k);
    assert.ok(file.tensors.has('seq_model.1.layers.0.network.0.conv1.weight_v') && file.tensors.has('seq_model.1.layers.0.network.0.net.0.weight_v'));

    const loaded = loadCheckpoint(dir);
    try {
      assert.deepEqual(loaded.classes, CLASSES);
      assert.equal(loaded.model.config.numClasses, 10);
      assert.equal(loaded.model.config.name, 'fmn04+tcn:64');
      sameStateDict(model, loaded.model);
      // Same weights → same outputs.
      const mel = tf.randomNormal([1, 128, 64, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
      const a = model.forward(mel).strongLogits.dataSync();
      const b = loaded.model.forward(mel).strongLogits.dataSync();
      assert.deepEqual(b, a);
      mel.dispose();
    } finally {
      loaded.model.dispose();
    }
  });

  it('defaults thresholds to 0.5 per class and accepts the path of config.json', () => {
    const dir = path.join(tmp, 'ck');
    saveCheckpoint(dir, model, { classes: CLASSES });
    const config = readCheckpointConfig(path.join(dir, CONFIG_FILE));
    assert.deepEqual(config.postprocessing.thresholds, new Array(10).fill(0.5));
  });

  it('rejects weights that do not fit the config, naming the file, the first mismatching key and both shapes', () => {
    const dir = path.join(tmp, 'ck');
    saveCheckpoint(dir, model, { classes: CLASSES });
    const cfgFile = path.join(dir, CONFIG_FILE);
    const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
    fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, model: 'fmn04+tcn:32' }));
    const weightsFile = path.join(dir, WEIGHTS_FILE);
    assert.throws(() => readCheckpointWeights(dir), (err: Error) => {
      assert.equal(err.message, `${weightsFile}: tensor 'seq_model.0.weight' has shape [64, 384] but config.json (model fmn04+tcn:32, 10 classes) expects [32, 384]`);
      return true;
    });
    // A class list of another length changes the head shapes.
    fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, classes: CLASSES.slice(0, 9), postprocessing: { ...cfg.postprocessing, thresholds: cfg.postprocessing.thresholds.slice(0, 9) } }));
    assert.throws(() => loadCheckpoint(dir), /model\.safetensors: tensor 'strong_head\.weight' has shape \[10, 64\] but config\.json \(model fmn04\+tcn:64, 9 classes\) expects \[9, 64\]/);
  });

  it('detects weights from another checkpoint or a truncated copy, and a missing tensor', () => {
    const dir = path.join(tmp, 'ck');
    saveCheckpoint(dir, model, { classes: CLASSES });
    const weightsFile = path.join(dir, WEIGHTS_FILE);
    const full = fs.readFileSync(weightsFile);
    fs.writeFileSync(weightsFile, full.subarray(0, full.length - 100));
    assert.throws(() => loadCheckpoint(dir), new RegExp(`${WEIGHTS_FILE}: ${full.length - 100} bytes but config\\.json records ${full.length}`));
    const flipped = Buffer.from(full);
    flipped[flipped.length - 1] ^= 1;
    fs.writeFileSync(weightsFile, flipped);
    assert.throws(() => loadCheckpoint(dir), /sha256 differs from the one recorded in config\.json/);
    // A file whose size and sha256 are recorded consistently but which lacks a tensor.
    fs.writeFileSync(weightsFile, full);
    const tensors = readSafetensors(weightsFile).tensors;
    tensors.delete('strong_head.bias');
    writeSafetensors(weightsFile, tensors);
    const bytes = fs.readFileSync(weightsFile);
    const cfgFile = path.join(dir, CONFIG_FILE);
    const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
    cfg.weights = { ...cfg.weights, bytes: bytes.length, sha256: crypto.createHash('sha256').update(bytes).digest('hex') };
    fs.writeFileSync(cfgFile, JSON.stringify(cfg));
    assert.throws(() => loadCheckpoint(dir), new RegExp(`${WEIGHTS_FILE}: missing tensor 'strong_head\\.bias' \\(config\\.json \\(model fmn04\\+tcn:64, 10 classes\\) expects shape \\[10\\]\\)`));
  });

  it('validates config.json fields with messages naming the file', () => {
    const dir = path.join(tmp, 'ck');
    saveCheckpoint(dir, model, { classes: CLASSES });
    const cfgFile = path.join(dir, CONFIG_FILE);
    const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
    const bad = (patch: object, re: RegExp): void => {
      fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, ...patch }));
      assert.throws(() => readCheckpointConfig(dir), (err: Error) => err.message.startsWith(`${cfgFile}: `) && re.test(err.message));
    };
    bad({ format: 'other' }, /not a SED Studio checkpoint config/);
    bad({ version: 2 }, /unsupported checkpoint version 2/);
    bad({ model: 'resnet50' }, /Unknown model name 'resnet50'.*valid names/);
    bad({ classes: ['a', 'a'] }, /duplicate names/);
    bad({ postprocessing: { thresholds: [0.5], medianWindowFrames: 9 } }, /one threshold per class \(10\)/);
    bad({ postprocessing: { thresholds: new Array(10).fill(1.5), medianWindowFrames: 9 } }, /thresholds\[0\]" \(class 'event 0'\) must be a number in \[0, 1\]/);
    fs.writeFileSync(cfgFile, '{');
    assert.throws(() => readCheckpointConfig(dir), /config\.json: not valid JSON/);
    assert.throws(() => readCheckpointConfig(path.join(tmp, 'nothing')), /nothing: not a checkpoint folder \(no config\.json\)/);
  });

  it('replaces an existing checkpoint atomically, keeping unrelated files, and leaves it intact when saving fails', () => {
    const dir = path.join(tmp, 'ck');
    saveCheckpoint(dir, model, { classes: CLASSES, metrics: { run: 1 } });
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'keep me');
    const other = createModel(parseModelName('fmn04+tcn:64', 10), { seed: 8 });
    try {
      saveCheckpoint(dir, other, { classes: CLASSES, metrics: { run: 2 } });
      assert.equal(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8'), 'keep me');
      const loaded = loadCheckpoint(dir);
      sameStateDict(other, loaded.model);
      loaded.model.dispose();
      const before = fs.readFileSync(path.join(dir, WEIGHTS_FILE));
      assert.throws(() => saveCheckpoint(dir, model, { classes: CLASSES.slice(1) }), /9 class names given for a model with 10 outputs/);
      assert.throws(() => saveCheckpoint(dir, model, { classes: CLASSES, thresholds: [2] }), /one threshold per class/);
      assert.ok(fs.readFileSync(path.join(dir, WEIGHTS_FILE)).equals(before));
      assert.deepEqual(readCheckpointConfig(dir).metrics, { run: 2 });
      assert.deepEqual(fs.readdirSync(tmp), ['ck'], 'no temp folders left behind');
    } finally {
      other.dispose();
    }
  });

  it('keeps the BatchNorm counters (a run started from the checkpoint continues them); files without them still load', () => {
    const counters = [...model.batchNormCounters.keys()];
    assert.ok(counters.length > 10);
    counters.forEach((k, i) => model.batchNormCounters.set(k, 1121 + i));
    try {
      const dir = path.join(tmp, 'ck');
      saveCheckpoint(dir, model, { classes: CLASSES });
      const stored = readSafetensors(path.join(dir, WEIGHTS_FILE)).tensors.get(counters[3])!;
      assert.equal(stored.dtype, 'I64');
      assert.deepEqual(stored.shape, []);
      const loaded = loadCheckpoint(dir);
      assert.deepEqual([...loaded.model.batchNormCounters], [...model.batchNormCounters]);
      loaded.model.dispose();

      // Written before checkpoints kept counters: no counter tensors; they load as 0.
      const old = new Map(model.stateDict());
      counters.forEach((k) => old.delete(k));
      writeCheckpoint(path.join(tmp, 'old'), 'fmn04+tcn:64', old, { classes: CLASSES });
      const fromOld = loadCheckpoint(path.join(tmp, 'old'));
      assert.ok([...fromOld.model.batchNormCounters.values()].every((n) => n === 0));
      fromOld.model.dispose();

      // A counter must be one integer and belong to a BatchNorm of the model.
      const floatCounter = new Map(model.stateDict()).set(counters[0], { dtype: 'F32', shape: [], data: Float32Array.of(3) });
      assert.throws(() => writeCheckpoint(path.join(tmp, 'bad'), 'fmn04+tcn:64', floatCounter, { classes: CLASSES }), /BatchNorm counter '.*num_batches_tracked' must be one integer \(I64\), got F32/);
      const stray = new Map(model.stateDict()).set('seq_model.nope.num_batches_tracked', { dtype: 'I64', shape: [], data: BigInt64Array.of(1n) });
      assert.throws(() => writeCheckpoint(path.join(tmp, 'bad'), 'fmn04+tcn:64', stray, { classes: CLASSES }), /unexpected tensor 'seq_model\.nope\.num_batches_tracked'/);
    } finally {
      counters.forEach((k) => model.batchNormCounters.set(k, 0));
    }
  });

  it('refuses to write tensors that do not fit the named model', () => {
    const tensors = new Map(model.stateDict());
    for (const k of [...tensors.keys()]) if (k.endsWith('num_batches_tracked')) tensors.delete(k);
    tensors.delete('weak_head.weight');
    const dir = path.join(tmp, 'ck');
    assert.throws(() => writeCheckpoint(dir, 'fmn04+tcn:64', tensors, { classes: CLASSES }), /model to save: missing tensor 'weak_head\.weight'/);
    assert.equal(fs.existsSync(dir), false);
  });
});

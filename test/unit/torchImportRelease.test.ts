import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../engine/backend/select';
import { importTorchCheckpoint, readTorchCheckpointTensors } from '../../engine/checkpoint';
import { tcnAlias } from '../../engine/checkpoint/keyMap';
import { readTorchStateDict } from '../../engine/checkpoint/torchArchive';
import { readSafetensors, type HostTensor } from '../../engine/io/safetensors';
import { PARITY_DIR } from '../helpers/paths';
import { torchZipFromStateDict } from './torchImportHelpers';

/** Release-style name of one of our keys: backbone under `<p>model.features.`, the rest under `<p>`. */
function releaseKey(key: string, prefix: 'net.' | 'model.'): string {
  return key.startsWith('model.fmn.') ? `${prefix}model.${key.slice('model.fmn.'.length)}` : `${prefix}${key}`;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('torch .pt import: release prefixes and TCN duplicates end to end', () => {
  let tmp: string;
  before(async () => {
    await initBackend('wasm');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sed-rel-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('a `model.`-prefixed release file imports to the same tensors as the `net.`-prefixed fixture', () => {
    const src = path.join(PARITY_DIR, 'fmn10_tf256_c447.upstream_format.pt');
    const byNet = readTorchStateDict(src).tensors;
    const renamed = new Map<string, HostTensor>();
    for (const [k, t] of byNet) renamed.set(k.replace(/^net\./, 'model.'), t);
    assert.ok(renamed.has('model.model.features.0.0.weight') && renamed.has('model.seq_model.0.weight'));
    const file = path.join(tmp, 'model_prefix.pt');
    fs.writeFileSync(file, torchZipFromStateDict(renamed));
    const a = readTorchCheckpointTensors(src, 'fmn10+tf:256');
    const b = readTorchCheckpointTensors(file, 'fmn10+tf:256');
    assert.deepEqual([...b.tensors.keys()], [...a.tensors.keys()]);
    for (const [k, t] of a.tensors) assert.deepEqual(b.tensors.get(k)!.data, t.data, k);
  });

  for (const variant of ['both copies sharing storage (as torch saves them)', 'only the conv1/conv2 copies'] as const) {
    it(`TCN with ${variant}: imports and reproduces the fmn04+TCN:64 fixture logits (atol 1e-4, rtol 1e-4)`, () => {
      const weights = readSafetensors(path.join(PARITY_DIR, 'fmn04_tcn64.weights.safetensors')).tensors;
      const io = readSafetensors(path.join(PARITY_DIR, 'fmn04_tcn64.io.safetensors')).tensors;
      const release = new Map<string, HostTensor>();
      for (const [k, t] of weights) {
        if (variant === 'only the conv1/conv2 copies' && /\.net\.[04]\./.test(k) && tcnAlias(k)) continue;
        release.set(releaseKey(k, 'net.'), t);
      }
      const file = path.join(tmp, 'tcn.pt');
      fs.writeFileSync(file, torchZipFromStateDict(release, (k) => {
        const alias = tcnAlias(k.replace(/^net\./, ''));
        return alias ? `net.${alias}` : undefined;
      }));
      const imported = importTorchCheckpoint(file, 'fmn04+tcn:64');
      try {
        assert.equal(imported.classes.length, 10);
        assert.match(imported.warning!, /10 classes and no class list given; using placeholder names class_0\.\.class_9/);
        assert.deepEqual(imported.classes.slice(0, 2), ['class_0', 'class_1']);
        const mel = io.get('input.mel')!;
        const got = tf.tidy(() => {
          const x = tf.transpose(tf.tensor4d(mel.data as Float32Array, mel.shape as [number, number, number, number]), [0, 2, 3, 1]);
          return imported.model.forward(x).strongLogits.dataSync().slice();
        });
        const ref = io.get('output.strong_logits')!.data as Float32Array;
        const diff = maxAbsDiff(got, ref);
        for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - ref[i]) <= 1e-4 + 1e-4 * Math.abs(ref[i]), `logit ${i}: ${got[i]} vs ${ref[i]}`);
        assert.ok(diff < 1e-4);
      } finally {
        imported.model.dispose();
      }
    });
  }

  it('a wrong --model names the first mismatching key and both shapes', () => {
    const src = path.join(PARITY_DIR, 'fmn10_tf256_c447.upstream_format.pt');
    assert.throws(() => readTorchCheckpointTensors(src, 'fmn10+hybrid:256'), (err: Error) => {
      assert.equal(err.message, `${src}: missing tensor 'seq_model.1.layers.0.0.gamma' (model fmn10+hybrid:256 with 447 classes expects shape [256])`);
      return true;
    });
    assert.throws(() => readTorchCheckpointTensors(src, 'fmn06+tf:256'), new RegExp(`${src.replace(/[.+]/g, '\\$&')}: tensor 'model\\.fmn\\.features\\.2\\.block\\.0\\.0\\.weight' has shape \\[64, 16, 1, 1\\] but model fmn06\\+tf:256 with 447 classes expects \\[40, 16, 1, 1\\]`));
  });
});

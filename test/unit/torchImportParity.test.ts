import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../engine/backend/select';
import { importTorchCheckpoint, loadCheckpoint, readTorchCheckpointTensors, writeCheckpoint } from '../../engine/checkpoint';
import { readSafetensors, type HostTensor } from '../../engine/io/safetensors';
import { PARITY_DIR } from '../helpers/paths';

const PT = path.join(PARITY_DIR, 'fmn10_tf256_c447.upstream_format.pt');
const IO = path.join(PARITY_DIR, 'fmn10_tf256_c447.io.safetensors');

/** max |a−b| and the worst ratio |a−b| / (atol + rtol·|ref|) (≤ 1 passes). */
function compare(got: ArrayLike<number>, ref: HostTensor, atol: number, rtol: number): { maxAbs: number; worst: number } {
  assert.equal(got.length, ref.data.length);
  let maxAbs = 0;
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const r = ref.data[i] as number;
    const d = Math.abs(got[i] - r);
    if (!(d <= maxAbs)) maxAbs = d; // NaN-propagating
    const ratio = d / (atol + rtol * Math.abs(r));
    if (!(ratio <= worst)) worst = ratio;
  }
  return { maxAbs, worst };
}

describe('torch .pt import: full-size fmn10+TF:256 release-format checkpoint reproduces upstream logits (wasm)', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('imports with the AudioSet-Strong classes and matches output.strong_logits / weak_logits within atol 5e-4, rtol 5e-4', () => {
    const imported = importTorchCheckpoint(PT, 'fmn10+tf:256');
    const io = readSafetensors(IO).tensors;
    try {
      assert.equal(imported.config.name, 'fmn10+tf:256');
      assert.equal(imported.classes.length, 447);
      assert.equal(imported.classes[0], 'Accelerating, revving, vroom');
      assert.equal(imported.warning, undefined);
      const mel = io.get('input.mel')!; // [B,1,128,T] upstream → [B,128,T,1]
      const x = tf.tidy(() => tf.transpose(tf.tensor4d(mel.data as Float32Array, mel.shape as [number, number, number, number]), [0, 2, 3, 1]));
      const out = tf.tidy(() => {
        const o = imported.model.forward(x);
        return { strong: o.strongLogits.dataSync().slice(), weak: o.weakLogits.dataSync().slice(), shape: o.strongLogits.shape };
      });
      x.dispose();
      assert.deepEqual(out.shape, io.get('output.strong_logits')!.shape);
      const strong = compare(out.strong, io.get('output.strong_logits')!, 5e-4, 5e-4);
      const weak = compare(out.weak, io.get('output.weak_logits')!, 5e-4, 5e-4);
      process.stdout.write(`      strong logits max|Δ| ${strong.maxAbs.toExponential(2)} (worst tol ratio ${strong.worst.toFixed(3)}); weak max|Δ| ${weak.maxAbs.toExponential(2)}\n`);
      assert.ok(strong.worst <= 1, `strong logits exceed atol/rtol 5e-4: max|Δ| ${strong.maxAbs}`);
      assert.ok(weak.worst <= 1, `weak logits exceed atol/rtol 5e-4: max|Δ| ${weak.maxAbs}`);
    } finally {
      imported.model.dispose();
    }
  });

  it('converts to our format and loads back to the same weights', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sed-conv-'));
    try {
      const { config, tensors, classes, source } = readTorchCheckpointTensors(PT, 'fmn10+tf-256');
      writeCheckpoint(path.join(dir, 'ck'), config.name, tensors, { classes, source });
      const loaded = loadCheckpoint(path.join(dir, 'ck'));
      try {
        const sd = loaded.model.stateDict();
        for (const [k, t] of tensors) assert.deepEqual(sd.get(k)!.data, t.data, k);
        assert.equal(loaded.meta.source?.sha256, source.sha256);
      } finally {
        loaded.model.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

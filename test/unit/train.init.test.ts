/**
 * Starting points (engine/train/init.ts): a checkpoint with another class count initialises everything
 * but the heads (BatchNorm counters included); the same classes copy the heads too; another architecture is refused; a frozen
 * backbone leaves only the sequence model and strong head trainable.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { saveCheckpoint } from '../../engine/checkpoint/index';
import { createModel, parseModelName } from '../../engine/models/index';
import { buildStartModel, readInitSource, trainableNames } from '../../engine/train/init';

describe('training starting points', function () {
  this.timeout(120000);
  let previous: string;
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sed-init-')), 'ckpt');
  const source = ['a', 'b', 'c', 'd', 'e'];

  before(async () => {
    previous = tf.getBackend();
    await tf.setBackend('cpu');
    const m = createModel(parseModelName('fmn04+tf:64', source.length), { seed: 21 });
    for (const k of m.batchNormCounters.keys()) m.batchNormCounters.set(k, 1121); // a finished 59-epoch run
    saveCheckpoint(dir, m, { classes: source });
    m.dispose();
  });
  after(async () => {
    if (previous) await tf.setBackend(previous);
  });

  const same = (a: tf.Variable, b: tf.Variable) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]) === 0;

  it('new class count: all but the heads come from the checkpoint (BN counters too)', () => {
    const init = readInitSource(dir);
    assert.equal(init.model, 'fmn04+tf:64');
    const { model, copiedHeads } = buildStartModel('fmn04+tf:64', ['x', 'y'], 5, init);
    const ref = createModel(parseModelName('fmn04+tf:64', source.length), { seed: 21 });
    assert.equal(copiedHeads, false);
    assert.deepEqual([...model.params.get('strong_head.weight')!.shape].sort(), [2, 64]); // [in,out] or [out,in]
    for (const [k, v] of model.params) {
      if (/^(strong|weak)_head\./.test(k)) continue;
      assert.ok(same(v, ref.params.get(k)!), `${k} not copied`);
    }
    // So the running statistics continue at momentum 0.01 instead of re-averaging from scratch.
    assert.ok([...model.batchNormCounters.values()].every((n) => n === 1121));
    model.dispose();
    ref.dispose();
  });

  it('same classes: the heads are copied too; another architecture is refused', () => {
    const { model, copiedHeads } = buildStartModel('fmn04+tf:64', source, 5, readInitSource(dir));
    const ref = createModel(parseModelName('fmn04+tf:64', source.length), { seed: 21 });
    assert.equal(copiedHeads, true);
    assert.ok(same(model.params.get('strong_head.weight')!, ref.params.get('strong_head.weight')!));
    model.dispose();
    ref.dispose();
    assert.throws(() => buildStartModel('fmn04+tf:128', source, 5, readInitSource(dir)), /checkpoint is a fmn04\+tf:64 but --model is fmn04\+tf:128/);
  });

  it('frozen backbone: only the sequence model and the strong head train', () => {
    const m = createModel(parseModelName('fmn04+tf:64', 3), { seed: 1 });
    const names = trainableNames(m, true);
    assert.ok(names.length > 0);
    assert.ok(names.every((n) => !/features\.\d+\./.test(n) && !n.startsWith('weak_head.')), names.join(', '));
    assert.ok(names.includes('strong_head.weight') && names.some((n) => n.startsWith('seq_model.')));
    assert.ok(trainableNames(m, false).some((n) => /features\.16\./.test(n)));
    m.dispose();
  });
});

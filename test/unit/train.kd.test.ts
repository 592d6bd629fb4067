/**
 * Knowledge distillation paths: `sed pseudo-label` files equal the teacher's online probabilities
 * (class order mapped by name), and training runs with stored and with online teacher targets.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../engine/backend/select';
import { saveCheckpoint } from '../../engine/checkpoint/index';
import { computeMel } from '../../engine/frontend/mel';
import { createModel, parseModelName } from '../../engine/models/index';
import { AudioCache, NO_AUGMENT, readPseudoLabels, train, writeTeacherPseudoLabels } from '../../engine/train/index';
import { readStrongLabels } from '../../engine/train/labels';
import { SHARED_DIR } from '../helpers/paths';

const DATA = path.join(SHARED_DIR, 'data', 'dcase2016t2-soundscapes');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'sed-kd-'));
const CACHE = path.join(TMP, 'cache');

describe('knowledge distillation (wasm, dcase2016t2 subset)', function () {
  this.timeout(900000);
  const teacherDir = path.join(TMP, 'teacher');
  let classes: string[];
  let files: string[];

  before(async () => {
    await initBackend('wasm');
    // initBackend is idempotent on its own record; another spec may have switched tf to cpu since.
    await tf.setBackend('wasm');
    const labels = readStrongLabels(path.join(DATA, 'metadata', 'train.tsv'));
    files = [...labels.keys()].slice(0, 4).map((f) => path.join(DATA, 'audio', 'train', f));
    classes = [...new Set([...labels.values()].flat().map((e) => e.label))].sort().reverse(); // teacher order ≠ student order
    const teacher = createModel(parseModelName('fmn04', classes.length), { seed: 11 });
    saveCheckpoint(teacherDir, teacher, { classes });
    teacher.dispose();
  });

  it('pseudo-label files hold the teacher probabilities, mapped to the student class order', async () => {
    const out = path.join(TMP, 'pl');
    const r = await writeTeacherPseudoLabels({ teacher: teacherDir, inputs: files, outDir: out, cacheDir: CACHE });
    assert.equal(r.files.length, 4);
    const student = [...classes].sort();
    const stored = readPseudoLabels(out, path.basename(files[0]), student);
    assert.equal(stored.frames, 250);
    const wave = await new AudioCache(CACHE).waveform(files[0], async () => {
      throw new Error('should be cached');
    });
    const { loadCheckpoint } = await import('../../engine/checkpoint/index');
    const t = loadCheckpoint(teacherDir);
    const online = tf.tidy(() => tf.sigmoid(t.model.forward(computeMel(tf.tensor2d(wave, [1, wave.length])), { training: false }).strongLogits)).dataSync();
    t.model.dispose();
    let maxDiff = 0;
    for (let f = 0; f < 250; f++) {
      student.forEach((c, j) => {
        maxDiff = Math.max(maxDiff, Math.abs(stored.probs[f * student.length + j] - online[f * classes.length + classes.indexOf(c)]));
      });
    }
    assert.ok(maxDiff < 1e-5, `stored vs online teacher probabilities differ by ${maxDiff}`);
  });

  it('an ensemble of teachers stores the mean of their probabilities and needs one class order', async () => {
    const second = path.join(TMP, 'teacher2');
    const model = createModel(parseModelName('fmn04', classes.length), { seed: 12 });
    saveCheckpoint(second, model, { classes });
    model.dispose();
    const one = files.slice(0, 1);
    await writeTeacherPseudoLabels({ teacher: second, inputs: one, outDir: path.join(TMP, 'pl2'), cacheDir: CACHE });
    await writeTeacherPseudoLabels({ teacher: [teacherDir, second], inputs: one, outDir: path.join(TMP, 'pl-ens'), cacheDir: CACHE });
    const read = (dir: string) => readPseudoLabels(path.join(TMP, dir), path.basename(one[0]), classes).probs;
    const [a, b, ens] = [read('pl'), read('pl2'), read('pl-ens')];
    let maxDiff = 0;
    let spread = 0;
    for (let i = 0; i < ens.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(ens[i] - (a[i] + b[i]) / 2));
      spread = Math.max(spread, Math.abs(a[i] - b[i]));
    }
    assert.ok(spread > 1e-3, 'the two teachers should disagree somewhere');
    assert.ok(maxDiff < 1e-6, `ensemble vs mean of the single-teacher files differs by ${maxDiff}`);

    const reordered = path.join(TMP, 'teacher-reordered');
    const m2 = createModel(parseModelName('fmn04', classes.length), { seed: 13 });
    saveCheckpoint(reordered, m2, { classes: [...classes].reverse() });
    m2.dispose();
    await assert.rejects(writeTeacherPseudoLabels({ teacher: [teacherDir, reordered], inputs: one, outDir: path.join(TMP, 'pl-bad'), cacheDir: CACHE }), /ensemble teachers must share their classes in the same order: .*teacher-reordered/);
  });

  const losses: Record<string, number> = {};
  for (const mode of ['stored', 'online'] as const) {
    it(`trains with ${mode} teacher targets`, async () => {
      const r = await train({
        model: 'fmn04',
        trainTsv: path.join(DATA, 'metadata', 'train.tsv'),
        trainAudio: path.join(DATA, 'audio', 'train'),
        outDir: path.join(TMP, `student-${mode}`),
        epochs: 1,
        batchSize: 2,
        limit: 4,
        cacheDir: CACHE,
        augment: NO_AUGMENT,
        ...(mode === 'stored' ? { pseudoLabels: path.join(TMP, 'pl') } : { teacher: teacherDir }),
      });
      assert.equal(r.steps, 2);
      assert.ok(Number.isFinite(r.history[0].trainLoss) && r.history[0].trainLoss > 0);
      const cfg = JSON.parse(fs.readFileSync(path.join(r.lastCheckpoint, 'config.json'), 'utf8'));
      assert.equal(cfg.training.teacher, mode === 'stored' ? path.join(TMP, 'pl') : teacherDir);
      losses[mode] = r.history[0].trainLoss;
      // Without augmentation both ways give the same targets, hence the same run.
      if (mode === 'online') assert.ok(Math.abs(losses.online - losses.stored) < 1e-5, `stored ${losses.stored} vs online ${losses.online}`);
    });
  }
});

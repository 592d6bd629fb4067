import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AUDIOSET_STRONG_CLASSES, AUDIOSET_STRONG_EVAL_CLASSES, readClassesFile, resolveClasses } from '../../engine/checkpoint/classes';
import { SHARED_DIR } from '../helpers/paths';

describe('checkpoint: class lists', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sed-cls-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('ships the 447 AudioSet-Strong training classes in strong-head order', () => {
    const shared = JSON.parse(fs.readFileSync(path.join(SHARED_DIR, 'data', 'audioset_strong_classes.json'), 'utf8'));
    assert.deepEqual([...AUDIOSET_STRONG_CLASSES], shared.train_classes_447);
    assert.equal(AUDIOSET_STRONG_CLASSES.length, 447);
    assert.equal(AUDIOSET_STRONG_EVAL_CLASSES.length, 416);
    assert.deepEqual([...AUDIOSET_STRONG_CLASSES], [...AUDIOSET_STRONG_CLASSES].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  });

  it('reads JSON lists, {"classes": [...]} and one-per-line text', () => {
    const f = (name: string, text: string): string => {
      const p = path.join(tmp, name);
      fs.writeFileSync(p, text);
      return p;
    };
    assert.deepEqual(readClassesFile(f('a.json', '["Dog", "Cat"]')), ['Dog', 'Cat']);
    assert.deepEqual(readClassesFile(f('b.json', '{"classes": ["Dog", "Cat, meow"]}')), ['Dog', 'Cat, meow']);
    assert.deepEqual(readClassesFile(f('c.txt', 'Dog\r\n\nCat, meow\n')), ['Dog', 'Cat, meow']);
    assert.throws(() => readClassesFile(f('d.txt', 'Dog\nDog\n')), /d\.txt: class 'Dog' is listed twice/);
    assert.throws(() => readClassesFile(f('e.json', '[1, 2]')), /e\.json: class list must be a JSON array of strings/);
    assert.throws(() => readClassesFile(f('f.json', '[')), /f\.json: class list is not valid JSON/);
    assert.throws(() => readClassesFile(f('g.txt', '\n\n')), /g\.txt: class list is empty/);
    assert.throws(() => readClassesFile(path.join(tmp, 'missing.txt')), /missing\.txt: cannot read class list \(ENOENT\)/);
  });

  it('defaults 447-class heads to AudioSet-Strong, other counts to placeholders with a warning', () => {
    assert.deepEqual(resolveClasses(447, undefined, 'x.pt'), { classes: [...AUDIOSET_STRONG_CLASSES] });
    const r = resolveClasses(3, undefined, 'x.pt');
    assert.deepEqual(r.classes, ['class_0', 'class_1', 'class_2']);
    assert.match(r.warning!, /^x\.pt: 3 classes and no class list given; using placeholder names class_0\.\.class_2 \(pass --classes <file>\)$/);
    assert.deepEqual(resolveClasses(2, ['a', 'b'], 'x.pt'), { classes: ['a', 'b'] });
    assert.throws(() => resolveClasses(447, ['a'], 'x.pt'), /x\.pt: the class list has 1 names but the checkpoint's heads have 447 outputs/);
  });
});

/** Score / ground-truth / durations TSV readers: formats, errors naming the file and line. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { audioIdOf, parseDurationsTsv, parseGroundTruthTsv } from '../../engine/detect/groundTruth';
import { formatFloat32, formatScoresTsv, parseScoresTsv, readScoresFolder } from '../../engine/detect/scoresTsv';

describe('score TSVs', () => {
  it('parses frames into T+1 timestamps and a [T, K] table', () => {
    const { classes, table } = parseScoresTsv('onset\toffset\ta\tb\n0.0\t0.5\t0.1\t1e-3\n0.5\t1.25\t-Infinity\t0.5\n');
    assert.deepEqual(classes, ['a', 'b']);
    assert.deepEqual([...table.timestamps], [0, 0.5, 1.25]);
    assert.deepEqual([...table.scores], [0.1, 0.001, -Infinity, 0.5]);
  });

  it('parses every number exactly as Number() does (fast path and fallback)', () => {
    let seed = 5;
    const r = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const fields: string[] = ['0', '-0.0', '5.', '.5', '1e-05', '2.5E+3', '-Infinity', '123456789012345678', '0.30000000000000004',
      '9007199254740993', '0.1234567890123456789', '+0.25', '1.0000000000000002', '4.35', '0.000001'];
    for (let i = 0; i < 3000; i++) {
      const digits = 1 + Math.floor(r() * 19);
      const int = Math.floor(r() * 3);
      let str = (r() < 0.2 ? '-' : '') + String(Math.floor(r() * 10 ** int));
      str += '.' + Array.from({ length: digits }, () => Math.floor(r() * 10)).join('');
      fields.push(str);
    }
    const text = 'onset\toffset\ta\n' + fields.map((f, i) => `${i}\t${i + 1}\t${f}`).join('\n') + '\n';
    const { table } = parseScoresTsv(text);
    fields.forEach((f, i) => assert.ok(Object.is(table.scores[i], Number(f)), `${f}: got ${table.scores[i]}, Number gives ${Number(f)}`));
  });

  it('rejects gaps, empty frames, bad headers and non-numbers with the line', () => {
    assert.throws(() => parseScoresTsv('onset\toffset\ta\n0\t1\t0.1\n1.5\t2\t0.2\n', 'x.tsv'), /x\.tsv:3: frames are not gapless/);
    assert.throws(() => parseScoresTsv('onset\toffset\ta\n0\t0\t0.1\n', 'x.tsv'), /x\.tsv:2: frame \[0, 0\)/);
    assert.throws(() => parseScoresTsv('start\tend\ta\n0\t1\t0.1\n', 'x.tsv'), /header must be/);
    assert.throws(() => parseScoresTsv('onset\toffset\ta\n0\t1\tabc\n', 'x.tsv'), /x\.tsv:2: score 'abc' for class 'a'/);
    assert.throws(() => parseScoresTsv('onset\toffset\ta\tb\n0\t1\t0.1\n', 'x.tsv'), /3 fields, expected 4/);
  });

  it('round-trips float64 tables exactly and float32 scores by their shortest decimal', () => {
    const ts = [0, 0.04, 0.08];
    const s64 = Float64Array.from([0.1, 1 / 3, 2e-9, 0.7]);
    const back = parseScoresTsv(formatScoresTsv(['a', 'b'], ts, s64));
    assert.deepEqual([...back.table.scores], [...s64]);
    for (const v of [0.1, 0.5, 1e-7, 0.99999994, 3.4e38, 1.17549435e-38]) {
      const f = Math.fround(v);
      assert.equal(Math.fround(Number(formatFloat32(f))), f);
      assert.ok(formatFloat32(f).length <= 16, formatFloat32(f));
    }
    assert.equal(formatFloat32(Math.fround(0.1)), '0.1');
  });

  it('reads a folder, taking the class list from the first id and rejecting a mismatch', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sed-scores-'));
    try {
      fs.writeFileSync(path.join(dir, 'b.tsv'), 'onset\toffset\tx\ty\n0\t1\t0.1\t0.2\n');
      fs.writeFileSync(path.join(dir, 'a.tsv'), 'onset\toffset\tx\ty\n0\t1\t0.3\t0.4\n');
      fs.writeFileSync(path.join(dir, 'notes.txt'), 'ignored');
      const set = readScoresFolder(dir);
      assert.deepEqual(set.classes, ['x', 'y']);
      assert.deepEqual([...set.files.keys()].sort(), ['a', 'b']);
      fs.writeFileSync(path.join(dir, 'c.tsv'), 'onset\toffset\ty\tx\n0\t1\t0.1\t0.2\n');
      assert.throws(() => readScoresFolder(dir), /c\.tsv: class columns differ/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.throws(() => readScoresFolder('/nonexistent/scores'), /cannot read/);
  });
});

describe('ground truth and durations TSVs', () => {
  it('maps filenames to audio ids and keeps files without events', () => {
    assert.equal(audioIdOf('a.b.wav'), 'a.b');
    assert.equal(audioIdOf('noext'), 'noext');
    const gt = parseGroundTruthTsv('filename\tonset\toffset\tevent_label\nx.wav\t1.0\t2.5\tDog\ny.wav\t\t\t\nx.wav\t3\t4\tCat\n');
    assert.deepEqual(gt.get('x'), [{ onset: 1, offset: 2.5, label: 'Dog' }, { onset: 3, offset: 4, label: 'Cat' }]);
    assert.deepEqual(gt.get('y'), []);
  });

  it('finds columns by header name and names bad rows', () => {
    const gt = parseGroundTruthTsv('event_label\tfilename\tonset\toffset\nDog\tx.wav\t1\t2\n');
    assert.deepEqual(gt.get('x'), [{ onset: 1, offset: 2, label: 'Dog' }]);
    assert.throws(() => parseGroundTruthTsv('filename\tonset\toffset\nx.wav\t1\t2\n', 'gt.tsv'), /gt\.tsv: header has no 'event_label'/);
    assert.throws(() => parseGroundTruthTsv('filename\tonset\toffset\tevent_label\nx.wav\tone\t2\tDog\n', 'gt.tsv'), /gt\.tsv:2: onset 'one'/);
    assert.throws(() => parseGroundTruthTsv('filename\tonset\toffset\tevent_label\nx.wav\t1\t2\t\n', 'gt.tsv'), /gt\.tsv:2: event without a label/);
  });

  it('parses durations and rejects duplicates and negatives', () => {
    const d = parseDurationsTsv('filename\tduration\na.wav\t10.0\nb.wav\t3.25\n');
    assert.deepEqual([...d], [['a', 10], ['b', 3.25]]);
    assert.throws(() => parseDurationsTsv('filename\tduration\na.wav\t1\na.wav\t2\n', 'd.tsv'), /d\.tsv:3: duplicate entry for 'a'/);
    assert.throws(() => parseDurationsTsv('filename\tduration\na.wav\t-1\n', 'd.tsv'), /negative duration/);
  });
});

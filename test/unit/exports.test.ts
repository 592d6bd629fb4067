/** Exports: DCASE TSV, Audacity labels, JSON, score TSVs — formats, atomic writes and round trips. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeEvents } from '../../engine/detect/events';
import {
  formatAudacityLabels, formatDcaseTsv, formatEventsJson, scoresFileName, writeDcaseTsv, writeScoresForAudio,
} from '../../engine/detect/exports';
import { parseGroundTruthTsv } from '../../engine/detect/groundTruth';
import { readScoresTsv } from '../../engine/detect/scoresTsv';

describe('exports', () => {
  const probs = Float32Array.from([0.9, 0.1, 0.8, 0.7, 0.2, 0.7, 0.3, 0.1]);
  const events = decodeEvents(probs, 4, ['Speech', 'Dog'], [0.5, 0.75]);
  const files = [{ filename: 'a.wav', events }, { filename: 'quiet.wav', events: [] }];
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sed-exports-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes a DCASE event TSV that reads back as ground truth', () => {
    const text = formatDcaseTsv(files, { threshold: 0.5, includeEmptyFiles: true });
    assert.equal(text.split('\n')[0], 'filename\tonset\toffset\tevent_label');
    assert.deepEqual(text.split('\n').slice(1, -1), ['a.wav\t0\t0.08\tSpeech', 'a.wav\t0.04\t0.12\tDog', 'quiet.wav\t\t\t']);
    const gt = parseGroundTruthTsv(text);
    assert.deepEqual(gt.get('a'), [{ onset: 0, offset: 0.08, label: 'Speech' }, { onset: 0.04, offset: 0.12, label: 'Dog' }]);
    assert.deepEqual(gt.get('quiet'), []);
    const file = path.join(dir, 'events.tsv');
    writeDcaseTsv(file, files, { threshold: 0.75 });
    assert.equal(fs.readFileSync(file, 'utf8'), 'filename\tonset\toffset\tevent_label\na.wav\t0\t0.08\tSpeech\n');
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temp files left');
  });

  it('writes Audacity label tracks and JSON', () => {
    assert.equal(formatAudacityLabels(events, { threshold: 0.5 }), '0.000000\t0.080000\tSpeech\n0.040000\t0.120000\tDog\n');
    const json = JSON.parse(formatEventsJson(files, { model: 'fmn10' }));
    assert.equal(json.model, 'fmn10');
    assert.equal(json.files[0].events.length, 3);
    assert.deepEqual(Object.keys(json.files[0].events[0]), ['onset', 'offset', 'label', 'max_score', 'mean_score', 'threshold']);
  });

  it('refuses labels that would break a TSV', () => {
    assert.throws(() => formatDcaseTsv([{ filename: 'a.wav', events: [{ ...events[0], label: 'bad\tlabel' }] }]), /tab or newline/);
  });

  it('writes sed_scores_eval score TSVs that read back to the same float32 scores', () => {
    assert.equal(scoresFileName('/x/clip.one.wav'), 'clip.one.tsv');
    const scores = Float32Array.from({ length: 300 * 3 }, (_, i) => Math.fround(Math.abs(Math.sin(i * 12.9898)) ** 3));
    const file = writeScoresForAudio(dir, 'clip.one.wav', ['a', 'b', 'c'], scores, 300);
    assert.equal(path.basename(file), 'clip.one.tsv');
    const { classes, table } = readScoresTsv(file);
    assert.deepEqual(classes, ['a', 'b', 'c']);
    assert.equal(table.timestamps.length, 301);
    assert.equal(table.timestamps[1], 0.04);
    assert.equal(table.timestamps[250], 10);
    for (let i = 0; i < scores.length; i++) assert.equal(Math.fround(table.scores[i]), scores[i]);
    // Order and ties are what PSDS depends on: both must survive the text round trip.
    for (let i = 1; i < scores.length; i++) assert.equal(Math.sign(table.scores[i] - table.scores[i - 1]), Math.sign(scores[i] - scores[i - 1]));
  });
});

import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../../engine/backend/select';
import { loadCheckpoint, saveCheckpoint } from '../../engine/checkpoint/index';
import { decodeEvents } from '../../engine/detect/events';
import { detectFile, selectClasses } from '../../engine/detect/pipeline';
import { scoreAudioFiles } from '../../engine/detect/scoreSet';
import { workerEntry } from '../../engine/workerEntry';
import { readGroundTruthTsv } from '../../engine/detect/groundTruth';
import { evaluate, evaluateFiles } from '../../engine/eval/index';
import { createModel, parseModelName } from '../../engine/models/index';
import { REPO_ROOT, SHARED_DIR } from '../helpers/paths';

const CLASSES = ['clearthroat', 'cough', 'doorslam', 'drawer', 'keyboard', 'keysDrop', 'knock', 'laughter', 'pageturn', 'phone', 'speech'];
const SAMPLES = path.join(SHARED_DIR, 'data', 'dcase2016t2-samples');

describe('detection pipeline (sed detect)', function () {
  let dir: string;
  let ckptDir: string;
  before(async () => {
    // --jobs > 1 runs worker threads on the engine bundle.
    if (!workerEntry()) spawnSync(process.execPath, ['esbuild.config.mjs'], { cwd: REPO_ROOT, stdio: 'inherit' });
    await initBackend('wasm');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sed-detect-'));
    ckptDir = path.join(dir, 'ckpt');
    const model = createModel(parseModelName('fmn04', CLASSES.length), { seed: 7 });
    saveCheckpoint(ckptDir, model, { classes: CLASSES, thresholds: CLASSES.map(() => 0.5) });
    model.dispose();
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('scores every 40 ms frame of the file and decodes events consistent with the scores', async () => {
    const ckpt = loadCheckpoint(ckptDir);
    const file = path.join(SAMPLES, 'keyboard009.wav');
    const r = await detectFile(file, ckpt, { thresholds: [0.3, 0.5] });
    assert.equal(r.frames, Math.ceil(r.durationSeconds / 0.04 - 1e-9));
    assert.equal(r.scores.length, r.frames * CLASSES.length);
    assert.ok(r.scores.every((s) => s >= 0 && s <= 1));
    assert.deepEqual(r.events, decodeEvents(r.scores, r.frames, CLASSES, [0.3, 0.5], { frameSeconds: 0.04, durationSeconds: r.durationSeconds }));
    for (const e of r.events) assert.ok(e.offset <= r.durationSeconds + 1e-9 && e.onset < e.offset);
    ckpt.model.dispose();
  });

  it('restricts to a class subset and rejects unknown classes listing the valid ones', async () => {
    assert.deepEqual(selectClasses(CLASSES, ['speech', 'cough']), [10, 1]);
    assert.throws(() => selectClasses(CLASSES, ['bark']), /Unknown class 'bark'.*clearthroat, cough/);
  });

  it('processes a long file in 10 s chunks: a 25 s file equals its pieces scored alone', async () => {
    const ckpt = loadCheckpoint(ckptDir);
    const { writeWav } = await import('../helpers/wav');
    const long = path.join(dir, 'long.wav');
    const sr = 16000;
    const samples = new Float32Array(25 * sr).map((_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / sr) * (i > 12 * sr ? 1 : 0.1));
    writeWav(long, [samples], sr);
    const whole = await detectFile(long, ckpt, { medianWindow: 1 });
    assert.equal(whole.frames, 625);
    const first = path.join(dir, 'first.wav');
    writeWav(first, [samples.subarray(0, 10 * sr)], sr);
    const alone = await detectFile(first, ckpt, { medianWindow: 1 });
    const C = CLASSES.length;
    for (let i = 0; i < 250 * C; i++) assert.ok(Math.abs(whole.scores[i] - alone.scores[i]) < 1e-5);
    ckpt.model.dispose();
  });

  it('CLI: writes DCASE TSV, reports and skips a broken file while the others finish; 2 worker threads give the same table', function () {
    const broken = path.join(SHARED_DIR, 'data', 'formats', 'broken_text_file.wav');
    const good = [path.join(SAMPLES, 'keyboard009.wav'), path.join(SAMPLES, 'clearthroat024.wav')];
    const run = (jobs: string) => {
      const out = path.join(dir, `events-j${jobs}.tsv`);
      const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'engine', 'main.ts'), 'detect', good[0], broken, good[1], '--model', ckptDir, '--threshold', '0.5', '--out', out, '--no-progress', '--jobs', jobs], { encoding: 'utf8', env: { ...process.env, SED_BACKEND: 'wasm' } });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /skipped .*broken_text_file\.wav/);
      return fs.readFileSync(out, 'utf8');
    };
    const sequential = run('1');
    const lines = sequential.trim().split('\n');
    assert.equal(lines[0], 'filename\tonset\toffset\tevent_label');
    for (const l of lines.slice(1)) assert.match(l, /^(keyboard009|clearthroat024)\.wav\t[\d.]+\t[\d.]+\t\w+$/);
    assert.equal(run('2'), sequential);
  });

  it('CLI: unknown model and unknown format are clear errors', function () {
    const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'engine', 'main.ts'), 'detect', path.join(SAMPLES, 'keyboard009.wav'), ...args], { encoding: 'utf8' });
    const badModel = run('--model', 'no-such-model');
    assert.equal(badModel.status, 1);
    assert.match(badModel.stderr, /Unknown model 'no-such-model'/);
    const badFormat = run('--format', 'xml');
    assert.match(badFormat.stderr, /unknown format 'xml'. Valid formats: tsv, audacity, json, scores/);
  });

  it('sed eval --audio scores audio with the model first: same PSDS1 as scoring to TSVs then evaluating them', async function () {
    const ckpt = loadCheckpoint(ckptDir);
    const root = path.join(SHARED_DIR, 'data', 'dcase2016t2-soundscapes');
    const ids = ['validation_0000', 'validation_0001'];
    const files = ids.map((id) => path.join(root, 'audio', 'validation', `${id}.flac`));
    const gtLines = fs.readFileSync(path.join(root, 'metadata', 'validation.tsv'), 'utf8').split('\n');
    const gtFile = path.join(dir, 'gt.tsv');
    fs.writeFileSync(gtFile, [gtLines[0], ...gtLines.filter((l) => ids.some((id) => l.startsWith(`${id}.`)))].join('\n') + '\n');
    const scoresDir = path.join(dir, 'scores');
    const scored = await scoreAudioFiles(files, ckpt, { saveScoresDir: scoresDir });
    assert.deepEqual([...scored.durations.values()], [10, 10]);
    const opts = { psds2: false as const, intersectionF1: false as const, collarF1: false as const, dropClassesWithoutGroundTruth: true };
    const direct = evaluate(scored.scores, readGroundTruthTsv(gtFile), scored.durations, opts);
    const viaFiles = evaluateFiles({ scoresDir, groundTruthTsv: gtFile }, opts);
    assert.ok(Math.abs(direct.psds1!.psds - viaFiles.psds1!.psds) < 1e-6, `${direct.psds1!.psds} vs ${viaFiles.psds1!.psds}`);
    ckpt.model.dispose();
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'engine', 'main.ts'), 'eval', '--audio', ...files, '--model', ckptDir, '--ground-truth', gtFile, '--json', '--psds1-only', '--drop-classes-without-gt'], { encoding: 'utf8', env: { ...process.env, SED_BACKEND: 'wasm' } });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(Math.abs(JSON.parse(r.stdout).psds1.psds - direct.psds1!.psds) < 1e-9);
  });
});

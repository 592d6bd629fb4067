/**
 * Model store and detection requests through the real engine process, with a small user checkpoint
 * (fmn04, 5 classes, seeded weights) written by the test: listModels, loadModel, detect (scores file,
 * events, exports, equality with the in-process pipeline), scores → evaluate, cancellation, errors.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ErrorCodes, ResponseError } from 'vscode-jsonrpc';
import { initBackend } from '../../engine/backend/select';
import { loadCheckpoint, saveCheckpoint } from '../../engine/checkpoint/index';
import { detectFile } from '../../engine/detect/pipeline';
import { readSafetensors } from '../../engine/io/safetensors';
import { countParams, createModel, parseModelName } from '../../engine/models/index';
import {
  DetectRequest,
  EngineErrorCodes,
  EvaluateRequest,
  ExecuteCellRequest,
  ResetKernelRequest,
  ListModelsRequest,
  LoadModelRequest,
  PseudoLabelRequest,
  ScoresRequest,
  StatsRequest,
  type JobProgress,
} from '../../engine/protocol/protocol';
import { EngineClient } from '../../extension/client/engineClient';
import { SHARED_DIR } from '../helpers/paths';
import { ensureEngineBuilt } from './engineBuild';
import { assertNoNumberArrays } from './assertions';
import { writeTestWav } from './testWav';

const SAMPLES = path.join(SHARED_DIR, 'data', 'dcase2016t2-samples');
const CLASSES = ['alarm', 'bark', 'cough', 'door', 'speech'];

describe('server/detect (real engine process, user checkpoint)', function () {
  let client: EngineClient;
  let tmp: string;
  let ckptDir: string;

  before(async function () {
    this.timeout(120_000);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sed-detect-'));
    ckptDir = path.join(tmp, 'models', 'tiny-fmn04');
    await initBackend('wasm');
    const model = createModel(parseModelName('fmn04', CLASSES.length), { seed: 7 });
    saveCheckpoint(ckptDir, model, { classes: CLASSES, thresholds: [0.3, 0.3, 0.5, 0.5, 0.5], medianWindowFrames: 5 });
    model.dispose();
    client = new EngineClient({ enginePath: ensureEngineBuilt(), backend: 'wasm', cacheDir: path.join(tmp, 'cache'), env: { SED_CACHE_DIR: path.join(tmp, 'pulled') } });
    await client.start();
  });
  after(() => {
    client?.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('listModels finds the user checkpoint; loadModel reports its classes and size', async () => {
    const { models } = await client.request(ListModelsRequest, { userDirs: [path.join(tmp, 'models')] });
    const mine = models.find((e) => e.source === 'user');
    assert.deepEqual(mine, { id: ckptDir, name: 'fmn04', source: 'user', path: ckptDir, numClasses: 5 });
    const loaded = await client.request(LoadModelRequest, { model: ckptDir });
    assert.equal(loaded.path, ckptDir);
    assert.equal(loaded.name, 'fmn04');
    assert.deepEqual(loaded.classes, CLASSES);
    assert.equal(loaded.numParams, countParams(parseModelName('fmn04', 5)));
    assert.deepEqual(loaded.thresholds, [0.3, 0.3, 0.5, 0.5, 0.5]);
    assert.equal(loaded.medianWindow, 5);
  });

  it('detect on a shared audio file: scores file, events consistent with it, exports, same scores as the in-process pipeline', async function () {
    this.timeout(60_000);
    const wav = path.join(SAMPLES, 'keyboard005.wav');
    const progress: JobProgress[] = [];
    const exportsDir = path.join(tmp, 'exports');
    const r = await client.request(
      DetectRequest,
      { file: wav, model: ckptDir, exports: { tsv: path.join(exportsDir, 'e.tsv'), audacity: path.join(exportsDir, 'e.txt'), json: path.join(exportsDir, 'e.json') } },
      { onProgress: (p) => progress.push(p) },
    );
    assertNoNumberArrays(r);
    assert.equal(r.modelName, 'fmn04');
    assert.deepEqual(r.classes, CLASSES);
    assert.deepEqual(r.thresholds, [0.3, 0.5]);
    assert.equal(r.frames, Math.ceil(r.duration / 0.04));
    assert.ok(Math.abs(r.duration - 2.61) < 1e-6);
    const scores = readSafetensors(r.scoresFile);
    const s = scores.tensors.get('scores')!;
    assert.deepEqual(s.shape, [r.frames, 5]);
    assert.deepEqual(JSON.parse(scores.metadata.classes), CLASSES);
    const data = s.data as Float32Array;
    for (const e of r.events) {
      const c = CLASSES.indexOf(e.label);
      const f0 = Math.round(e.onset / 0.04);
      assert.ok(data[f0 * 5 + c] > e.threshold, `event ${JSON.stringify(e)} starts on an active frame`);
      assert.ok(e.maxScore > e.threshold && e.meanScore <= e.maxScore);
    }
    assert.deepEqual(r.exported.sort(), ['e.json', 'e.tsv', 'e.txt'].map((f) => path.join(exportsDir, f)).sort());
    assert.match(fs.readFileSync(path.join(exportsDir, 'e.tsv'), 'utf8'), /^filename\tonset\toffset\tevent_label/);
    assert.ok(progress.some((p) => p.kind === 'begin') && progress.some((p) => p.kind === 'end'));

    // The same checkpoint through the pipeline in this process: the server path adds nothing to the scores.
    const ckpt = loadCheckpoint(ckptDir);
    try {
      const local = await detectFile(wav, ckpt);
      assert.equal(local.frames, r.frames);
      let maxDiff = 0;
      for (let i = 0; i < data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(data[i] - local.scores[i]));
      assert.ok(maxDiff < 1e-6, `engine vs in-process scores differ by ${maxDiff}`);
    } finally {
      ckpt.model.dispose();
    }
  });

  it('detect: bad model, class or threshold are parameter errors naming them; a missing file is FileNotFound', async () => {
    const wav = path.join(SAMPLES, 'cough006.wav');
    await assert.rejects(client.request(DetectRequest, { file: wav, model: 'no-such-model' }), (e: ResponseError<unknown>) => e.code === ErrorCodes.InvalidParams && /parameter 'model'/.test(e.message) && /no-such-model/.test(e.message));
    await assert.rejects(client.request(DetectRequest, { file: wav, model: ckptDir, classes: ['meow'] }), (e: ResponseError<unknown>) => e.code === ErrorCodes.InvalidParams && /Unknown class 'meow'. Valid classes: alarm, bark/.test(e.message));
    await assert.rejects(client.request(DetectRequest, { file: wav, model: ckptDir, thresholds: [1.5] }), (e: ResponseError<unknown>) => e.code === ErrorCodes.InvalidParams && /'thresholds'/.test(e.message));
    await assert.rejects(client.request(DetectRequest, { file: path.join(tmp, 'missing.wav'), model: ckptDir }), (e: ResponseError<unknown>) => e.code === EngineErrorCodes.FileNotFound && e.message.includes('missing.wav'));
  });

  it('detect stops between chunks when cancelled, and leaks no tensors', async function () {
    this.timeout(60_000);
    const long = path.join(tmp, 'chirp-200s.wav');
    writeTestWav(long, 200);
    const before = await client.request(StatsRequest);
    const abort = new AbortController();
    const progress: JobProgress[] = [];
    const p = client.request(DetectRequest, { file: long, model: ckptDir }, { signal: abort.signal, onProgress: (v) => progress.push(v) });
    const t0 = Date.now();
    while (!progress.some((v) => v.kind === 'report') && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 5));
    abort.abort();
    await assert.rejects(p, (e: ResponseError<unknown>) => e.code === EngineErrorCodes.RequestCancelled);
    const reports = progress.filter((v) => v.kind === 'report');
    assert.equal(reports[0].total, 20);
    assert.ok(reports[reports.length - 1].done! < 20, `stopped after ${reports[reports.length - 1].done} of 20 chunks`);
    assert.equal((await client.request(StatsRequest)).numTensors, before.numTensors);
  });

  it('scores → evaluate: score tables for a folder-free list of files feed PSDS evaluation', async function () {
    this.timeout(60_000);
    const files = ['cough006.wav', 'keyboard005.wav'].map((f) => path.join(SAMPLES, f));
    const outDir = path.join(tmp, 'scores');
    const s = await client.request(ScoresRequest, { inputs: files, model: ckptDir, outDir });
    assert.deepEqual(s.files, [path.join(outDir, 'cough006.tsv'), path.join(outDir, 'keyboard005.tsv')]);
    assert.match(fs.readFileSync(s.files[0], 'utf8').split('\n')[0], /^onset\toffset\talarm\tbark\tcough\tdoor\tspeech$/);
    const gt = path.join(tmp, 'gt.tsv');
    fs.writeFileSync(gt, 'filename\tonset\toffset\tevent_label\ncough006.wav\t0.1\t0.5\tcough\nkeyboard005.wav\t0.2\t2.0\tspeech\n');
    const e = await client.request(EvaluateRequest, { scoresDir: outDir, groundTruth: gt, options: { dropClassesWithoutGroundTruth: true } });
    assert.ok(e.psds1! >= 0 && e.psds1! <= 1);
    assert.deepEqual(e.classes, ['cough', 'speech']);
    assert.deepEqual(e.droppedClasses.sort(), ['alarm', 'bark', 'door']);
    assert.equal(e.audioFiles, 2);
  });

  it('pseudoLabel writes the teacher\'s probabilities per file', async function () {
    this.timeout(60_000);
    const outDir = path.join(tmp, 'pseudo');
    const r = await client.request(PseudoLabelRequest, { teacher: ckptDir, inputs: [path.join(SAMPLES, 'cough006.wav')], outDir });
    assert.equal(r.files.length, 1);
    const probs = readSafetensors(r.files[0]).tensors.get('probs')!;
    assert.equal(probs.shape[1], 5);
    assert.ok(probs.shape[0] >= Math.ceil(0.66 / 0.04));
    await assert.rejects(client.request(PseudoLabelRequest, { teacher: path.join(tmp, 'nope'), inputs: [SAMPLES], outDir }), (e: ResponseError<unknown>) => e.code === EngineErrorCodes.FileNotFound && /teacher/.test(e.message));
    // An ensemble of the same checkpoint twice stores the same probabilities; a missing member is named.
    const ens = await client.request(PseudoLabelRequest, { teacher: [ckptDir, ckptDir], inputs: [path.join(SAMPLES, 'cough006.wav')], outDir: path.join(tmp, 'pseudo-ens') });
    const mean = readSafetensors(ens.files[0]).tensors.get('probs')!;
    assert.ok(Array.from(mean.data as Float32Array).every((v, i) => Math.abs(v - (probs.data as Float32Array)[i]) < 1e-6));
    await assert.rejects(client.request(PseudoLabelRequest, { teacher: [ckptDir, path.join(tmp, 'nope')], inputs: [SAMPLES], outDir }), (e: ResponseError<unknown>) => e.code === EngineErrorCodes.FileNotFound && /teacher\[1\]/.test(e.message));
  });

  it('notebook cells reach the engine through `sed`: detect + event roll (binary output as a file), profile, models, reset frees tensors', async function () {
    this.timeout(60_000);
    const nb = { notebook: 'file:///tmp/sed-test.sednb', language: 'typescript' as const };
    const wav = path.join(SAMPLES, 'cough006.wav');
    const r1 = await client.request(ExecuteCellRequest, {
      ...nb,
      code: `const r = await sed.detect(${JSON.stringify(wav)}, { model: ${JSON.stringify(ckptDir)} });\nconst mel = await sed.mel(${JSON.stringify(wav)});\nsed.show.events(r, { mel });\nsed.show.spectrogram(mel);\nconst rows = await sed.profile(['fmn04']);\nsed.show.tradeoff(rows);\n({ events: r.events.length, frames: r.frames, classes: r.classes.join(','), params: rows[0].params })`,
    });
    assert.equal(r1.success, true, JSON.stringify(r1.outputs));
    assertNoNumberArrays(r1);
    const [roll, spec, trade, value] = r1.outputs;
    assert.equal(roll.mime, 'application/vnd.sed-studio.event-roll');
    assert.equal(roll.data, '');
    const blob = readSafetensors(roll.file!);
    assert.deepEqual(blob.tensors.get('probs')!.shape, [5, Math.ceil(0.662 / 0.04)]);
    assert.deepEqual(JSON.parse(blob.metadata.header).classes, CLASSES);
    assert.ok(blob.tensors.has('spectrogram'));
    assert.equal(spec.mime, 'application/vnd.sed-studio.spectrogram');
    assert.equal(trade.mime, 'application/vnd.sed-studio.tradeoff+json');
    assert.equal(JSON.parse(trade.data).rows[0].model, 'fmn04');
    assert.match(value.data, /classes: 'alarm,bark,cough,door,speech'/);
    assert.match(value.data, new RegExp(`params: ${countParams(parseModelName('fmn04'))}`));

    const before = (await client.request(StatsRequest)).numTensors;
    const r2 = await client.request(ExecuteCellRequest, { ...nb, code: 'const m = sed.models.create("fmn04+tf:64");\nconst x = sed.tf.ones([2, 2]);\nm.params.size' });
    assert.equal(r2.success, true, JSON.stringify(r2.outputs));
    assert.ok((await client.request(StatsRequest)).numTensors > before);
    await client.request(ResetKernelRequest, { notebook: nb.notebook });
    assert.equal((await client.request(StatsRequest)).numTensors, before, 'reset disposed the model and the tensor the cells left');
  });

  it('memory stays flat across repeated detections (tensors exact, RSS bounded)', async function () {
    this.timeout(60_000);
    const wav = path.join(SAMPLES, 'cough006.wav');
    await client.request(DetectRequest, { file: wav, model: ckptDir });
    const before = await client.request(StatsRequest);
    await Promise.all(Array.from({ length: 5 }, () => client.request(DetectRequest, { file: wav, model: ckptDir })));
    const after = await client.request(StatsRequest);
    assert.equal(after.numTensors, before.numTensors);
    assert.ok((after.rss - before.rss) / 2 ** 20 < 64, `RSS grew ${((after.rss - before.rss) / 2 ** 20).toFixed(1)} MiB over 5 detections`);
  });
});

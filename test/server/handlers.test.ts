/**
 * Engine requests that call engine functions, through the client and the real engine process:
 * mel (bulk data as a safetensors file), profile (params/MACs against the upstream anchors, timing),
 * evaluate (PSDS against a shared fixture), and errors naming the file or parameter.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ErrorCodes, ResponseError } from 'vscode-jsonrpc';
import { readSafetensors } from '../../engine/io/safetensors';
import { EngineErrorCodes, EvaluateRequest, ExecuteCellRequest, MelRequest, ProfileRequest, StatsRequest, SweepRequest, type JobProgress } from '../../engine/protocol/protocol';
import { EngineClient } from '../../extension/client/engineClient';
import { PSDS_DIR, SHARED_DIR } from '../helpers/paths';
import { assertNoNumberArrays } from './assertions';
import { ensureEngineBuilt } from './engineBuild';
import { writeTestWav } from './testWav';

const SAMPLES = path.join(SHARED_DIR, 'data', 'dcase2016t2-samples');

describe('server/handlers (real engine process)', function () {
  let client: EngineClient;
  let tmp: string;

  before(async function () {
    this.timeout(120_000);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sed-handlers-'));
    client = new EngineClient({ enginePath: ensureEngineBuilt(), backend: 'wasm', cacheDir: tmp });
    await client.start();
  });
  after(() => {
    client?.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('mel: writes the log-mel of a whole file as safetensors [128, T], path in the result', async () => {
    const wav = path.join(SAMPLES, 'cough006.wav');
    const r = await client.request(MelRequest, { file: wav });
    assertNoNumberArrays(r);
    assert.ok(r.file.startsWith(tmp), 'result files go to the cache folder');
    const { tensors, metadata } = readSafetensors(r.file);
    const mel = tensors.get('mel')!;
    assert.deepEqual(mel.shape, r.shape);
    assert.equal(mel.shape[0], 128);
    // One frame per 10 ms of audio (the frontend's hop), within a frame of rounding.
    assert.ok(Math.abs(mel.shape[1] - r.audioDuration * 100) <= 1.5, `T=${mel.shape[1]} for ${r.audioDuration} s`);
    const data = mel.data as Float32Array;
    let min = Infinity;
    let max = -Infinity;
    for (const v of data) {
      assert.ok(Number.isFinite(v));
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    assert.equal(r.min, min);
    assert.equal(r.max, max);
    assert.ok(max > min);
    assert.equal(metadata.file, wav);
  });

  it('mel: a time range gives exactly that many frames, equal to the same frames of the whole-file mel (also across a 10 s chunk boundary)', async function () {
    this.timeout(60_000);
    const long = path.join(tmp, 'chirp-12s.wav');
    writeTestWav(long, 12);
    for (const [wav, start] of [[path.join(SAMPLES, 'keyboard005.wav'), 0.5], [long, 9.9]] as const) {
      const name = path.basename(wav);
      const whole = await client.request(MelRequest, { file: wav, duration: start + 1 });
      const part = await client.request(MelRequest, { file: wav, start, duration: 0.3 });
      assert.deepEqual(part.shape, [128, 30]);
      const a = readSafetensors(whole.file).tensors.get('mel')!.data as Float32Array;
      const b = readSafetensors(part.file).tensors.get('mel')!.data as Float32Array;
      const T = whole.shape[1];
      const offset = Math.round(start * 100);
      for (const f of [0, 64, 127]) for (const j of [0, 10, 29]) assert.equal(b[f * 30 + j], a[f * T + offset + j], `${name} mel[${f}, ${offset + j}]`);
    }
  });

  it('mel: cancelling between chunks of a long file stops the job early', async function () {
    this.timeout(60_000);
    const long = path.join(tmp, 'chirp-120s.wav');
    writeTestWav(long, 120);
    const abort = new AbortController();
    const progress: JobProgress[] = [];
    const p = client.request(MelRequest, { file: long }, { signal: abort.signal, onProgress: (v) => progress.push(v) });
    const t0 = Date.now();
    while (!progress.some((v) => v.kind === 'report') && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 5));
    abort.abort();
    await assert.rejects(p, (e: ResponseError<unknown>) => e.code === EngineErrorCodes.RequestCancelled);
    const reports = progress.filter((v) => v.kind === 'report');
    assert.equal(reports[0].total, 12);
    assert.ok(reports[reports.length - 1].done! < 12, `stopped after chunk ${reports[reports.length - 1]?.done} of 12`);
  });

  it('errors name the missing file or the bad parameter, and the engine keeps serving', async () => {
    await assert.rejects(client.request(MelRequest, { file: '/no/such/file.wav' }), (e: ResponseError<{ path: string }>) => e.code === EngineErrorCodes.FileNotFound && /sed\/mel: file '\/no\/such\/file\.wav' does not exist/.test(e.message) && e.data?.path === '/no/such/file.wav');
    await assert.rejects(client.request(MelRequest, { file: path.join(SAMPLES, 'cough006.wav'), start: -1 }), (e: ResponseError<unknown>) => e.code === ErrorCodes.InvalidParams && /parameter 'start' must be ≥ 0/.test(e.message));
    await assert.rejects(client.request(MelRequest, { file: path.join(SAMPLES, 'cough006.wav'), start: 9999 }), (e: ResponseError<unknown>) => e.code === EngineErrorCodes.EngineError && /'start' 9999 s is past the end/.test(e.message));
    const notAudio = path.join(tmp, 'not-audio.wav');
    fs.writeFileSync(notAudio, 'hello');
    await assert.rejects(client.request(MelRequest, { file: notAudio }), (e: ResponseError<unknown>) => e.code === EngineErrorCodes.EngineError && e.message.includes(notAudio));
    await assert.rejects(client.request(ProfileRequest, { models: ['fmn04', 'fmn04+lstm:64'] }), (e: ResponseError<unknown>) => e.code === ErrorCodes.InvalidParams && /models\[1\]/.test(e.message) && /Unknown sequence model 'lstm'/.test(e.message));
    await assert.rejects(client.request(EvaluateRequest, { scoresDir: tmp, groundTruth: '/missing/gt.tsv' }), (e: ResponseError<unknown>) => e.code === EngineErrorCodes.FileNotFound && /groundTruth '\/missing\/gt\.tsv'/.test(e.message));
    assert.equal((await client.request(ExecuteCellRequest, { notebook: 'n', code: '"still here"', language: 'javascript' })).outputs[0].data, 'still here');
  });

  it('profile: parameter and MAC counts equal the upstream anchors; timing on the active backend leaks no tensors', async function () {
    this.timeout(60_000);
    const anchors = new Map(
      fs.readFileSync(path.join(SHARED_DIR, 'anchors', 'upstream_params_macs.csv'), 'utf8').trim().split('\n').slice(1).map((l) => {
        const c = l.split(',');
        return [c[0], { params: Number(c[1]), mmacs: Number(c[6]) }] as const;
      }),
    );
    const before = await client.request(StatsRequest);
    const r = await client.request(ProfileRequest, { models: ['fmn04', 'fmn10'] });
    assert.deepEqual(r.rows.map((row) => row.name), ['fmn04', 'fmn10']);
    for (const row of r.rows) {
      const a = anchors.get(row.name)!;
      assert.equal(row.params, a.params, `${row.name} params`);
      assert.ok(Math.abs(row.macs / 1e6 - a.mmacs) < 0.1, `${row.name}: ${row.macs / 1e6} MMACs vs anchor ${a.mmacs}`);
    }
    const timed = await client.request(ProfileRequest, { models: ['fmn04'], time: true, repeats: 1, seconds: 2 });
    assert.ok(timed.rows[0].ms! > 0);
    assert.equal(timed.backend, 'wasm');
    assert.equal((await client.request(StatsRequest)).numTensors, before.numTensors);
  });

  it('sweep: the grid of backbones × sequence models × sizes, counts equal the anchors, trade-off JSON written', async () => {
    const anchors = new Map(
      fs.readFileSync(path.join(SHARED_DIR, 'anchors', 'upstream_params_macs.csv'), 'utf8').trim().split('\n').slice(1).map((l) => [l.split(',')[0].toLowerCase(), Number(l.split(',')[1])] as const),
    );
    const r = await client.request(SweepRequest, { backbones: ['fmn04'], seqModels: ['none', 'tf', 'bigru'], hidden: [104] });
    assert.deepEqual(r.rows.map((row) => [row.name, row.seq]), [['fmn04', 'none'], ['fmn04+tf:104', 'TF'], ['fmn04+bigru:104', 'BIGRU']]);
    for (const row of r.rows) assert.equal(row.params, anchors.get(row.name), row.name);
    const chart = JSON.parse(fs.readFileSync(r.file, 'utf8')) as { rows: Array<{ model: string; params: number }> };
    assert.deepEqual(chart.rows.map((x) => x.model), ['fmn04', 'fmn04+tf:104', 'fmn04+bigru:104']);
    await assert.rejects(client.request(SweepRequest, { backbones: ['fmn04'], seqModels: ['lstm'] }), (e: ResponseError<unknown>) => e.code === ErrorCodes.InvalidParams && /fmn04\+lstm:256/.test(e.message));
  });

  it('evaluate: PSDS1/PSDS2 of a shared fixture match its expected values; curves go to a file', async function () {
    this.timeout(60_000);
    const dir = path.join(PSDS_DIR, 'small_basic');
    const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as { psds1: { psds: number }; psds2: { psds: number } };
    const r = await client.request(EvaluateRequest, { scoresDir: path.join(dir, 'scores'), groundTruth: path.join(dir, 'ground_truth.tsv'), durations: path.join(dir, 'durations.tsv') });
    assertNoNumberArrays(r);
    assert.ok(Math.abs(r.psds1! - expected.psds1.psds) < 1e-9, `psds1 ${r.psds1} vs ${expected.psds1.psds}`);
    assert.ok(Math.abs(r.psds2! - expected.psds2.psds) < 1e-9, `psds2 ${r.psds2} vs ${expected.psds2.psds}`);
    const full = JSON.parse(fs.readFileSync(r.file, 'utf8')) as { psds1: { psd_roc: { efpr: number[] } } };
    assert.ok(Array.isArray(full.psds1.psd_roc.efpr) && full.psds1.psd_roc.efpr.length >= 2, 'the curve is in the file');
    await assert.rejects(
      client.request(EvaluateRequest, { scoresDir: path.join(dir, 'scores'), groundTruth: path.join(dir, 'ground_truth.tsv'), options: { psds3: {} } }),
      (e: ResponseError<unknown>) => e.code === ErrorCodes.InvalidParams && /unknown key\(s\) psds3; valid keys: psds1/.test(e.message),
    );
  });
});

/** Training through the real engine process: cancel mid-run → it stops at the next batch and saves a checkpoint. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ErrorCodes, ResponseError } from 'vscode-jsonrpc';
import { readCheckpointConfig } from '../../engine/checkpoint/index';
import { ListJobsRequest, StatsRequest, TrainRequest, type JobProgress } from '../../engine/protocol/protocol';
import { EngineClient } from '../../extension/client/engineClient';
import { SHARED_DIR } from '../helpers/paths';
import { ensureEngineBuilt } from './engineBuild';

const DATA = path.join(SHARED_DIR, 'data', 'dcase2016t2-soundscapes');

describe('server/train (real engine process)', function () {
  let client: EngineClient;
  let tmp: string;

  before(async function () {
    this.timeout(120_000);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sed-train-'));
    client = new EngineClient({ enginePath: ensureEngineBuilt(), backend: 'wasm', cacheDir: path.join(tmp, 'cache') });
    await client.start();
  });
  after(() => {
    client?.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('bad training parameters name the parameter', async () => {
    await assert.rejects(
      client.request(TrainRequest, { model: 'fmn04', outDir: tmp, trainTsv: path.join(DATA, 'metadata', 'train.tsv'), trainAudio: path.join(DATA, 'audio', 'train'), epochs: 1, options: { batchsize: 2 } }),
      (e: ResponseError<unknown>) => e.code === ErrorCodes.InvalidParams && /unknown key\(s\) batchsize; valid keys: batchSize/.test(e.message),
    );
    await assert.rejects(
      client.request(TrainRequest, { model: 'fmn04', outDir: tmp, trainTsv: path.join(DATA, 'metadata', 'train.tsv'), trainAudio: path.join(DATA, 'audio', 'train') } as never),
      (e: ResponseError<unknown>) => e.code === ErrorCodes.InvalidParams && /'epochs' is required/.test(e.message),
    );
  });

  it('cancelling a training run mid-way stops it at the next batch and saves a loadable checkpoint', async function () {
    this.timeout(150_000);
    const outDir = path.join(tmp, 'run');
    const abort = new AbortController();
    const progress: JobProgress[] = [];
    const pending = client.request(
      TrainRequest,
      {
        model: 'fmn04',
        outDir,
        trainTsv: path.join(DATA, 'metadata', 'train.tsv'),
        trainAudio: path.join(DATA, 'audio', 'train'),
        epochs: 3,
        options: { limit: 2, batchSize: 1, seed: 1, cacheDir: path.join(tmp, 'wavcache') },
      },
      { signal: abort.signal, onProgress: (p) => progress.push(p) },
    );
    const t0 = Date.now();
    // Progress arrives when the trainer yields to the event loop (at the latest between epochs).
    while (!progress.some((p) => /^epoch \d+\/3 batch/.test(p.message ?? '')) && Date.now() - t0 < 100_000) await new Promise((r) => setTimeout(r, 20));
    assert.equal((await client.request(StatsRequest)).numTensors >= 0, true, 'light requests are answered while training');
    abort.abort();
    const r = await pending;
    assert.equal(r.cancelled, true, `training did not stop at the next batch: it ran ${r.epochs} of 3 epochs (${r.steps} steps)`);
    assert.ok(r.epochs < 3);
    assert.equal(r.checkpoint, path.join(outDir, 'last'));
    const config = readCheckpointConfig(r.checkpoint);
    assert.equal(config.model, 'fmn04');
    assert.deepEqual(config.classes, r.classes);
    assert.ok(fs.existsSync(r.historyFile));
    const { jobs } = await client.request(ListJobsRequest);
    assert.equal(jobs.find((j) => j.kind === 'train')?.state, 'cancelled');
  });
});

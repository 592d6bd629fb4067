/**
 * The engine client against the real engine process (`dist/engine.js serve`): startup, light requests
 * during a heavy job, progress, cancellation, errors that leave the engine serving, kill -9 recovery
 * with a restart limit, load (200 concurrent requests, no tensor/RSS growth) and orphan-free shutdown.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import { ErrorCodes, ResponseError } from 'vscode-jsonrpc';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import {
  CancelJobRequest,
  EngineErrorCodes,
  ExecuteCellRequest,
  InitializeRequest,
  ListJobsRequest,
  StatsRequest,
  type JobInfo,
  type JobProgress,
} from '../../engine/protocol/protocol';
import { EngineClient, EngineExitedError, type EngineState as ClientState } from '../../extension/client/engineClient';
import { resolveNodeRuntime } from '../../extension/client/nodeRuntime';
import { ensureEngineBuilt, isAlive, waitFor } from './engineBuild';

function cell(code: string, notebook = 'test.sednb') {
  return { notebook, code, language: 'javascript' as const };
}

describe('server/engine client ↔ engine process', function () {
  let enginePath: string;
  const logs: string[] = [];
  const clients: EngineClient[] = [];
  const newClient = (opts: Partial<ConstructorParameters<typeof EngineClient>[0]> = {}) => {
    const c = new EngineClient({ enginePath, backend: 'wasm', log: (l) => logs.push(l), ...opts });
    clients.push(c);
    return c;
  };

  before(function () {
    this.timeout(120_000);
    enginePath = ensureEngineBuilt();
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.dispose();
  });

  it('starts the engine and initialize reports the backend, versions and served requests', async () => {
    const client = newClient();
    const states: ClientState[] = [];
    client.onDidChangeState((s) => states.push(s));
    const info = await client.start();
    assert.equal(info.backend.backend, 'wasm');
    assert.match(info.backend.device, /WebAssembly/);
    assert.equal(info.backend.versions['tfjs-core'], '4.22.0');
    assert.equal(info.pid, client.pid);
    assert.ok(info.requests.includes('sed/executeCell') && info.requests.includes('sed/stats'));
    assert.deepEqual(states, ['starting', 'ready']);
  });

  it('answers light requests while a heavy job runs, streams progress, and cancels through the signal', async () => {
    const client = newClient();
    await client.start();
    const progress: JobProgress[] = [];
    const abort = new AbortController();
    const jobsSeen: JobInfo[][] = [];
    client.onDidChangeJobs((j) => jobsSeen.push(j));
    const running = client.request(
      ExecuteCellRequest,
      cell('for (let i = 1; i <= 1000; i++) { sed.progress(i, 1000, "step " + i); await sed.sleep(5); }'),
      { signal: abort.signal, onProgress: (p) => progress.push(p) },
    );
    await waitFor(() => progress.some((p) => p.kind === 'report' && (p.done ?? 0) >= 5), 5000, 'progress reports');
    assert.equal(client.state, 'busy');
    // Light requests are answered while the cell runs.
    const t0 = Date.now();
    const stats = await client.request(StatsRequest);
    const { jobs } = await client.request(ListJobsRequest);
    assert.ok(Date.now() - t0 < 2000, `light requests took ${Date.now() - t0} ms during a job`);
    assert.ok(stats.requestsServed >= 2);
    const job = jobs.find((j) => j.state === 'running');
    assert.ok(job && job.kind === 'executeCell' && (job.done ?? 0) >= 5 && job.total === 1000, JSON.stringify(jobs));
    abort.abort();
    await assert.rejects(running, (e: ResponseError<unknown>) => e.code === EngineErrorCodes.RequestCancelled && /interrupted/.test(e.message));
    const begin = progress[0];
    assert.equal(begin.kind, 'begin');
    assert.equal(progress[progress.length - 1].kind, 'end');
    await waitFor(() => client.state === 'ready', 2000, 'ready after the job');
    const after = (await client.request(ListJobsRequest)).jobs.find((j) => j.id === job.id);
    assert.equal(after?.state, 'cancelled');
    assert.ok(jobsSeen.some((list) => list.some((j) => j.id === job.id && j.state === 'running')), 'jobsChanged notifications show the running job');
  });

  it('queues heavy jobs one at a time and cancels a queued one with sed/cancelJob', async () => {
    const client = newClient();
    await client.start();
    const first = client.request(ExecuteCellRequest, cell('await sed.sleep(300); "first"'));
    const second = client.request(ExecuteCellRequest, cell('"second"'));
    second.catch(() => undefined); // rejected before the assertion below awaits it
    const third = client.request(ExecuteCellRequest, cell('"third"'));
    await waitFor(() => client.currentJobs.filter((j) => j.state === 'queued').length === 2, 2000, 'two queued jobs');
    const queued = client.currentJobs.filter((j) => j.state === 'queued');
    assert.deepEqual(
      client.currentJobs.filter((j) => j.state === 'running').map((j) => j.kind),
      ['executeCell'],
      'only one job runs at a time',
    );
    assert.deepEqual(await client.request(CancelJobRequest, { jobId: queued[0].id }), { cancelled: true });
    await assert.rejects(second, (e: ResponseError<unknown>) => e.code === EngineErrorCodes.RequestCancelled && /before it started/.test(e.message));
    assert.equal((await first).outputs[0].data, 'first');
    assert.equal((await third).outputs[0].data, 'third');
    assert.deepEqual(await client.request(CancelJobRequest, { jobId: queued[0].id }), { cancelled: false }, 'an ended job cannot be cancelled again');
  });

  it('returns clear errors for malformed requests and keeps serving', async () => {
    const client = newClient();
    await client.start();
    await assert.rejects(client.request(ExecuteCellRequest, { notebook: 'x', code: 42 } as never), (e: ResponseError<unknown>) => e.code === ErrorCodes.InvalidParams && /parameter 'code'/.test(e.message));
    await assert.rejects(client.request(ExecuteCellRequest, { notebook: 'x', code: '1', language: 'python' } as never), (e: ResponseError<unknown>) => e.code === ErrorCodes.InvalidParams && /'language' must be 'javascript' or 'typescript', got 'python'/.test(e.message));
    await assert.rejects(client.request(CancelJobRequest, { jobId: 'abc' } as never), (e: ResponseError<unknown>) => e.code === ErrorCodes.InvalidParams && /jobId/.test(e.message));
    await assert.rejects(client.request({ method: 'sed/noSuchRequest' } as never), (e: ResponseError<unknown>) => e.code === ErrorCodes.MethodNotFound);
    await assert.rejects(client.request(InitializeRequest, { backend: 'cpu' }), (e: ResponseError<unknown>) => e.code === ErrorCodes.InvalidParams && /already runs 'wasm'/.test(e.message));
    const ok = await client.request(ExecuteCellRequest, cell('1 + 1'));
    assert.equal(ok.outputs[0].data, '2');
  });

  it('survives malformed JSON on the wire, requests before initialize, and uncaught errors inside handlers', async function () {
    this.timeout(20_000);
    // A raw connection, so we can write bytes the client never would.
    const child = spawn(process.execPath, [enginePath, 'serve', '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      const conn = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
      conn.listen();
      await assert.rejects(conn.sendRequest(StatsRequest.method), (e: ResponseError<unknown>) => e.code === EngineErrorCodes.NotInitialized && /send 'initialize' first/.test(e.message));
      const garbage = '{"jsonrpc":"2.0","id":99,"method":';
      child.stdin.write(`Content-Length: ${Buffer.byteLength(garbage)}\r\n\r\n${garbage}`);
      await assert.rejects(conn.sendRequest(InitializeRequest.method, { backend: 'tpu' }), (e: ResponseError<unknown>) => e.code === ErrorCodes.InvalidParams && /Unknown backend 'tpu'. Valid backends: auto, tensorflow, webgpu, wasm, cpu/.test(e.message));
      await assert.rejects(conn.sendRequest(InitializeRequest.method, ['wasm']), (e: ResponseError<unknown>) => e.code === ErrorCodes.InvalidParams && /named parameters/.test(e.message));
      const info = (await conn.sendRequest(InitializeRequest.method, { backend: 'wasm' })) as { backend: { backend: string } };
      assert.equal(info.backend.backend, 'wasm');
      // Throws from timers and unhandled rejections inside the engine (wasm backend active) are logged, not fatal.
      const r = (await conn.sendRequest(ExecuteCellRequest.method, cell('setTimeout(() => { throw new Error("boom in timer") }, 0);\nPromise.reject(new Error("unhandled"));\nawait sed.sleep(50);\n"alive"'))) as { outputs: Array<{ data: string }> };
      assert.equal(r.outputs[0].data, 'alive');
      const stats = (await conn.sendRequest(StatsRequest.method)) as { requestsServed: number };
      assert.ok(stats.requestsServed >= 3);
      assert.equal(child.exitCode, null, 'the engine is still running');
      conn.dispose();
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('kill -9 mid-request: the request fails naming the crash, the client restarts the engine, later requests work', async function () {
    this.timeout(30_000);
    const client = newClient();
    await client.start();
    const firstPid = client.pid!;
    const restarts: number[] = [];
    client.onDidRestart((r) => restarts.push(r.attempt));
    const states: ClientState[] = [];
    client.onDidChangeState((s) => states.push(s));
    const pending = client.request(ExecuteCellRequest, cell('await sed.sleep(20000)'));
    await waitFor(() => client.state === 'busy', 5000, 'busy');
    process.kill(firstPid, 'SIGKILL');
    await assert.rejects(pending, (e: Error) => e instanceof EngineExitedError && e.signal === 'SIGKILL' && /crashed \(killed by SIGKILL\)/.test(e.message));
    await waitFor(() => client.state === 'ready', 15_000, 'ready after restart');
    assert.deepEqual(restarts, [1]);
    assert.deepEqual(states.slice(states.indexOf('crashed')), ['crashed', 'starting', 'ready']);
    assert.notEqual(client.pid, firstPid);
    assert.equal(isAlive(firstPid), false);
    const r = await client.request(ExecuteCellRequest, cell('"back"'));
    assert.equal(r.outputs[0].data, 'back');
  });

  it('stops restarting after the limit of crashes within the window', async function () {
    this.timeout(30_000);
    const client = newClient({ restart: { maxRestarts: 1, windowMs: 60_000 } });
    await client.start();
    const firstPid = client.pid!;
    process.kill(firstPid, 'SIGKILL');
    await waitFor(() => client.state === 'ready' && client.pid !== firstPid, 15_000, 'first restart');
    process.kill(client.pid!, 'SIGKILL');
    await waitFor(() => client.state === 'crashed' && client.pid === undefined, 5000, `crashed state (now ${client.state}, pid ${client.pid})`);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(client.state, 'crashed', 'no second automatic restart');
    assert.ok(logs.some((l) => /not restarting it automatically/.test(l)));
    await assert.rejects(client.request(StatsRequest), (e: Error) => e instanceof EngineExitedError && /crashed 2 times within 60 s and is not restarted automatically.*restart it by hand/.test(e.message));
    // A manual restart resets the counter.
    await client.restart();
    assert.equal(client.state, 'ready');
  });

  it('answers 200 concurrent small requests with no tensor growth and bounded RSS', async function () {
    this.timeout(60_000);
    const client = newClient();
    await client.start();
    const tensorCell = cell('const t = sed.tf.tidy(() => sed.tf.sum(sed.tf.mul(sed.tf.ones([64, 64]), 2)));\nconst v = (await t.data())[0];\nt.dispose();\nv');
    // Warm up (first-use allocations: wasm heap, kernels) before taking the baseline.
    for (let i = 0; i < 5; i++) await client.request(ExecuteCellRequest, tensorCell);
    const before = await client.request(StatsRequest);
    const requests = Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? client.request(ExecuteCellRequest, tensorCell) : client.request(StatsRequest)));
    const results = await Promise.all(requests);
    assert.equal(results.length, 200);
    for (let i = 0; i < 200; i += 2) assert.equal((results[i] as { outputs: Array<{ data: string }> }).outputs[0].data, '8192');
    const after = await client.request(StatsRequest);
    assert.equal(after.numTensors, before.numTensors, 'no tensor leak across 100 cells');
    const growth = (after.rss - before.rss) / 2 ** 20;
    // Stated bound: 64 MiB of RSS growth for 200 requests (V8 heap growth and wasm memory are lazy).
    assert.ok(growth < 64, `RSS grew by ${growth.toFixed(1)} MiB`);
  });

  it('node IPC transport works too', async () => {
    const client = newClient({ transport: 'node-ipc' });
    const info = await client.start();
    assert.equal(info.backend.backend, 'wasm');
    assert.equal((await client.request(ExecuteCellRequest, cell('6 * 7'))).outputs[0].data, '42');
  });

  it('stop() and dispose() leave no orphan processes, even ones the engine started', async function () {
    this.timeout(20_000);
    for (const how of ['stop', 'dispose'] as const) {
      const client = newClient();
      const { cacheDir } = await client.start();
      const enginePid = client.pid!;
      const r = await client.request(ExecuteCellRequest, cell('const { spawn } = require("node:child_process");\nconst p = spawn("sleep", ["60"], { stdio: "ignore" });\np.pid'));
      const grandchild = Number(r.outputs[0].data);
      assert.ok(isAlive(grandchild));
      if (how === 'stop') await client.stop();
      else client.dispose();
      await waitFor(() => !isAlive(enginePid) && !isAlive(grandchild), 5000, `engine ${enginePid} and its child ${grandchild} to be gone after ${how}`);
      if (how === 'stop') {
        assert.equal(client.state, 'stopped');
        assert.equal(fs.existsSync(cacheDir), false, 'the private cache folder is removed on a clean exit');
      }
    }
  });

  it('the engine exits by itself when its client goes away (stdin closed)', async function () {
    this.timeout(20_000);
    const child = spawn(process.execPath, [enginePath, 'serve', '--stdio'], { stdio: ['pipe', 'pipe', 'ignore'] });
    await new Promise((r) => setTimeout(r, 300));
    child.stdin.end();
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 1, 'exit without shutdown is exit code 1 (LSP convention)');
  });

  it('picks the node runtime: configured path checked, clear error when missing', async () => {
    const auto = await resolveNodeRuntime(undefined);
    assert.equal(auto.command, 'node');
    assert.ok(Number(auto.version.split('.')[0]) >= 20);
    await assert.rejects(resolveNodeRuntime('/no/such/node'), /'\/no\/such\/node' \(setting sedStudio\.nodePath\) could not be run/);
    const fallback = await resolveNodeRuntime(undefined, { ...process.env, PATH: '/nonexistent' });
    assert.equal(fallback.command, process.execPath);
    assert.equal(fallback.env.ELECTRON_RUN_AS_NODE, '1');
    assert.match(fallback.note!, /no 'node' found on PATH/);
  });
});

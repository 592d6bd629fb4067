/** The notebook kernel in-process: cell rewriting, persistence, TypeScript, outputs, errors, interrupts, reset. */
import * as assert from 'node:assert/strict';
import type { CellOutput, ExecuteCellResult } from '../../engine/protocol/protocol';
import { CancelledError } from '../../engine/server/errors';
import type { JobContext } from '../../engine/server/jobs';
import { ERROR_MIME, NotebookKernel, trimStack } from '../../engine/server/kernel';
import { transformCell } from '../../engine/server/cellTransform';

function job(abort?: AbortController): JobContext & { streamed: CellOutput[]; reports: number[] } {
  const streamed: CellOutput[] = [];
  const reports: number[] = [];
  return { id: 1, signal: (abort ?? new AbortController()).signal, progress: (d) => reports.push(d), output: (o) => streamed.push(o), streamed, reports };
}

describe('server/kernel', () => {
  const disposed: unknown[] = [];
  const logged: string[] = [];
  const kernel = new NotebookKernel(
    (cell) => ({ twice: (x: number) => 2 * x, get signal() { return cell().signal; }, progress: (d: number) => cell().progress(d) }),
    (t) => logged.push(t),
    (v) => disposed.push(v),
    (bytes, mime) => {
      saved.push({ bytes: Buffer.from(bytes), mime });
      return `/saved/${saved.length}`;
    },
  );
  const saved: Array<{ bytes: Buffer; mime: string }> = [];
  const run = (code: string, opts: { notebook?: string; language?: 'javascript' | 'typescript'; job?: JobContext } = {}): Promise<ExecuteCellResult> =>
    kernel.execute({ notebook: opts.notebook ?? 'nb', code, language: opts.language ?? 'javascript' }, opts.job ?? job());

  it('rewrites top-level declarations to context vars and keeps line numbers', () => {
    const { script, declared } = transformCell('const a = 1, {b, c: [d]} = o;\nlet e;\nfunction f() {}\nclass G {}\nimport * as fs from "node:fs";\nawait a;\na + 1', 'cell-1.js');
    assert.deepEqual(declared.sort(), ['G', 'a', 'b', 'd', 'e', 'f', 'fs'].sort());
    assert.equal(script.split('\n').length, 8, 'one line per source line plus the closing line');
    assert.match(script, /return \(a \+ 1\);/);
  });

  it('keeps variables across cells, re-runs declarations, returns the last value, supports top-level await', async () => {
    const r1 = await run('const x = 20;\nconst y = await Promise.resolve(1);\nfunction inc(v) { return v + y }');
    assert.equal(r1.success, true);
    assert.deepEqual(r1.outputs, []);
    const r2 = await run('const x = inc(x) + 1;\nsed.twice(x)');
    assert.deepEqual(r2.outputs, [{ mime: 'text/plain', data: '44' }]);
    assert.equal(r2.executionCount, 2);
    const other = await run('typeof x', { notebook: 'other' });
    assert.deepEqual(other.outputs, [{ mime: 'text/plain', data: 'undefined' }], 'notebooks do not share state');
  });

  it('runs TypeScript cells (types stripped by esbuild) in the same context', async () => {
    const r = await run('interface P { v: number }\nconst p: P = { v: x as number };\np.v * 10', { language: 'typescript' });
    assert.equal(r.success, true, JSON.stringify(r.outputs));
    assert.deepEqual(r.outputs, [{ mime: 'text/plain', data: '220' }]);
  });

  it('captures console output (merged per stream), display() calls and streams them while the cell runs', async () => {
    const j = job();
    const r = await run('console.log("a", {k: 1});\nconsole.log("b");\nconsole.error("oops");\ndisplay("application/json", {n: 3});\ndisplay("text/html", "<b>x</b>");', { job: j });
    assert.deepEqual(r.outputs, [
      { mime: 'text/plain', data: 'a { k: 1 }\nb', stream: 'stdout' },
      { mime: 'text/plain', data: 'oops', stream: 'stderr' },
      { mime: 'application/json', data: '{"n":3}' },
      { mime: 'text/html', data: '<b>x</b>' },
    ]);
    assert.equal(j.streamed.length, 5, 'each console/display call is streamed as it happens');
  });

  it('binary display payloads go to a file (path in the output), never into the JSON', async () => {
    const r = await run('display("application/vnd.sed-studio.spectrogram", new Uint8Array([1, 2, 250]));\n({ mime: "application/octet-stream", data: new Uint8Array([7]).buffer })');
    assert.deepEqual(r.outputs, [
      { mime: 'application/vnd.sed-studio.spectrogram', data: '', file: '/saved/1' },
      { mime: 'application/octet-stream', data: '', file: '/saved/2' },
    ]);
    assert.deepEqual([...saved[0].bytes], [1, 2, 250]);
    assert.deepEqual([...saved[1].bytes], [7]);
  });

  it('returns a thrown error as an error output with the stack trimmed to the cell', async () => {
    const r = await run('const z = 1;\nfunction bad() { throw new RangeError("no " + z) }\nbad()');
    assert.equal(r.success, false);
    const out = r.outputs[r.outputs.length - 1];
    assert.equal(out.mime, ERROR_MIME);
    const err = JSON.parse(out.data) as { name: string; message: string; stack: string };
    assert.equal(err.name, 'RangeError');
    assert.equal(err.message, 'no 1');
    assert.match(err.stack, /at bad \(cell-\d+\.js:2:/, 'the frame points at the cell line');
    assert.doesNotMatch(err.stack, /kernel\.ts|node:internal/, 'engine frames after the cell are trimmed');
  });

  it('reports syntax errors with the cell line and column', async () => {
    const js = await run('const ok = 1;\nconst = 2');
    assert.equal(js.success, false);
    assert.match(JSON.parse(js.outputs[0].data).message, /cell-\d+\.js:2:7/);
    const ts = await run('let a: number = ;', { language: 'typescript' });
    assert.equal(ts.success, false);
    assert.match(JSON.parse(ts.outputs[0].data).message, /cell-\d+\.ts:1:/);
  });

  it('interrupts a cell that ignores the signal: the request ends with CancelledError at once', async () => {
    const abort = new AbortController();
    const t0 = Date.now();
    const p = run('await new Promise(() => {})', { job: job(abort) });
    setTimeout(() => abort.abort(), 30);
    await assert.rejects(p, (e: unknown) => e instanceof CancelledError && /interrupted/.test((e as Error).message));
    assert.ok(Date.now() - t0 < 1000);
  });

  it('hands progress from the sed API to the job', async () => {
    const j = job();
    await run('for (let i = 1; i <= 3; i++) sed.progress(i)', { job: j });
    assert.deepEqual(j.reports, [1, 2, 3]);
  });

  it('resetKernel drops the variables and disposes what the cells left', async () => {
    await run('const model = { params: 1, dispose() {} };\nconst keep = 5');
    assert.equal(kernel.reset('nb'), true);
    assert.ok(disposed.some((v) => (v as { params?: number })?.params === 1));
    const r = await run('typeof keep');
    assert.deepEqual(r.outputs, [{ mime: 'text/plain', data: 'undefined' }]);
    assert.equal(r.executionCount, 1);
  });

  it('trimStack keeps non-Error throws readable', () => {
    assert.deepEqual(trimStack('plain', 'cell-1.js'), { name: 'Error', message: 'plain', stack: 'Error: plain' });
  });
});

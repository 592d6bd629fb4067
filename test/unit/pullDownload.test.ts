import { strict as assert } from 'node:assert';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { downloadFile } from '../../engine/checkpoint/download';
import { TestServer } from './pullServer';

const sha = (b: Uint8Array): string => crypto.createHash('sha256').update(b).digest('hex');

describe('pull: resumable verified download (loopback HTTP)', () => {
  const body = crypto.randomBytes(3 * 1024 * 1024 + 17);
  let server: TestServer;
  let base: string;
  let dir: string;

  beforeEach(async () => {
    server = new TestServer();
    base = await server.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sed-dl-'));
  });
  afterEach(async () => {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('downloads a file whole, reports progress and leaves no temp files', async () => {
    server.files.set('/a.pt', { body });
    const seen: Array<[number, number | undefined]> = [];
    const dest = path.join(dir, 'a.pt');
    const res = await downloadFile(`${base}/a.pt`, dest, { onProgress: (r, t) => seen.push([r, t]) });
    assert.equal(res.bytes, body.length);
    assert.equal(res.sha256, sha(body));
    assert.equal(res.resumed, false);
    assert.ok(fs.readFileSync(dest).equals(body));
    assert.deepEqual(fs.readdirSync(dir), ['a.pt']);
    assert.deepEqual(seen[seen.length - 1], [body.length, body.length]);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i][0] >= seen[i - 1][0]);
  });

  it('resumes with a Range request after the server cuts the connection half-way', async () => {
    server.files.set('/a.pt', { body, cutOn: [1] });
    const notes: string[] = [];
    const res = await downloadFile(`${base}/a.pt`, path.join(dir, 'a.pt'), { log: (m) => notes.push(m) });
    assert.ok(fs.readFileSync(path.join(dir, 'a.pt')).equals(body));
    assert.equal(res.resumed, true);
    assert.equal(res.attempts, 2);
    const reqs = server.requests('/a.pt');
    assert.equal(reqs.length, 2);
    assert.equal(reqs[0].range, undefined);
    assert.match(reqs[1].range!, /^bytes=\d+-$/);
    const resumedAt = Number(/(\d+)/.exec(reqs[1].range!)![1]);
    assert.ok(resumedAt > 0 && resumedAt < body.length, `resumed at ${resumedAt}`);
    assert.ok(reqs[1].ifRange, 'If-Range guards the resume');
    assert.equal(reqs[1].status, 206);
    assert.match(notes.join('\n'), /connection lost after \d+ of \d+ bytes.*resuming/);
  });

  it('keeps the partial file across calls and resumes it on the next call', async () => {
    server.files.set('/a.pt', { body, cutOn: [1] });
    const dest = path.join(dir, 'a.pt');
    await assert.rejects(downloadFile(`${base}/a.pt`, dest, { maxAttempts: 1 }), /download incomplete after 1 attempts .*run the command again to resume/);
    assert.equal(fs.existsSync(dest), false, 'nothing at the destination until verified');
    const partSize = fs.statSync(`${dest}.part`).size;
    assert.ok(partSize > 0 && partSize < body.length);
    const res = await downloadFile(`${base}/a.pt`, dest);
    assert.equal(res.resumed, true);
    assert.equal(server.requests('/a.pt')[1].range, `bytes=${partSize}-`);
    assert.ok(fs.readFileSync(dest).equals(body));
    assert.equal(fs.existsSync(`${dest}.part`), false);
  });

  it('starts over when the server ignores Range', async () => {
    server.rangeSupport = false;
    server.files.set('/a.pt', { body, cutOn: [1] });
    const res = await downloadFile(`${base}/a.pt`, path.join(dir, 'a.pt'));
    assert.equal(server.requests('/a.pt')[1].status, 200);
    assert.equal(res.sha256, sha(body));
  });

  it('fails on a size mismatch against the known size, and on a body shorter than its Content-Length', async () => {
    server.files.set('/a.pt', { body });
    await assert.rejects(downloadFile(`${base}/a.pt`, path.join(dir, 'a.pt'), { expectedBytes: body.length + 1 }),
      new RegExp(`/a\\.pt: size mismatch: the server sends ${body.length} bytes but ${body.length + 1} are expected`));
    assert.equal(fs.existsSync(path.join(dir, 'a.pt')), false);
    server.rangeSupport = false;
    server.files.set('/b.pt', { body, overAnnounce: 1000 });
    await assert.rejects(downloadFile(`${base}/b.pt`, path.join(dir, 'b.pt'), { maxAttempts: 2 }),
      new RegExp(`download incomplete after 2 attempts \\(${body.length} of ${body.length + 1000} bytes\\)`));
    assert.equal(fs.existsSync(path.join(dir, 'b.pt')), false);
  });

  it('rejects a checksum mismatch and removes the bad download', async () => {
    server.files.set('/a.pt', { body });
    await assert.rejects(downloadFile(`${base}/a.pt`, path.join(dir, 'a.pt'), { expectedSha256: '0'.repeat(64) }), /checksum mismatch: sha256 [0-9a-f]{64}, expected 0{64}/);
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  it('retries a refused connection, then fails naming the URL and the cause', async () => {
    const closed = new TestServer();
    const url = `${await closed.start()}/a.pt`;
    await closed.stop();
    const notes: string[] = [];
    await assert.rejects(downloadFile(url, path.join(dir, 'a.pt'), { maxAttempts: 3, retryDelayMs: 1, log: (m) => notes.push(m) }), new RegExp(`${url}: request failed \\(`));
    assert.equal(notes.filter((n) => /request failed .*retrying/.test(n)).length, 2);
  });

  it('names the URL on HTTP errors', async () => {
    await assert.rejects(downloadFile(`${base}/missing.pt`, path.join(dir, 'm.pt')), new RegExp(`${base}/missing\\.pt: HTTP 404 .*not found`));
  });
});

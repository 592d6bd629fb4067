import { strict as assert } from 'node:assert';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readCheckpointConfig, readCheckpointWeights } from '../../engine/checkpoint';
import { defaultCacheDir, listPulledModels, pullModel } from '../../engine/checkpoint/pull';
import { RELEASES, releaseUrl, resolveRelease } from '../../engine/checkpoint/releases';
import { main } from '../../engine/cli/main';
import { PARITY_DIR } from '../helpers/paths';
import { TestServer } from './pullServer';

const PT = fs.readFileSync(path.join(PARITY_DIR, 'fmn10_tf256_c447.upstream_format.pt'));
const PT_SHA = crypto.createHash('sha256').update(PT).digest('hex');
const RELEASE = 'fmn10+tf-256_strong';

/** Runs the CLI in-process, capturing stdout and stderr. */
async function runCli(args: string[]): Promise<{ out: string; err: string }> {
  let out = '';
  let err = '';
  const o = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  try {
    await main(['node', 'sed', ...args]);
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
  return { out, err };
}

describe('pull: release names', () => {
  it('maps release names to our model names', () => {
    assert.equal(resolveRelease('fmn10+tf-256_strong').model, 'fmn10+tf:256');
    assert.equal(resolveRelease('FMN04_strong.pt').model, 'fmn04');
    assert.equal(resolveRelease('fmn10+gru-1024_strong').model, 'fmn10+bigru:1024');
    assert.equal(resolveRelease('fmn06+hybrid-160_strong').model, 'fmn06+hybrid:160');
    const weak = resolveRelease('fmn20_weak');
    assert.equal(weak.model, 'fmn20');
    assert.equal(weak.numClasses, 527);
    assert.equal(resolveRelease('fmn10+tf-256_advanced-kd-weak-strong').kind, 'advanced-kd');
    assert.equal(RELEASES.length, 5 + 5 + 3 * 4 + 4 * 3 + 1);
    assert.equal(releaseUrl(resolveRelease(RELEASE)), 'https://github.com/theMoro/EfficientSED/releases/download/v0.0.1/fmn10+tf-256_strong.pt');
  });

  it('lists every valid name for an unknown one', () => {
    assert.throws(() => resolveRelease('fmn10+att-256_strong'), (err: Error) => {
      assert.match(err.message, /^Unknown released model 'fmn10\+att-256_strong'\. Valid names: /);
      for (const r of RELEASES) assert.ok(err.message.includes(r.release), r.release);
      return true;
    });
  });
});

describe('pull: download + convert into the cache (loopback HTTP)', () => {
  let server: TestServer;
  let base: string;
  let cache: string;

  beforeEach(async () => {
    server = new TestServer();
    base = await server.start();
    cache = fs.mkdtempSync(path.join(os.tmpdir(), 'sed-cache-'));
  });
  afterEach(async () => {
    await server.stop();
    fs.rmSync(cache, { recursive: true, force: true });
  });

  it('downloads (resuming after a cut connection), verifies, converts, indexes and lists a release', async () => {
    server.files.set(`/${RELEASE}.pt`, { body: PT, cutOn: [1] });
    const progress: number[] = [];
    const notes: string[] = [];
    const pulled = await pullModel(RELEASE, { cacheDir: cache, baseUrl: base, onProgress: (r) => progress.push(r), log: (m) => notes.push(m) });
    assert.equal(pulled.model, 'fmn10+tf:256');
    assert.equal(pulled.numClasses, 447);
    assert.equal(pulled.sha256, PT_SHA);
    assert.equal(pulled.bytes, PT.length);
    assert.equal(pulled.dir, path.join(cache, RELEASE));
    const reqs = server.requests(`/${RELEASE}.pt`);
    assert.equal(reqs.length, 2);
    assert.match(reqs[1].range!, /^bytes=[1-9]\d*-$/);
    assert.equal(reqs[1].status, 206);
    assert.equal(progress[progress.length - 1], PT.length);
    assert.match(notes.join('\n'), /connection lost.*resuming/);

    const config = readCheckpointConfig(pulled.dir);
    assert.equal(config.model, 'fmn10+tf:256');
    assert.equal(config.classes[0], 'Accelerating, revving, vroom');
    assert.equal(config.source?.sha256, PT_SHA);
    assert.equal(config.source?.release, RELEASE);
    const weights = readCheckpointWeights(pulled.dir, config);
    assert.equal(weights.size, 291);
    assert.deepEqual(weights.get('model.fmn.features.0.0.weight')!.shape, [16, 1, 3, 3]);
    assert.ok(fs.existsSync(path.join(cache, 'downloads', `${RELEASE}.pt`)));
    assert.equal(fs.existsSync(path.join(cache, 'downloads', `${RELEASE}.pt.part`)), false);

    const listed = listPulledModels(cache);
    assert.deepEqual(listed.map((m) => [m.release, m.model, m.sha256, m.dir]), [[RELEASE, 'fmn10+tf:256', PT_SHA, pulled.dir]]);
    const index = JSON.parse(fs.readFileSync(path.join(cache, 'index.json'), 'utf8'));
    assert.equal(index.models[RELEASE].sha256, PT_SHA);

    // Cached: no new request, also when asked by our model name.
    const again = await pullModel('fmn10+TF:256', { cacheDir: cache, baseUrl: base });
    assert.equal(again.release, RELEASE);
    assert.equal(server.requests(`/${RELEASE}.pt`).length, 2);
  });

  it('fails a forced re-download whose size differs from the recorded one, keeping the cached model', async () => {
    server.files.set(`/${RELEASE}.pt`, { body: PT });
    await pullModel(RELEASE, { cacheDir: cache, baseUrl: base });
    server.files.set(`/${RELEASE}.pt`, { body: PT.subarray(0, PT.length - 4096) });
    await assert.rejects(pullModel(RELEASE, { cacheDir: cache, baseUrl: base, force: true }),
      new RegExp(`size mismatch: the server sends ${PT.length - 4096} bytes but ${PT.length} are expected \\(recorded by an earlier download\\)`));
    assert.equal(listPulledModels(cache).length, 1);
    readCheckpointWeights(path.join(cache, RELEASE));
  });

  it('verifies a given sha256 and reports unknown names and HTTP errors', async () => {
    server.files.set(`/${RELEASE}.pt`, { body: PT });
    await assert.rejects(pullModel(RELEASE, { cacheDir: cache, baseUrl: base, sha256: 'f'.repeat(64) }), /checksum mismatch/);
    assert.deepEqual(listPulledModels(cache), []);
    await assert.rejects(pullModel('fmn11_strong', { cacheDir: cache, baseUrl: base }), /Unknown released model 'fmn11_strong'\. Valid names: .*fmn10\+tf-256_strong/);
    await assert.rejects(pullModel('fmn04_strong', { cacheDir: cache, baseUrl: base }), /fmn04_strong\.pt: HTTP 404/);
    // The right size and checksum but the wrong architecture for the name: the converter names the key.
    server.files.set('/fmn10_strong.pt', { body: PT });
    await assert.rejects(pullModel('fmn10_strong', { cacheDir: cache, baseUrl: base }), /fmn10_strong\.pt: tensor 'strong_head\.weight' has shape \[447, 256\] but model fmn10 with 447 classes expects \[447, 960\]/);
  });

  it('reconverts from the kept .pt without downloading when the checkpoint folder is gone', async () => {
    server.files.set(`/${RELEASE}.pt`, { body: PT });
    const first = await pullModel(RELEASE, { cacheDir: cache, baseUrl: base });
    fs.rmSync(first.dir, { recursive: true });
    assert.deepEqual(listPulledModels(cache), []);
    const again = await pullModel(RELEASE, { cacheDir: cache, baseUrl: base });
    assert.equal(server.requests(`/${RELEASE}.pt`).length, 1);
    assert.equal(again.sha256, PT_SHA);
    readCheckpointWeights(again.dir);
    assert.equal(listPulledModels(cache).length, 1);
  });

  it('uses $SED_CACHE_DIR, else ~/.cache/sed-studio/models', () => {
    const saved = process.env.SED_CACHE_DIR;
    try {
      process.env.SED_CACHE_DIR = cache;
      assert.equal(defaultCacheDir(), cache);
      delete process.env.SED_CACHE_DIR;
      assert.equal(defaultCacheDir(), path.join(os.homedir(), '.cache', 'sed-studio', 'models'));
    } finally {
      if (saved === undefined) delete process.env.SED_CACHE_DIR;
      else process.env.SED_CACHE_DIR = saved;
    }
  });

  it('sed pull prints progress on stderr and the result on stdout; sed pull --list shows the cache', async () => {
    server.files.set(`/${RELEASE}.pt`, { body: PT });
    const { out, err } = await runCli(['pull', RELEASE, '--cache', cache, '--base-url', base]);
    assert.match(out, new RegExp(`^${RELEASE.replace(/\+/g, '\\+')} → .*\\n  model:   fmn10\\+tf:256\\n  classes: 447\\n  sha256:  ${PT_SHA}`));
    assert.match(err, /\(100%\)/);
    const list = await runCli(['pull', '--list', '--cache', cache]);
    const line = list.out.split('\n').find((l) => l.startsWith(`${RELEASE} `))!;
    assert.match(line, /fmn10\+tf:256\s+447 classes\s+pulled → /);
    assert.equal(list.out.trim().split('\n').length, RELEASES.length);
  });

  it('sed convert writes a checkpoint folder from a .pt, with a class file', async () => {
    const out = path.join(cache, 'converted');
    const classesFile = path.join(cache, 'classes.txt');
    const names = Array.from({ length: 447 }, (_, i) => `c${i}`);
    fs.writeFileSync(classesFile, names.join('\n') + '\n');
    const res = await runCli(['convert', path.join(PARITY_DIR, 'fmn10_tf256_c447.upstream_format.pt'), '--model', 'fmn10+tf-256', '--classes', classesFile, '--out', out]);
    assert.match(res.out, /model:   fmn10\+tf:256\n  classes: 447\n  tensors: 291/);
    const config = readCheckpointConfig(out);
    assert.deepEqual(config.classes, names);
    fs.writeFileSync(classesFile, JSON.stringify(names.slice(0, 10)));
    await assert.rejects(runCli(['convert', path.join(PARITY_DIR, 'fmn10_tf256_c447.upstream_format.pt'), '--model', 'fmn10+tf:256', '--classes', classesFile, '--out', out]),
      /the class list has 10 names but the checkpoint's heads have 447 outputs/);
  });
});

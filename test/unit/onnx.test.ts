/**
 * The ONNX inference path (engine/onnx): the exporter against the tfjs models for every backbone width and
 * every sequence model family (the parity suite covers the reference fixtures), the export cache, the
 * runtime choice, detection through the onnx scorer, and the CLI's `--runtime` / `sed info`.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../engine/backend/select';
import { loadCheckpoint, saveCheckpoint } from '../../engine/checkpoint/index';
import { detectFile } from '../../engine/detect/pipeline';
import { createModel, parseModelName, type EngineSedModel } from '../../engine/models/index';
import { cachedOnnxModel } from '../../engine/onnx/cache';
import { exportOnnx, outputFrames } from '../../engine/onnx/export';
import { OnnxModelSession } from '../../engine/onnx/runtime';
import { chooseRuntime, OnnxChunkScorer } from '../../engine/onnx/select';
import { REPO_ROOT, SHARED_DIR } from '../helpers/paths';

const SAMPLES = path.join(SHARED_DIR, 'data', 'dcase2016t2-samples');
const CLASSES = ['clearthroat', 'cough', 'doorslam', 'drawer', 'keyboard', 'keysDrop', 'knock', 'laughter', 'pageturn', 'phone', 'speech'];

/**
 * The model rebuilt with non-trivial BatchNorm parameters and statistics (γ ~ U(0.7,1.3), β ~ U(−0.5,0.5),
 * μ ~ U(−0.1,0.1), σ² ~ U(0.5,1.5)), as the parity fixtures have: at init (γ 1, β 0, μ 0, σ² 1) the
 * activations of the wider backbones shrink towards 0 and the comparison would not see the folding.
 */
function withBatchNormStatistics(model: EngineSedModel): EngineSedModel {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const sd = model.stateDict();
  for (const key of sd.keys()) {
    if (!key.endsWith('.running_mean')) continue;
    const pre = key.slice(0, -'.running_mean'.length);
    const fill = (k: string, f: () => number) => { sd.set(k, { ...sd.get(k)!, data: (sd.get(k)!.data as Float32Array).map(f) }); };
    fill(`${pre}.weight`, () => 0.7 + 0.6 * rand());
    fill(`${pre}.bias`, () => rand() - 0.5);
    fill(`${pre}.running_mean`, () => 0.2 * rand() - 0.1);
    fill(`${pre}.running_var`, () => 0.5 + rand());
  }
  const rebuilt = createModel(model.config, { weights: sd });
  model.dispose();
  return rebuilt;
}

/** Every width, every sequence family (ATT, the TF 8-head rule, Mamba's head dim 32 at D = 128 included). */
const CONFIGS = ['fmn04+att:64', 'fmn06+hybrid:160', 'fmn10', 'fmn10+tf:128', 'fmn10+bigru:96', 'fmn20+mamba:128', 'fmn30+tcn:64', 'fmn04+mamba:64'];

describe('onnx export and runtime (engine/onnx)', function () {
  this.timeout(600_000);
  let dir: string;
  let savedCache: string | undefined;
  before(async () => {
    await initBackend('wasm');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sed-onnx-'));
    savedCache = process.env.SED_ONNX_CACHE_DIR;
    process.env.SED_ONNX_CACHE_DIR = path.join(dir, 'onnx-cache');
  });
  after(() => {
    if (savedCache === undefined) delete process.env.SED_ONNX_CACHE_DIR;
    else process.env.SED_ONNX_CACHE_DIR = savedCache;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const name of CONFIGS) {
    it(`${name}: onnxruntime output equals the tfjs model's (strong and weak logits, embedding)`, async () => {
      const frames = 400; // 100 output frames: shorter than 10 s keeps the wide backbones quick on wasm
      const model = withBatchNormStatistics(createModel(parseModelName(name, 7), { seed: 3 }));
      const mel = tf.randomNormal([2, 128, frames, 1], 0, 1, 'float32', 11) as tf.Tensor4D;
      try {
        const ref = tf.tidy(() => {
          const o = model.forward(mel, { training: false });
          return { strong: o.strongLogits.dataSync() as Float32Array, weak: o.weakLogits.dataSync() as Float32Array, embedding: o.embedding.dataSync() as Float32Array };
        });
        const session = await OnnxModelSession.create(exportOnnx(model.config, model.stateDict(), { frames, outputs: ['strong_logits', 'weak_logits', 'embedding'] }));
        const out = await session.run(mel.dataSync() as Float32Array, 2, frames);
        await session.dispose();
        assert.deepEqual(out.strong_logits.dims, [2, outputFrames(frames), 7]);
        const worst: string[] = [];
        for (const [k, a, b] of [['strong_logits', out.strong_logits.data, ref.strong], ['weak_logits', out.weak_logits.data, ref.weak], ['embedding', out.embedding.data, ref.embedding]] as const) {
          assert.equal(a.length, b.length, k);
          let excess = -Infinity;
          let maxAbs = 0;
          for (let i = 0; i < a.length; i++) {
            const d = Math.abs(a[i] - b[i]);
            maxAbs = Number.isNaN(d) ? Infinity : Math.max(maxAbs, d);
            excess = Math.max(excess, Number.isNaN(d) ? Infinity : d - (1e-4 + 1e-4 * Math.abs(b[i])));
          }
          worst.push(`${k} ${maxAbs.toExponential(2)}`);
          assert.ok(excess <= 0, `${name} ${k}: max |Δ| ${maxAbs} exceeds atol 1e-4 + rtol 1e-4 vs tfjs`);
        }
        assert.ok(ref.embedding.some((v) => Math.abs(v) > 0.1), 'the embedding must not vanish (the comparison would not test the backbone)');
        console.log(`      ${name} onnx vs tfjs (wasm) max|Δ|: ${worst.join(', ')}`);
      } finally {
        mel.dispose();
        model.dispose();
      }
    });
  }

  it('caches the exported model per checkpoint weights (written once, reused, new weights → new file)', () => {
    const cacheDir = path.join(dir, 'cache-test');
    const model = createModel(parseModelName('fmn04', 3), { seed: 1 });
    saveCheckpoint(path.join(dir, 'c1'), model, { classes: ['a', 'b', 'c'] });
    model.dispose();
    const first = cachedOnnxModel(path.join(dir, 'c1'), { cacheDir });
    assert.ok(first.exported && fs.existsSync(first.file));
    const mtime = fs.statSync(first.file).mtimeMs;
    const again = cachedOnnxModel(path.join(dir, 'c1'), { cacheDir });
    assert.equal(again.file, first.file);
    assert.equal(again.exported, false);
    assert.equal(fs.statSync(first.file).mtimeMs, mtime);
    const other = createModel(parseModelName('fmn04', 3), { seed: 2 });
    saveCheckpoint(path.join(dir, 'c1'), other, { classes: ['a', 'b', 'c'] });
    other.dispose();
    const changed = cachedOnnxModel(path.join(dir, 'c1'), { cacheDir });
    assert.ok(changed.exported);
    assert.notEqual(changed.file, first.file);
    assert.deepEqual(fs.readdirSync(cacheDir).filter((f) => f.endsWith('.tmp')), []);
  });

  it('chooses onnx on CPU backends when onnxruntime-node loads, tfjs on GPU backends or when asked; rejects unknown names', async () => {
    assert.equal((await chooseRuntime('auto', 'wasm')).runtime, 'onnx');
    assert.equal((await chooseRuntime('auto', 'cpu')).runtime, 'onnx');
    assert.match((await chooseRuntime('onnx', 'cpu')).version ?? '', /^\d+\.\d+/);
    const gpu = await chooseRuntime('auto', 'webgpu');
    assert.equal(gpu.runtime, 'tfjs');
    assert.match(gpu.reason!, /webgpu.*not a CPU backend/);
    assert.equal((await chooseRuntime('tfjs', 'wasm')).runtime, 'tfjs');
    await assert.rejects(chooseRuntime('tensorrt', 'wasm'), /Unknown runtime 'tensorrt'. Valid runtimes: auto, onnx, tfjs/);
  });

  it('detectFile with the onnx scorer gives the tfjs scores (25 s file, 3 chunks, median filter off)', async () => {
    const ckptDir = path.join(dir, 'det');
    const model = createModel(parseModelName('fmn04+tf:64', CLASSES.length), { seed: 5 });
    saveCheckpoint(ckptDir, model, { classes: CLASSES });
    model.dispose();
    const ckpt = loadCheckpoint(ckptDir);
    const scorer = await OnnxChunkScorer.create(ckptDir, { threads: 1 });
    try {
      const { writeWav } = await import('../helpers/wav');
      const file = path.join(dir, 'tone.wav');
      const sr = 16000;
      writeWav(file, [new Float32Array(25 * sr).map((_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / sr) * (i > 12 * sr ? 1 : 0.1))], sr);
      const viaTfjs = await detectFile(file, ckpt, { medianWindow: 1, batchChunks: 2 });
      const viaOnnx = await detectFile(file, ckpt, { medianWindow: 1, batchChunks: 2, scorer });
      assert.equal(viaOnnx.frames, 625);
      let maxAbs = 0;
      for (let i = 0; i < viaTfjs.scores.length; i++) maxAbs = Math.max(maxAbs, Math.abs(viaTfjs.scores[i] - viaOnnx.scores[i]));
      assert.ok(maxAbs < 1e-5, `onnx vs tfjs probabilities differ by ${maxAbs}`);
    } finally {
      await scorer.dispose();
      ckpt.model.dispose();
    }
  });

  it('CLI: sed detect --runtime onnx equals --runtime tfjs (and with 2 worker threads); sed info reports the runtime; unknown runtime is an error', function () {
    const ckptDir = path.join(dir, 'cli');
    const model = createModel(parseModelName('fmn04', CLASSES.length), { seed: 7 });
    saveCheckpoint(ckptDir, model, { classes: CLASSES, thresholds: CLASSES.map(() => 0.5) });
    model.dispose();
    const env = { ...process.env, SED_BACKEND: 'wasm', SED_ONNX_CACHE_DIR: path.join(dir, 'cli-cache') };
    const sed = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'engine', 'main.ts'), ...args], { encoding: 'utf8', env });
    const files = [path.join(SAMPLES, 'keyboard009.wav'), path.join(SAMPLES, 'clearthroat024.wav')];
    const detect = (runtime: string, jobs: string) => {
      const r = sed('detect', ...files, '--model', ckptDir, '--format', 'json', '--threshold', '0.5', '--no-progress', '--runtime', runtime, '--jobs', jobs);
      assert.equal(r.status, 0, r.stderr);
      return r;
    };
    interface JsonEvent { onset: number; offset: number; label: string; max_score: number }
    /** Same events; scores equal up to float32 rounding of the two runtimes. */
    const sameEvents = (a: string, b: string) => {
      const [fa, fb] = [a, b].map((s) => JSON.parse(s).files as Array<{ filename: string; events: JsonEvent[] }>);
      assert.deepEqual(fa.map((f) => [f.filename, f.events.map((e) => [e.onset, e.offset, e.label])]), fb.map((f) => [f.filename, f.events.map((e) => [e.onset, e.offset, e.label])]));
      fa.forEach((f, i) => f.events.forEach((e, j) => assert.ok(Math.abs(e.max_score - fb[i].events[j].max_score) < 1e-5)));
      assert.ok(fa.some((f) => f.events.length > 0), 'the comparison needs some events');
    };
    const onnx = detect('onnx', '1');
    assert.match(onnx.stderr, /on onnxruntime-node \d/);
    const tfjs = detect('tfjs', '1');
    assert.doesNotMatch(tfjs.stderr, /onnxruntime/);
    sameEvents(onnx.stdout, tfjs.stdout);
    const parallel = detect('onnx', '2');
    assert.match(parallel.stderr, /onnxruntime-node .*2 worker threads/);
    sameEvents(parallel.stdout, tfjs.stdout);
    assert.equal(fs.readdirSync(path.join(dir, 'cli-cache')).filter((f) => f.endsWith('.onnx')).length, 1);
    const info = sed('info', '--json');
    assert.equal(info.status, 0, info.stderr);
    assert.equal(JSON.parse(info.stdout).runtime.runtime, 'onnx');
    assert.match(sed('info').stdout, /^runtime: onnx \(onnxruntime-node \d/m);
    const bad = sed('detect', files[0], '--model', ckptDir, '--runtime', 'tensorrt', '--no-progress');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /Unknown runtime 'tensorrt'. Valid runtimes: auto, onnx, tfjs/);
  });
});

/**
 * Model-only inference throughput (clips/s of 10 s audio, mel input → strong logits) of the two CPU
 * runtimes in one run: tfjs on the wasm backend (one thread) and the ONNX export on onnxruntime-node
 * (2 intra-op threads = one process using both cores, and 1 thread = what each `sed detect --jobs`
 * worker runs), with the ratio to the reference PyTorch's best CPU figure on this kind of machine
 * (anchors/upstream_throughput_cpu.csv; best over 1–2 threads × batch 1/8/32).
 * Usage: npx tsx bench/onnx.bench.ts [--models a,b] [--batches 1,8,32] [--seconds 4] [--no-wasm]
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../engine/backend/select';
import { createModel, parseModelName } from '../engine/models/index';
import { exportOnnx } from '../engine/onnx/export';
import { OnnxModelSession, ortVersion } from '../engine/onnx/runtime';
import { arg, measure, referenceCpuBest, table, writeResults } from './common';

const MODELS = arg('models', 'fmn04,fmn10,fmn10+tf:256,fmn10+hybrid:128,fmn10+gru:256,fmn04+hybrid:104').split(',');
const BATCHES = arg('batches', '1,8,32').split(',').map(Number);
const MIN_SECONDS = Number(arg('seconds', '4'));
const WITH_WASM = !process.argv.includes('--no-wasm');
const FRAMES = 1000;

async function main() {
  const backend = await initBackend('wasm');
  const version = await ortVersion();
  if (!version) throw new Error('onnxruntime-node does not load here');
  const reference = referenceCpuBest();
  const rows: Record<string, string | number>[] = [];
  const best: Record<string, string | number>[] = [];
  for (const name of MODELS) {
    const config = parseModelName(name, 447);
    const model = createModel(config, { seed: 1 });
    const onnx = exportOnnx(config, model.stateDict(), { frames: FRAMES, outputs: ['strong_logits'] });
    const sessions = [await OnnxModelSession.create(onnx, { threads: 2 }), await OnnxModelSession.create(onnx, { threads: 1 })];
    const ref = reference.get(config.name);
    const perRuntime = new Map<string, number>();
    for (const batch of BATCHES) {
      const melData = new Float32Array(batch * 128 * FRAMES);
      for (let i = 0; i < melData.length; i++) melData[i] = Math.sin(i * 0.37) * 1.5 - 0.5; // deterministic, mel-like range
      const results: Array<[string, number]> = [];
      if (WITH_WASM) {
        const mel = tf.tensor4d(melData, [batch, 128, FRAMES, 1]);
        results.push(['tfjs-wasm (1 thread)', await measure(batch, async () => {
          const out = tf.tidy(() => model.forward(mel, { training: false }).strongLogits);
          await out.data();
          out.dispose();
        }, MIN_SECONDS)]);
        mel.dispose();
      }
      for (const s of sessions) {
        results.push([`onnx (${s.threads} thread${s.threads > 1 ? 's' : ''})`, await measure(batch, async () => { await s.run(melData, batch, FRAMES); }, MIN_SECONDS)]);
      }
      const wasm = results.find(([r]) => r.startsWith('tfjs'))?.[1];
      for (const [runtime, rate] of results) {
        perRuntime.set(runtime, Math.max(perRuntime.get(runtime) ?? 0, rate));
        rows.push({
          model: config.name, batch, runtime, clips_s: rate, reference_best_clips_s: ref ?? '-', ratio_to_reference: ref ? rate / ref : '-',
          vs_tfjs_wasm: wasm ? rate / wasm : '-',
        });
        console.log(`${config.name} batch ${batch} ${runtime}: ${rate.toFixed(1)} clips/s${ref ? ` (${(rate / ref).toFixed(2)}× reference)` : ''}`);
      }
    }
    for (const [runtime, rate] of perRuntime) best.push({ model: config.name, runtime, best_clips_s: rate, reference_best_clips_s: ref ?? '-', ratio_to_reference: ref ? rate / ref : '-' });
    for (const s of sessions) await s.dispose();
    model.dispose();
  }
  const load = os.loadavg().map((v) => v.toFixed(2)).join(' ');
  console.log(`\ntfjs backend: ${backend.backend} (${backend.device}); onnxruntime-node ${version}; ${os.availableParallelism()} cores, load average ${load}`);
  console.log('reference: PyTorch 1.13 CPU, best over threads 1–2 × batch 1/8/32 (anchors/upstream_throughput_cpu.csv)\n');
  console.log(table(rows));
  console.log('\nbest over batches:');
  console.log(table(best));
  console.log(`results: ${writeResults('onnx', { backend, onnxruntime: version, loadAverage: load, rows, best })}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

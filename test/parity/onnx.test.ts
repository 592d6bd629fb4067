/**
 * ONNX path parity against the upstream PyTorch reference: every `<name>.weights.safetensors` +
 * `<name>.io.safetensors` pair in SED_PARITY_DIR is exported to ONNX from its state dict (engine/onnx),
 * run on onnxruntime-node's CPU runtime on `input.mel`, and the embedding, strong and weak logits must
 * match within the same tolerances as the tfjs parity suite (models.test.ts: fixture README's atol/rtol
 * 1e-4 at fmn04 size, 2e-4 atol for GRU/minGRU models, 5e-4 full size). The full-size fmn10+TF:256
 * release-format `.pt` (447 classes) goes through the same export. onnxruntime-node must load: a
 * missing or broken runtime fails these tests.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readTorchCheckpointTensors } from '../../engine/checkpoint/index';
import { readSafetensors, type HostTensor } from '../../engine/io/safetensors';
import { configFromParityMetadata, type ModelConfig } from '../../engine/models';
import { exportOnnx, type OnnxOutput } from '../../engine/onnx/export';
import { OnnxModelSession } from '../../engine/onnx/runtime';
import { PARITY_DIR } from '../helpers/paths';
import { compare, tolerance, type Tolerance } from '../helpers/parityTolerance';

const OUTPUTS: OnnxOutput[] = ['embedding', 'strong_logits', 'weak_logits'];

/** Exports, runs on `input.mel` and checks every output the io file has; returns max |Δ| per output. */
async function checkOnnx(label: string, config: ModelConfig, stateDict: Map<string, HostTensor>, io: Map<string, HostTensor>, tol: Tolerance): Promise<Record<string, number>> {
  const mel = io.get('input.mel')!;
  const [B, , , T] = mel.shape;
  const outputs = OUTPUTS.filter((o) => io.has(`output.${o}`));
  const session = await OnnxModelSession.create(exportOnnx(config, stateDict, { frames: T, outputs }));
  const report: Record<string, number> = {};
  const failures: string[] = [];
  try {
    const out = await session.run(mel.data as Float32Array, B, T);
    for (const o of outputs) {
      const ref = io.get(`output.${o}`)!;
      assert.deepEqual(out[o].dims, ref.shape, `${label} ${o} shape`);
      const r = compare(out[o].data, ref, tol);
      report[o] = r.maxAbs;
      if (r.excess > 0) failures.push(`${o}: max |Δ| ${r.maxAbs.toExponential(2)} exceeds atol ${tol.atol} + rtol ${tol.rtol}·|ref|`);
    }
  } finally {
    await session.dispose();
  }
  console.log(`      onnx ${label} (${config.name}) max|Δ|: ${Object.entries(report).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
  assert.deepEqual(failures, [], label);
  return report;
}

const fixtures = fs.existsSync(PARITY_DIR)
  ? fs.readdirSync(PARITY_DIR).filter((f) => f.endsWith('.weights.safetensors')).map((f) => f.slice(0, -'.weights.safetensors'.length))
    .filter((n) => fs.existsSync(path.join(PARITY_DIR, `${n}.io.safetensors`))).sort()
  : [];

describe('model parity vs upstream (onnx export on onnxruntime-node)', function () {
  this.timeout(600_000);

  it('finds fixtures in SED_PARITY_DIR', () => {
    assert.ok(fixtures.length > 0, `no *.weights.safetensors + *.io.safetensors pairs in ${PARITY_DIR}`);
  });

  for (const name of fixtures) {
    it(`${name} matches`, async () => {
      const weights = readSafetensors(path.join(PARITY_DIR, `${name}.weights.safetensors`));
      const io = readSafetensors(path.join(PARITY_DIR, `${name}.io.safetensors`));
      const config = configFromParityMetadata(weights.metadata);
      const report = await checkOnnx(name, config, weights.tensors, io.tensors, tolerance(config));
      assert.ok(Object.keys(report).length >= 3, `${name}: too few outputs compared (${Object.keys(report)})`);
    });
  }

  it('full-size fmn10+TF:256 (447 classes, imported from the release-format .pt) matches within atol/rtol 5e-4', async () => {
    const pt = path.join(PARITY_DIR, 'fmn10_tf256_c447.upstream_format.pt');
    const { config, tensors } = readTorchCheckpointTensors(pt, 'fmn10+tf-256');
    const io = readSafetensors(path.join(PARITY_DIR, 'fmn10_tf256_c447.io.safetensors')).tensors;
    const report = await checkOnnx('fmn10_tf256_c447', config, tensors, io, { atol: 5e-4, rtol: 5e-4 });
    assert.ok('strong_logits' in report && 'weak_logits' in report);
  });
});

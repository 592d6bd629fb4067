/**
 * Model parity against the upstream PyTorch reference outputs: every `<name>.weights.safetensors` +
 * `<name>.io.safetensors` pair in SED_PARITY_DIR is built from its `__metadata__`, loaded strictly and
 * run on `input.mel`; the embedding, both logits and the fmn04 backbone taps must match within the fixture
 * README's tolerances on the cpu and wasm backends. The sequence model is also checked in isolation: fed the
 * reference embedding, its projection and output must match at atol/rtol 1e-4 (end to end, backbone float
 * rounding of ~1e-4 is amplified by the sequence models' norms, which the README's tolerances do not cover;
 * the end-to-end seq |Δ| is reported).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../engine/backend/select';
import { readSafetensors, type HostTensor } from '../../engine/io/safetensors';
import { configFromParityMetadata, createModel } from '../../engine/models';
import { PARITY_DIR } from '../helpers/paths';
import { compare, tolerance, type Tolerance } from '../helpers/parityTolerance';

const fixtures = fs.existsSync(PARITY_DIR)
  ? fs.readdirSync(PARITY_DIR).filter((f) => f.endsWith('.weights.safetensors')).map((f) => f.slice(0, -'.weights.safetensors'.length))
    .filter((n) => fs.existsSync(path.join(PARITY_DIR, `${n}.io.safetensors`))).sort()
  : [];

/** Sequence model fed the reference embedding. */
const SEQ_TOL: Tolerance = { atol: 1e-4, rtol: 1e-4 };

const OUTPUTS = ['embedding', 'projected', 'seq', 'strong_logits', 'weak_logits'] as const;

for (const backend of ['cpu', 'wasm']) {
  describe(`model parity vs upstream (${backend})`, function () {
    this.timeout(600_000);
    before(async () => {
      await initBackend(backend);
    });

    it('finds fixtures in SED_PARITY_DIR', () => {
      assert.ok(fixtures.length > 0, `no *.weights.safetensors + *.io.safetensors pairs in ${PARITY_DIR}`);
    });

    for (const name of fixtures) {
      it(`${name} matches`, () => {
        const weights = readSafetensors(path.join(PARITY_DIR, `${name}.weights.safetensors`));
        const io = readSafetensors(path.join(PARITY_DIR, `${name}.io.safetensors`));
        const config = configFromParityMetadata(weights.metadata);
        const tol = tolerance(config);
        const model = createModel(config, { weights: weights.tensors });
        const melRef = io.tensors.get('input.mel')!;
        const [B, , F, T] = melRef.shape; // upstream [B,1,128,T] → ours [B,128,T,1] (same memory order)
        const report: Record<string, number> = {};
        const failures: string[] = [];
        tf.tidy(() => {
          const taps = new Map<number, tf.Tensor4D>();
          const out = model.forward(tf.tensor4d(melRef.data as Float32Array, [B, F, T, 1]), { taps });
          const ours: Record<(typeof OUTPUTS)[number], tf.Tensor | undefined> = {
            embedding: out.embedding, projected: out.projected, seq: out.seq, strong_logits: out.strongLogits, weak_logits: out.weakLogits,
          };
          /** Compare and record max |Δ|; `bound` null = report only. */
          const check = (label: string, t: tf.Tensor | undefined, ref: HostTensor, bound: Tolerance | null): void => {
            if (!t) { failures.push(`${label}: reference present but the model produced none`); return; }
            assert.deepEqual(t.shape, ref.shape, `${name} ${label} shape`);
            const r = compare(t.dataSync(), ref, bound ?? tol);
            report[label] = r.maxAbs;
            if (bound && r.excess > 0) failures.push(`${label}: max |Δ| ${r.maxAbs.toExponential(2)} exceeds atol ${bound.atol} + rtol ${bound.rtol}·|ref|`);
          };
          for (const key of OUTPUTS) {
            const ref = io.tensors.get(`output.${key}`);
            if (!ref) continue;
            const endToEndChecked = key === 'embedding' || key === 'strong_logits' || key === 'weak_logits';
            check(endToEndChecked ? key : `${key}(end-to-end, reported)`, ours[key], ref, endToEndChecked ? tol : null);
          }
          const embRef = io.tensors.get('output.embedding')!;
          const iso = model.forwardFromEmbedding(tf.tensor3d(embRef.data as Float32Array, embRef.shape as [number, number, number]));
          for (const key of ['projected', 'seq'] as const) {
            const ref = io.tensors.get(`output.${key}`);
            if (ref) check(`${key}(from ref embedding)`, iso[key], ref, SEQ_TOL);
          }
          for (const [k, ref] of io.tensors) {
            const m = /^tap\.features\.(\d+)$/.exec(k);
            if (!m) continue;
            // Taps are batch item 0 in NCHW; ours are NHWC.
            const ourTap = tf.transpose(tf.slice(taps.get(Number(m[1]))!, [0, 0, 0, 0], [1, -1, -1, -1]), [0, 3, 1, 2]);
            check(k, ourTap, ref, tol);
          }
        });
        model.dispose();
        console.log(`      ${backend} ${name} (${config.name}) max|Δ|: ${Object.entries(report).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
        assert.ok(Object.keys(report).length >= 3, `${name}: too few outputs compared (${Object.keys(report)})`);
        assert.deepEqual(failures, [], `${name} on ${backend}`);
      });
    }
  });
}

/**
 * The fused sequence-model ops (engine/backend/webgpuSeqInference.ts) on the webgpu backend against the
 * same ops on the cpu backend, where they are the models' tfjs ops: sizes that are not multiples of the
 * GEMM, query or key tiles, scalar and vec4 paths, D = 64 with 4 heads and D = 256 with 8 heads, batch 1
 * and 3, BiGRU hidden sizes that do not fill or overflow the scan's workgroup. Then whole TF, HYBRID and
 * BiGRU models: the cpu outputs, and the dispatch count of the sequence model and heads.
 * On machines without a GPU this runs on Mesa's software adapter, so shapes stay small.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../engine/backend/select';
import { fusedAttention, fusedBiGru, fusedLinear, fusedMinGru, fusedRmsNorm } from '../../engine/backend/webgpuSeqInference';
import { backboneForward } from '../../engine/models/fmn';
import { createModel, parseModelName } from '../../engine/models/index';
import { DerivedCache } from '../../engine/models/layers';
import { rotaryFreqs } from '../../engine/models/rotary';
import { countDispatches } from '../helpers/webgpuDispatches';
import { caseResults, initTestWebgpu, itRunsInOneDispatchAsCpu, maxRelErr, rand, type CaseResults, type OpCase } from '../helpers/webgpuCases';


function linearCase(xShape: [number, number, number], N: number, o: { bias?: boolean; norm?: boolean; gelu?: boolean; residual?: boolean }): OpCase {
  const [B, T, K] = xShape;
  const flags = Object.entries(o).filter(([, v]) => v).map(([k]) => k).join(' ');
  return {
    name: `linear [${xShape}] → ${N} ${flags}`,
    inputs: () => [rand(xShape, 2), rand([K, N], 0.3), rand([N]), rand([K], 0.5), rand([B, T, N])],
    op: ([x, w, bias, gamma, skip]) => fusedLinear(x as tf.Tensor3D, w, o.bias ? bias : undefined, {
      norm: o.norm ? gamma : undefined,
      act: o.gelu ? 'gelu' : 'linear',
      residual: o.residual ? (skip as tf.Tensor3D) : undefined,
    }),
  };
}

function rmsNormCase(shape: [number, number, number]): OpCase {
  return {
    name: `RMSNorm [${shape}]`,
    inputs: () => [rand(shape, 3), rand([shape[2]], 0.5)],
    op: ([x, gamma]) => fusedRmsNorm(x as tf.Tensor3D, gamma),
  };
}

/** Attention on qkv [B,T,3D (+ gate logits)], or HYBRID's [B,T,7D] (q, k, v, both minGRU projections) with the mix. */
function attentionCase(B: number, T: number, D: number, heads: number, rotary: boolean, gated: boolean, mixed = false): OpCase {
  const d = D / heads;
  return {
    name: `attention B=${B} T=${T} D=${D} ${heads} heads${rotary ? ' rotary' : ''}${gated ? ' gated' : ''}${mixed ? ' mixed' : ''}`,
    inputs: () => [rand([B, T, mixed ? 7 * D : 3 * D + (gated ? heads : 0)], 1.5), tf.tensor1d(rotaryFreqs(d)), rand([B, T, D]), rand([d], 0.5), rand([d], 0.5)],
    op: ([qkv, freqs, rnn, rnnGamma, attnGamma]) => fusedAttention(qkv as tf.Tensor3D, {
      dim: D,
      heads,
      freqs: rotary ? freqs : undefined,
      gated,
      mix: mixed ? { rnn: rnn as tf.Tensor3D, rnnGamma, attnGamma } : undefined,
    }),
  };
}

function minGruCase(B: number, T: number, C: number, D: number): OpCase {
  return {
    name: `minGRU B=${B} T=${T} C=${C} D=${D}`,
    inputs: () => [rand([B, T, C], 2)],
    op: ([hg]) => fusedMinGru(hg as tf.Tensor3D, D),
  };
}

/** A BiGRU layer's recurrence from its input projections gi [B,T,6D], whh [D,6D] and b_hn [2D]. */
function biGruCase(B: number, T: number, D: number): OpCase {
  return {
    name: `BiGRU B=${B} T=${T} D=${D}`,
    inputs: () => [rand([B, T, 6 * D], 1.5), rand([D, 6 * D], 1 / Math.sqrt(D)), rand([2 * D], 0.1)],
    op: ([gi, whh, bhn]) => fusedBiGru(gi as tf.Tensor3D, whh, bhn),
  };
}

const CASES: OpCase[] = [
  linearCase([3, 7, 20], 70, { bias: true, norm: true, gelu: true }), // 2 column tiles, N % 4 ≠ 0
  linearCase([1, 70, 64], 196, { norm: true, bias: true }), // 2 row tiles: the fused qkv + gates of D = 64
  linearCase([3, 9, 36], 8, { residual: true }),
  linearCase([2, 5, 7], 5, { bias: true, norm: true, gelu: true, residual: true }), // scalar loads
  rmsNormCase([3, 7, 64]),
  rmsNormCase([1, 5, 10]),
  attentionCase(1, 70, 64, 4, true, true), // 2 query tiles, 2 key tiles (d = 16: 64 keys a tile)
  attentionCase(3, 37, 256, 8, true, true),
  attentionCase(2, 45, 128, 2, true, false), // d = 64: 32 keys a tile
  attentionCase(1, 11, 64, 8, false, false), // d = 8
  attentionCase(2, 37, 128, 8, false, false, true),
  attentionCase(1, 70, 64, 4, false, false, true),
  minGruCase(3, 13, 7 * 16, 16), // the HYBRID projection: q, k, v, forward ĥ ‖ g, backward ĥ ‖ g
  minGruCase(1, 9, 32, 8),
  biGruCase(2, 250, 64), // the fmn04_gru64 fixture: 48 of 64 threads
  biGruCase(1, 30, 256), // fmn10+bigru:256: 192 threads
  biGruCase(3, 37, 100), // 75 gate columns on 96 threads
  biGruCase(1, 20, 400), // 300 gate columns: threads loop
];

/**
 * Models and the dispatches of their sequence model and heads: projection, per layer TF 5 (qkv + gates,
 * attention, to_out, FF in, FF out) or HYBRID 7 (qkv + minGRU projections, scan, rnn.to_out, attention
 * with the mix, to_out, FF in, FF out), final RMSNorm, strong head, weak head (mean as transpose +
 * reduce, linear). Before the fused ops: 120 for TF, 212 for HYBRID. BiGRU has no projection or final
 * norm: per layer 2 (both directions' input projections, both scans), where the time loop was ~15 per
 * frame (7660 at T = 250).
 */
const MODELS: [string, number][] = [['fmn10+tf:256', 16], ['fmn04+tf:64', 16], ['fmn04+hybrid:128', 20], ['fmn04+bigru:64', 8], ['fmn10+bigru:256', 8]];

/** A small deterministic mel [1,128,T,1] (same values on every backend). */
const mel = (): tf.Tensor4D => tf.tensor4d(Float32Array.from({ length: 128 * 24 }, (_, i) => Math.sin(i * 0.37) * 2), [1, 128, 24, 1]);

describe('webgpu fused sequence-model kernels (software adapter on CI)', function () {
  this.timeout(300_000);
  let reference: CaseResults;
  const referenceLogits = new Map<string, Float32Array>();

  before(async function () {
    await initBackend('cpu');
    reference = await caseResults(CASES);
    for (const [name] of MODELS) {
      const model = createModel(parseModelName(name), { seed: 3 });
      const out = model.forward(mel(), { training: false });
      referenceLogits.set(name, (await out.strongLogits.data()) as Float32Array);
      tf.dispose(Object.values(out));
      model.dispose();
    }
    await initTestWebgpu();
  });

  after(async () => {
    await initBackend('wasm');
  });

  itRunsInOneDispatchAsCpu(CASES, () => reference);

  for (const [name, expected] of MODELS) {
    it(`runs ${name}'s sequence model and heads in ${expected} dispatches, with the cpu logits`, async () => {
      const model = createModel(parseModelName(name), { seed: 3 });
      const x = mel();
      tf.dispose(Object.values(model.forward(x, { training: false }))); // fills the derived cache
      const cache = new DerivedCache();
      const ctx = { training: false, bnStats: new Map(), derived: cache };
      tf.dispose(backboneForward(model.param, model.config.widthMult, x, ctx)); // folds BatchNorm into the cache
      const backbone = countDispatches(() => backboneForward(model.param, model.config.widthMult, x, ctx));
      const { result, dispatches } = countDispatches(() => model.forward(x, { training: false }));
      assert.equal(dispatches - backbone.dispatches, expected);
      const err = maxRelErr(await result.strongLogits.data(), referenceLogits.get(name)!);
      tf.dispose([x, backbone.result, ...Object.values(result)]);
      cache.dispose();
      model.dispose();
      assert.ok(err < 1e-4, `strong logits max |Δ| / scale = ${err}`);
    });
  }
});

/**
 * Gradients of pointwise (1×1, stride-1, unpadded) convs on webgpu (engine/backend/webgpuPointwiseGrads.ts)
 * against the cpu backend, within 1e-5 of max(1, max |ref|): the split-K filter-gradient GEMM on channel
 * counts that are not multiples of its tile or of 4, smaller than a tile, rows that end mid-chunk and a
 * long reduction (100,100 rows), with its dispatches (the GEMM, then one split sum when there are
 * splits), so a silent fallback to the per-element kernel fails; the input gradient through tfjs' matmul
 * in one dispatch, and convs that are not pointwise still on tfjs' kernel.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../engine/backend/select';
import { filterGemmSplits, filterGemmTile } from '../../engine/backend/webgpuPointwiseGrads';
import { caseInputs, caseResults, initTestWebgpu, maxRelErr, rand, type CaseResults, type OpCase } from '../helpers/webgpuCases';
import { countDispatches } from '../helpers/webgpuDispatches';

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
const ZERO_PAD: tf.backend_util.ExplicitPadding = [[0, 0], [0, 0], [0, 0], [0, 0]];

interface GradCase extends OpCase {
  /** Program classes the webgpu kernel dispatches, in order (MatMul*: any of tfjs' one-dispatch matmul programs). */
  programs: string[];
}

/** dW of a 1×1 conv of x [xShape] with `cout` output channels (what tf.grad runs for the filter). */
function filterCase(xShape: [number, number, number, number], cout: number, what: string): GradCase {
  const [n, h, w, cin] = xShape;
  const rows = n * h * w;
  const { splits } = filterGemmSplits(rows, cin, cout, filterGemmTile(cin, cout));
  return {
    name: `filter gradient x [${xShape}], ${cout} out (${what}; ${splits} split${splits > 1 ? 's' : ''})`,
    inputs: () => [rand(xShape), rand([n, h, w, cout])],
    op: ([x, dy]) => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: ZERO_PAD, dataFormat: 'NHWC', filterShape: [1, 1, cin, cout] }) as tf.Tensor,
    programs: splits > 1 ? ['FilterGemmProgram', splits <= 64 ? 'ElementwiseProgram' : 'ColumnReduceProgram'] : ['FilterGemmProgram'],
  };
}

/** dX of a conv with filter [1, 1, cin, cout] (what tf.grad runs for the input). */
function inputCase(inputShape: [number, number, number, number], dyShape: [number, number, number, number], strides: number, pad: Pad, programs: string[]): GradCase {
  const [, , , cin] = inputShape;
  return {
    name: `input gradient [${inputShape}] from dy [${dyShape}], stride ${strides}, pad ${JSON.stringify(pad)}`,
    inputs: () => [rand(dyShape), rand([1, 1, cin, dyShape[3]])],
    op: ([dy, filter]) => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { inputShape, strides, pad, dataFormat: 'NHWC' }) as tf.Tensor,
    programs,
  };
}

const CASES: GradCase[] = [
  filterCase([2, 37, 41, 24], 72, 'tiles 32×16, rows end mid-chunk'),
  filterCase([2, 10, 60, 128], 64, 'tiles 64×64, one slice'),
  filterCase([2, 8, 100, 72], 96, 'several tiles in both directions'),
  filterCase([3, 11, 13, 13], 7, 'channels not multiples of 4, smaller than the tile'),
  filterCase([2, 20, 30, 96], 20, 'Cout below its tile, 20 of 32'),
  filterCase([1, 100, 1001, 8], 12, 'long reduction, Cin and Cout below the tile'),
  inputCase([2, 37, 41, 24], [2, 37, 41, 72], 1, 'valid', ['MatMul*']),
  inputCase([2, 9, 11, 13], [2, 9, 11, 7], 1, 'same', ['MatMul*']),
  inputCase([2, 9, 11, 16], [2, 9, 11, 24], 1, ZERO_PAD, ['MatMul*']),
  inputCase([2, 9, 11, 6], [2, 5, 6, 5], 2, 'valid', ['Conv2DDerInputProgram']),
  inputCase([2, 9, 11, 6], [2, 11, 13, 5], 1, [[0, 0], [1, 1], [1, 1], [0, 0]], ['Conv2DDerInputProgram']),
];

describe('webgpu pointwise conv gradients (software adapter on CI)', function () {
  this.timeout(300_000);
  let reference: CaseResults;

  before(async () => {
    await initBackend('cpu');
    reference = await caseResults(CASES);
    await initTestWebgpu();
  });

  after(async () => {
    await initBackend('wasm');
  });

  for (const [i, c] of CASES.entries()) {
    it(`${c.name}: ${c.programs.join(' + ')}, as the cpu backend`, async () => {
      const inputs = caseInputs(c, i);
      const { result, programs } = countDispatches(() => c.op(inputs));
      const ref = reference.get(c.name)!;
      assert.deepEqual(result.shape, ref.shape);
      const err = maxRelErr(await result.data(), ref.data);
      tf.dispose([result, ...inputs]);
      assert.ok(err < 1e-5, `max |Δ| / max(1, max |ref|) = ${err}`);
      // tfjs picks its matmul program by the output's size; each is one dispatch (bar split-K, for K ≥ 2000).
      assert.deepEqual(programs.map((p) => (p.startsWith('MatMul') && p !== 'MatMulSplitKProgram' ? 'MatMul*' : p)), c.programs);
    });
  }
});

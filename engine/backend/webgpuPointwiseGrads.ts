/**
 * Gradients of 1×1, stride-1, unpadded convolutions on webgpu as GEMMs over the N·H·W rows: the backbone's
 * expand/project convs, most of a training step's conv FLOPs. The filter gradient dW = Xᵀ·dY has a huge
 * reduction (32,000 to 2,048,000 rows at batch 64) and a small output (16×16 to 960×160); one thread per
 * filter element (FilterGradProgram) re-reads every operand from memory and reached ~1.4 TFLOPS on an
 * H200 (82 of 207 ms of GPU time per fmn10+tf:256 step). Here it is a tiled split-K GEMM; the input
 * gradient dX = dY·Wᵀ runs as tfjs' matmul, whose tiled program beats tfjs' Conv2DBackpropInput kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ConvGradAttrs } from './wasmKernels';
import { runProgram, type WebgpuUtil } from './webgpuProgram';
import { sumSplits } from './webgpuReducePrograms';

/** Threads of a workgroup; each owns 4 × 4 outputs of its tile. */
const THREADS = 256;
/** Output tile edges to choose from (rows: input channels, columns: output channels). */
const TILE_EDGES = [64, 32, 16];
/** Floats of one K step's staged X and dY tiles (12 KiB, under WebGPU's 16 KiB workgroup memory). */
const MAX_STAGED = 3072;
/** Floats the slice reduction needs: half the slices' 4 × 4 accumulators (THREADS·16/2). */
const REDUCE_FLOATS = (THREADS * 16) / 2;
/** Workgroups to aim for: a few per SM of a large GPU, so loads of some hide the latency of others. */
const TARGET_WORKGROUPS = 1024;
/**
 * Fewest rows per chunk: each workgroup's partial tile write stays small against its reads, and short
 * reductions (the last stages at small batches) take one dispatch, not a GEMM and a split sum.
 */
const MIN_CHUNK_ROWS = 512;
/** Cap on the partial sums [splits, Cin·Cout] (32 MB). */
const MAX_PARTIAL_FLOATS = 8 << 20;
/** Workgroups per dispatch dimension WebGPU guarantees. */
const MAX_WORKGROUPS = 65535;

/** The tile edge with the least padding of `size` (ties: the larger edge, fewer tiles). */
function tileEdge(size: number): number {
  const padded = (t: number): number => Math.ceil(size / t) * t;
  return TILE_EDGES.reduce((best, t) => (padded(t) < padded(best) ? t : best));
}

/**
 * partial[s, ci·Cout + co] = Σ_{r in chunk s} x[r, ci]·dy[r, co] over the rows r of x [N,H,W,Cin] and
 * dy [N,H,W,Cout]. A workgroup computes a TM × TN tile of one chunk: each K step stages TK rows of both
 * operands in workgroup memory (row-contiguous, vec4 loads when the channel count allows, so neighbouring
 * threads read neighbouring addresses), then each thread accumulates 4 input × 4 output channels from
 * them. Tiles smaller than 64 × 64 leave threads over: the workgroup splits into KS slices that take
 * different rows of each staged step, and sums their accumulators in workgroup memory at the end, so
 * every workgroup has 256 threads and writes one partial tile. Chunks are whole K steps; rows past the
 * end load as zeros. Dispatch: x = column tiles, y = row tiles, z = chunks (tiles of one chunk run
 * together and share its rows in cache).
 */
export class FilterGemmProgram {
  variableNames = ['x', 'dy'];
  variableComponents: number[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [1], y: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [THREADS, 1, 1];
  uniforms = 'chunkSteps : i32,';

  constructor(cin: number, cout: number, splits: number, private readonly tile: FilterGemmTile) {
    this.outputShape = [splits, cin * cout];
    this.variableComponents = [cin % 4 === 0 ? 4 : 1, cout % 4 === 0 ? 4 : 1];
    this.dispatch = [Math.ceil(cout / tile.tn), Math.ceil(cin / tile.tm), splits];
    this.shaderKey = `sedFilterGemm_${tile.tm}_${tile.tn}_${tile.tk}_${this.variableComponents.join('_')}`;
  }

  getUserCode(): string {
    const { tm: TM, tn: TN, tk: TK, slices: KS } = this.tile;
    const TM4 = TM / 4;
    const TN4 = TN / 4;
    const perSlice = TM4 * TN4;
    const rowsPerSlice = TK / KS;
    const dsBase = TK * TM4;
    const smem = Math.max(TK * (TM4 + TN4), KS > 1 ? REDUCE_FLOATS / 4 : 0);
    // Four channels of one row of a [R, C] input into `v` (vec4 loads when C % 4 == 0; C % 4 == 0 makes a
    // group of four all in or all out of range).
    const load = (name: string, components: number, channels: string): string => components === 4
      ? `if (c < ${channels}) { v = ${name}[(r * ${channels} + c) / 4]; }`
      : `for (var j = 0; j < 4; j = j + 1) { if (c + j < ${channels}) { v[j] = ${name}[r * ${channels} + c + j]; } }`;
    const stage = (name: string, components: number, channels: string, c4: number, base: number, origin: string): string => `
          for (var e = t; e < ${TK * c4}; e = e + ${THREADS}) {
            let kk = e / ${c4};
            let r = k0 + kk;
            let c = ${origin} + (e % ${c4}) * 4;
            var v = vec4<f32>(0.0);
            if (r < R) { ${load(name, components, channels)} }
            smem[${base} + e] = v;
          }`;
    // Tree sum of the slices' accumulators into slice 0 (the staging memory is free after the last step).
    let reduce = '';
    for (let h = KS / 2; h >= 1; h /= 2) {
      reduce += `
        if (slice >= ${h} && slice < ${2 * h}) {
          for (var i = 0; i < 4; i = i + 1) { smem[((slice - ${h}) * ${perSlice} + lane) * 4 + i] = acc[i]; }
        }
        workgroupBarrier();
        if (slice < ${h}) {
          for (var i = 0; i < 4; i = i + 1) { acc[i] = acc[i] + smem[(slice * ${perSlice} + lane) * 4 + i]; }
        }
        workgroupBarrier();`;
    }
    return `
      var<workgroup> smem : array<vec4<f32>, ${smem}>;

      fn main() {
        let R = uniforms.xShape[0] * uniforms.xShape[1] * uniforms.xShape[2];
        let M = uniforms.xShape[3];
        let N = uniforms.dyShape[3];
        let t = i32(localIndex);
        let slice = t / ${perSlice};
        let lane = t % ${perSlice};
        let tx = lane % ${TN4};
        let ty = lane / ${TN4};
        let m0 = i32(workgroupId.y) * ${TM};
        let n0 = i32(workgroupId.x) * ${TN};
        let kBase = slice * ${rowsPerSlice};
        let r0 = i32(workgroupId.z) * uniforms.chunkSteps * ${TK};
        var acc : array<vec4<f32>, 4>;
        for (var step = 0; step < uniforms.chunkSteps; step = step + 1) {
          let k0 = r0 + step * ${TK};
          ${stage('x', this.variableComponents[0], 'M', TM4, 0, 'm0')}
          ${stage('dy', this.variableComponents[1], 'N', TN4, dsBase, 'n0')}
          workgroupBarrier();
          for (var q = 0; q < ${rowsPerSlice}; q = q + 1) {
            let kk = kBase + q;
            let a = smem[kk * ${TM4} + ty];
            let b = smem[${dsBase} + kk * ${TN4} + tx];
            acc[0] = fma(vec4<f32>(a.x), b, acc[0]);
            acc[1] = fma(vec4<f32>(a.y), b, acc[1]);
            acc[2] = fma(vec4<f32>(a.z), b, acc[2]);
            acc[3] = fma(vec4<f32>(a.w), b, acc[3]);
          }
          workgroupBarrier();
        }
        ${reduce}
        if (slice == 0) {
          let base = i32(workgroupId.z) * M * N;
          let n = n0 + tx * 4;
          for (var i = 0; i < 4; i = i + 1) {
            let m = m0 + ty * 4 + i;
            if (m < M) {
              for (var j = 0; j < 4; j = j + 1) {
                if (n + j < N) { result[base + m * N + n + j] = acc[i][j]; }
              }
            }
          }
        }
      }
    `;
  }
}

/** Output tile TM × TN, rows staged per K step, and the slices that share a step's rows. */
export interface FilterGemmTile {
  tm: number;
  tn: number;
  tk: number;
  slices: number;
}

/** Tile edges following the channel counts; TK the largest power of two giving each slice ≤ 16 rows within MAX_STAGED. */
export function filterGemmTile(cin: number, cout: number): FilterGemmTile {
  const tm = tileEdge(cin);
  const tn = tileEdge(cout);
  const slices = THREADS / ((tm / 4) * (tn / 4));
  let tk = 16 * slices;
  while (tk * (tm + tn) > MAX_STAGED) tk /= 2;
  return { tm, tn, tk, slices };
}

/**
 * Chunks of the rows: enough for TARGET_WORKGROUPS workgroups over the output tiles when the rows allow
 * (at least MIN_CHUNK_ROWS rows each), with the partial sums under MAX_PARTIAL_FLOATS; no empty chunk.
 */
export function filterGemmSplits(rows: number, cin: number, cout: number, tile: FilterGemmTile): { splits: number; chunkSteps: number } {
  const steps = Math.ceil(rows / tile.tk);
  const tiles = Math.ceil(cin / tile.tm) * Math.ceil(cout / tile.tn);
  const wanted = Math.min(
    Math.ceil(TARGET_WORKGROUPS / tiles),
    Math.floor(rows / MIN_CHUNK_ROWS),
    Math.floor(MAX_PARTIAL_FLOATS / (cin * cout)),
    MAX_WORKGROUPS,
  );
  const chunkSteps = Math.ceil(steps / Math.max(1, wanted));
  return { splits: Math.ceil(steps / chunkSteps), chunkSteps };
}

/**
 * Whether a conv of input `inShape` and filter `filterShape` with these attributes is a 1×1 conv over the
 * same positions (stride 1, no padding, unit dilation, channels last): exactly a GEMM over the rows.
 */
export function isPointwiseConv(inShape: number[], filterShape: number[], a: ConvGradAttrs): boolean {
  const dilations = a.dilations ?? 1;
  const unitDilation = typeof dilations === 'number' ? dilations === 1 : dilations[0] === 1 && dilations[1] === 1;
  if (a.dataFormat === 'NCHW' || !unitDilation || filterShape[0] !== 1 || filterShape[1] !== 1) return false;
  const info = tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number], filterShape as [number, number, number, number], a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
  const p = info.padInfo;
  return info.strideHeight === 1 && info.strideWidth === 1 && p.top === 0 && p.bottom === 0 && p.left === 0 && p.right === 0
    && info.outHeight === info.inHeight && info.outWidth === info.inWidth;
}

/** dW [1, 1, Cin, Cout] of a pointwise conv: the split-K GEMM, then one pass summing the splits. */
export function pointwiseFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, backend: unknown, util: WebgpuUtil): tf.Tensor {
  const cin = x.shape[3];
  const cout = dy.shape[3];
  const rows = x.shape[0] * x.shape[1] * x.shape[2];
  const tile = filterGemmTile(cin, cout);
  const { splits, chunkSteps } = filterGemmSplits(rows, cin, cout, tile);
  const partial = runProgram(backend, new FilterGemmProgram(cin, cout, splits, tile), [x, dy], [{ type: 'int32', data: [chunkSteps] }]);
  const summed = sumSplits(backend, partial, util);
  return tf.tidy(() => tf.reshape(tf.engine().makeTensorFromTensorInfo(summed), [1, 1, cin, cout]));
}

/** dX [N, H, W, Cin] = dY [N·H·W, Cout] · W [Cin, Cout]ᵀ of a pointwise conv (tfjs' tiled matmul). */
export function pointwiseInputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D, inputShape: [number, number, number, number]): tf.Tensor {
  const [n, h, w, cin] = inputShape;
  const cout = dy.shape[3];
  return tf.tidy(() => tf.reshape(tf.matMul(tf.reshape(dy, [n * h * w, cout]), tf.reshape(filter, [cin, cout]), false, true), inputShape));
}

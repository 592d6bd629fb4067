/**
 * Reductions of the fused training ops in one dispatch each, spread over many threads: a thread that sums
 * thousands of values in sequence is bound by memory latency (milliseconds at batch 64), so columns of
 * [S, N] get a workgroup of 32 row lanes per 8 adjacent columns, and a flat sum a workgroup per chunk.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { ElementwiseProgram, WorkgroupProgram, runProgram, type Uniform, type WebgpuUtil } from './webgpuProgram';

const CL = 8;
const RL = 32;
/** Rows up to which one thread per column sums in sequence (enough columns to fill the GPU, short loops). */
const SHORT = 64;

/** Uniform data: [rows, cols, scale]. */
export const COLUMN_UNIFORMS = 'rows : i32, cols : i32, scale : f32,';

/**
 * value[o] = scale · Σ_{s < rows} term(s, o) over o < cols; `term` is WGSL defining `fn term(s : i32, o : i32) -> f32`
 * over the inputs and uniforms.cols (adjacent o adjacent in memory, so the row lanes' reads coalesce).
 */
export class ColumnReduceProgram extends WorkgroupProgram {
  shaderKey: string;
  uniforms = COLUMN_UNIFORMS;

  constructor(cols: number, readonly variableNames: string[], private readonly term: string, key: string) {
    super([cols], [Math.ceil(cols / CL), 1, 1], CL * RL);
    this.shaderKey = `sedColumnReduce_${key}`;
  }

  getUserCode(): string {
    return `
      ${this.term}
      var<workgroup> acc : array<f32, ${CL * RL}>;
      fn main(index : i32) {
        let lane = i32(localIndex);
        let cl = lane % ${CL};
        let rl = lane / ${CL};
        let o = i32(workgroupId.x) * ${CL} + cl;
        let cols = uniforms.cols;
        var s = 0.0;
        if (o < cols) {
          for (var r = rl; r < uniforms.rows; r = r + ${RL}) { s = s + term(r, o); }
        }
        acc[lane] = s;
        workgroupBarrier();
        for (var stride = ${RL / 2}; stride > 0; stride = stride / 2) {
          if (rl < stride) { acc[lane] = acc[lane] + acc[lane + stride * ${CL}]; }
          workgroupBarrier();
        }
        if (rl == 0 && o < cols) { setOutputAtIndex(o, acc[cl] * uniforms.scale); }
      }
    `;
  }
}

/** Σ_s x[s, o] of x [S, N] (split partial sums, a bias gradient): one thread per column when S is small. */
export function columnSumProgram(rows: number, cols: number, util: WebgpuUtil): ElementwiseProgram | ColumnReduceProgram {
  if (rows <= SHORT) {
    return new ElementwiseProgram([cols], ['x'], COLUMN_UNIFORMS, 'sedColumnSum', `
        var value = 0.0;
        for (var s = 0; s < uniforms.rows; s = s + 1) { value = value + x[s * uniforms.size + index]; }
        value = value * uniforms.scale;`, util);
  }
  return new ColumnReduceProgram(cols, ['x'], 'fn term(s : i32, o : i32) -> f32 { return x[s * uniforms.cols + o]; }', 'sum');
}

/**
 * The column sums of split partial sums `partial` [splits, cols] in one pass (tf.sum over axis 0 would transpose
 * first), the partials released; a single split is returned as it is.
 */
export function sumSplits(backend: unknown, partial: tf.TensorInfo, util: WebgpuUtil): tf.TensorInfo {
  const [splits, cols] = partial.shape;
  if (splits === 1) return partial;
  const uniforms: Uniform[] = [{ type: 'int32', data: [splits] }, { type: 'int32', data: [cols] }, { type: 'float32', data: [1] }];
  const summed = runProgram(backend, columnSumProgram(splits, cols, util), [partial], uniforms);
  (backend as { disposeData(id: tf.DataId): void }).disposeData(partial.dataId);
  return summed;
}

const WORKGROUP = 256;
/** Elements per workgroup of a flat sum. */
export const SUM_CHUNK = 16 * WORKGROUP;

/**
 * partial[g] = scale · Σ term(i) over i in chunk g of [0, n) (chunks of SUM_CHUNK); `term` is WGSL defining
 * `fn term(i : i32) -> f32`. A second pass with one chunk sums the partials.
 */
export class ChunkSumProgram extends WorkgroupProgram {
  uniforms: string;
  shaderKey: string;

  constructor(groups: number, readonly variableNames: string[], private readonly term: string, key: string, uniforms = '') {
    super([groups], [groups, 1, 1], WORKGROUP);
    this.uniforms = `n : i32, chunk : i32, scale : f32, ${uniforms}`;
    this.shaderKey = `sedChunkSum_${key}`;
  }

  getUserCode(): string {
    return `
      ${this.term}
      var<workgroup> acc : array<f32, ${WORKGROUP}>;
      fn main(index : i32) {
        let t = i32(localIndex);
        let g = i32(workgroupId.x);
        let end = min(uniforms.n, (g + 1) * uniforms.chunk);
        var s = 0.0;
        for (var i = g * uniforms.chunk + t; i < end; i = i + ${WORKGROUP}) { s = s + term(i); }
        acc[t] = s;
        workgroupBarrier();
        for (var stride = ${WORKGROUP / 2}; stride > 0; stride = stride / 2) {
          if (t < stride) { acc[t] = acc[t] + acc[t + stride]; }
          workgroupBarrier();
        }
        if (t == 0) { setOutputAtIndex(g, acc[0] * uniforms.scale); }
      }
    `;
  }
}

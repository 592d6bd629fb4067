/**
 * WGSL programs behind the fused training BatchNorm (webgpuTraining.ts). Per-channel sums over the
 * B·H·W rows of a channels-last tensor are split: a workgroup takes CL adjacent channels (adjacent
 * threads read adjacent channels of a row, so reads coalesce) × RL row lanes over one chunk of rows, and
 * reduces its lanes in workgroup memory; a second pass combines the chunks. Moments are combined with
 * Chan's parallel formula (mean, M2) instead of Σx and Σx², which cancel when |mean| ≫ std.
 */
import type { WebgpuUtil } from './webgpuProgram';

export type TrainAct = 'linear' | 'relu' | 'hardswish';

/** Threads per workgroup of the split reductions (channel lanes × row lanes). */
const WORKGROUP = 256;

/** Channel lanes: 32 (128-byte rows) once there are enough channels to fill them. */
export const channelLanes = (channels: number): number => (channels >= 32 ? 32 : 8);

/**
 * `act(z)` and `actGrad(z, d)` = d·act′(z) with the tfjs ops' derivatives: relu′ = step(z) (0 at 0);
 * hardswish z·relu6(z+3)/6 through autodiff of those ops, the Relu6 mask being 1 on 0 < z+3 ≤ 6.
 */
function actSnippet(act: TrainAct): string {
  const fwd = { linear: 'z', relu: 'max(z, 0.0)', hardswish: '(z * clamp(z + 3.0, 0.0, 6.0)) / 6.0' }[act];
  const grad = {
    linear: 'd',
    relu: 'select(0.0, d, z > 0.0)',
    hardswish: 'd / 6.0 * clamp(z + 3.0, 0.0, 6.0) + d / 6.0 * select(0.0, z, z + 3.0 > 0.0 && z + 3.0 <= 6.0)',
  }[act];
  return `
    fn act(z : f32) -> f32 { return ${fwd}; }
    fn actGrad(z : f32, d : f32) -> f32 { return ${grad}; }`;
}

/** x̂ of element `i` in channel `c`: batch mean and unbiased variance in, biased variance used (PyTorch). */
const NORMALISE = `
    fn invStd(c : i32) -> f32 { return inverseSqrt(bnVar[c] * uniforms.varScale + uniforms.eps); }
    fn xHat(i : i32, c : i32) -> f32 { return (y[i] - bnMean[c]) * invStd(c); }`;

/** Uniforms of every program that normalises: varScale = (N−1)/N turns the unbiased variance back. */
export const NORM_UNIFORMS = 'varScale : f32, eps : f32,';

/**
 * How the rows of one reduction are split.
 * `moments`: partial[s, 0, c] = mean, partial[s, 1, c] = M2 of y over chunk s.
 * `gradSums`: partial[s, 0, c] = Σg, partial[s, 1, c] = Σg·x̂ with g = dy·act′(z), z = x̂γ+β.
 * `gradApply`: dx over chunk s, after summing the gradSums partials (input `part`) of its channels.
 */
export type SplitMode = 'moments' | 'gradSums' | 'gradApply';

export class ChannelSplitProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  variableNames: string[];
  uniforms = 'chunk : i32, splits : i32, ';
  private readonly cl: number;

  /** `shape`: the [B, H, W, C] input; `splits` chunks of rows. */
  constructor(private readonly mode: SplitMode, shape: number[], splits: number, private readonly act: TrainAct, util: WebgpuUtil) {
    const c = shape[3];
    this.cl = channelLanes(c);
    this.outputShape = mode === 'gradApply' ? shape : [splits, 2, c];
    this.variableNames = mode === 'moments' ? ['y'] : ['y', 'dy', 'bnMean', 'bnVar', 'gamma', 'beta', ...(mode === 'gradApply' ? ['part'] : [])];
    if (mode !== 'moments') this.uniforms += `${NORM_UNIFORMS} count : f32,`;
    this.shaderKey = `sedBnSplit_${mode}_${act}_${this.cl}`;
    this.dispatchLayout = util.flatDispatchLayout(this.outputShape);
    this.dispatch = [Math.ceil(c / this.cl) * splits, 1, 1];
  }

  getUserCode(): string {
    const CL = this.cl;
    const RL = WORKGROUP / CL;
    const rowLoop = (body: string): string => `
        if (c < C) {
          for (var r = r0 + rl; r < r1; r = r + ${RL}) {
            let i = r * C + c;
            ${body}
          }
        }`;
    const accumulate = {
      moments: rowLoop('let v = y[i]; n = n + 1.0; let d = v - a; a = a + d / n; b = b + d * (v - a);'),
      gradSums: rowLoop('let xh = xHat(i, c); let g = actGrad(xh * gamma[c] + beta[c], dy[i]); a = a + g; b = b + g * xh;'),
      // Σg, Σg·x̂ of the whole batch: this workgroup's row lanes sum the chunks' partials.
      gradApply: `
        if (c < C) {
          for (var s2 = rl; s2 < uniforms.splits; s2 = s2 + ${RL}) { a = a + part[s2 * 2 * C + c]; b = b + part[(s2 * 2 + 1) * C + c]; }
        }`,
    }[this.mode];
    const combine = this.mode === 'moments'
      ? `let nb = sN[o];
          if (nb > 0.0) {
            let na = sN[lane];
            let nn = na + nb;
            let d = sA[o] - sA[lane];
            sA[lane] = sA[lane] + d * nb / nn;
            sB[lane] = sB[lane] + sB[o] + d * d * na * nb / nn;
            sN[lane] = nn;
          }`
      : 'sA[lane] = sA[lane] + sA[o]; sB[lane] = sB[lane] + sB[o];';
    const finish = this.mode === 'gradApply'
      ? `let dBeta = sA[cl] / uniforms.count;
        let dGamma = sB[cl] / uniforms.count;
        ${rowLoop(`let inv = invStd(c); let xh = (y[i] - bnMean[c]) * inv; let g = actGrad(xh * gamma[c] + beta[c], dy[i]);
            setOutputAtIndex(i, (g - (xh * dGamma + dBeta)) * (gamma[c] * inv));`)}`
      : `if (rl == 0 && c < C) {
          setOutputAtIndex(s * 2 * C + c, sA[lane]);
          setOutputAtIndex((s * 2 + 1) * C + c, sB[lane]);
        }`;
    return `
      ${this.mode === 'moments' ? '' : actSnippet(this.act) + NORMALISE}
      var<workgroup> sN : array<f32, ${WORKGROUP}>;
      var<workgroup> sA : array<f32, ${WORKGROUP}>;
      var<workgroup> sB : array<f32, ${WORKGROUP}>;
      fn main(index : i32) {
        let C = uniforms.yShape[3];
        let rows = uniforms.yShape[0] * uniforms.yShape[1] * uniforms.yShape[2];
        let lane = i32(localId.x);
        let cl = lane % ${CL};
        let rl = lane / ${CL};
        let groups = (C + ${CL - 1}) / ${CL};
        let s = i32(workgroupId.x) / groups;
        let c = (i32(workgroupId.x) % groups) * ${CL} + cl;
        let r0 = s * uniforms.chunk;
        let r1 = min(rows, r0 + uniforms.chunk);
        var n = 0.0;
        var a = 0.0;
        var b = 0.0;
        ${accumulate}
        sN[lane] = n;
        sA[lane] = a;
        sB[lane] = b;
        workgroupBarrier();
        for (var stride = ${RL / 2}; stride > 0; stride = stride / 2) {
          if (rl < stride) {
            let o = lane + stride * ${CL};
            ${combine}
          }
          workgroupBarrier();
        }
        ${finish}
      }
    `;
  }
}

/**
 * One thread per channel over the chunks' partials [S, 2, C]: `mean` / `var` (unbiased) from the
 * moments partials, `sum0` / `sum1` (Σg = dβ, Σg·x̂ = dγ) from the gradSums partials.
 */
export function splitFinishBody(which: 'mean' | 'var' | 'sum0' | 'sum1'): string {
  if (which === 'sum0' || which === 'sum1') {
    return `
      let C = uniforms.size;
      var value = 0.0;
      for (var s = 0; s < uniforms.splits; s = s + 1) { value = value + part[(s * 2 + ${which === 'sum0' ? 0 : 1}) * C + index]; }`;
  }
  return `
      let C = uniforms.size;
      var n = 0.0;
      var m = 0.0;
      var m2 = 0.0;
      for (var s = 0; s < uniforms.splits; s = s + 1) {
        let nb = f32(min(uniforms.chunk, uniforms.rows - s * uniforms.chunk));
        let nn = n + nb;
        let d = part[s * 2 * C + index] - m;
        m = m + d * nb / nn;
        m2 = m2 + part[(s * 2 + 1) * C + index] + d * d * n * nb / nn;
        n = nn;
      }
      let value = ${which === 'mean' ? 'm' : 'm2 / max(n - 1.0, 1.0)'};`;
}

/** act(x̂·γ + β) (+ residual `res`), one thread per element. */
export function applyBody(residual: boolean): string {
  return `
      let c = index % uniforms.yShape[3];
      let value = act(xHat(index, c) * gamma[c] + beta[c])${residual ? ' + res[index]' : ''};`;
}

export const applyPrelude = (act: TrainAct): string => actSnippet(act) + NORMALISE;

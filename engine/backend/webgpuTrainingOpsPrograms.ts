/** WGSL behind the fused sequence-model and loss training ops (webgpuTrainingOps.ts). */
import * as tf from '@tensorflow/tfjs-core';

const WORKGROUP = 256;

/**
 * One workgroup sums `term(i)` over i < n into a scalar [1] (the loss: n is ~10⁵–10⁷, one pass over it
 * costs less than another dispatch). `term` is WGSL defining `fn term(i : i32) -> f32` over the inputs.
 */
export class SumProgram {
  outputShape = [1];
  dispatchLayout = { x: [0] };
  dispatch: [number, number, number] = [1, 1, 1];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  uniforms = 'n : i32, w : f32,';
  shaderKey = 'sedTrainSum';

  constructor(readonly variableNames: string[], private readonly term: string) {}

  getUserCode(): string {
    return `
      ${this.term}
      var<workgroup> acc : array<f32, ${WORKGROUP}>;
      fn main(index : i32) {
        let t = i32(localIndex);
        var s = 0.0;
        for (var i = t; i < uniforms.n; i = i + ${WORKGROUP}) { s = s + term(i); }
        acc[t] = s;
        workgroupBarrier();
        for (var stride = ${WORKGROUP / 2}; stride > 0; stride = stride / 2) {
          if (t < stride) { acc[t] = acc[t] + acc[t + stride]; }
          workgroupBarrier();
        }
        if (t == 0) { setOutputAtIndex(0, acc[0] / f32(uniforms.n)); }
      }
    `;
  }
}

/** w·BCE(x, soft) + (1−w)·BCE(x, hard) of element i, BCE(x, y) = max(x,0) − x·y + log(1 + e^−|x|) (loss.ts);
 * targets may be i32 (a cast mask). */
export const kdLossTerm = `
  fn term(i : i32) -> f32 {
    let v = x[i];
    let base = max(v, 0.0) + log(1.0 + exp(-abs(v)));
    return uniforms.w * (base - v * f32(soft[i])) + (1.0 - uniforms.w) * (base - v * f32(hard[i]));
  }`;

/**
 * d loss / dx: (step(x) − (w·soft + (1−w)·hard) − sign(x)·e/(1+e)) · dy / n, e = e^−|x| — tfjs' derivatives of
 * relu, abs and log1p(exp) (0 at x = 0 for the first and the last).
 */
export const kdLossGradBody = `
      let v = x[index];
      let e = exp(-abs(v));
      let y = uniforms.w * f32(soft[index]) + (1.0 - uniforms.w) * f32(hard[index]);
      let value = (select(0.0, 1.0, v > 0.0) - y - sign(v) * e / (1.0 + e)) * dy[0] / uniforms.count;`;

/**
 * RMSNorm backward, per row r (y = x/m·g, m = max(‖x‖, 1e-12), g = γ√D): row[r] = (1/m, −Σ dy·g·x / (m²‖x‖)),
 * the second 0 when ‖x‖ < 1e-12 (tfjs' Maximum passes the gradient to the norm only when it is the larger).
 */
export const rmsRowBody = `
      let r = index / 2;
      let r0 = r * uniforms.dim;
      var ss = 0.0;
      var dot = 0.0;
      for (var k = 0; k < uniforms.dim; k = k + 1) {
        let v = x[r0 + k];
        ss = ss + v * v;
        dot = dot + dy[r0 + k] * gamma[k] * uniforms.sqrtDim * v;
      }
      let n = sqrt(ss);
      let m = max(n, 1e-12);
      let value = select(select(0.0, -dot / (m * m * n), n >= 1e-12), 1.0 / m, index % 2 == 0);`;

/** dγ_c = √D · Σ_r dy·x / m_r. */
export const rmsGammaBody = `
      var value = 0.0;
      for (var r = 0; r < uniforms.rows; r = r + 1) {
        let i = r * uniforms.dim + index;
        value = value + dy[i] * x[i] * row[2 * r];
      }
      value = value * uniforms.sqrtDim;`;

/** tfjs' erf (Abramowitz–Stegun 7.1.26, the constants of its cpu and webgpu kernels). */
export const erfSnippet = `
  fn erf(a : f32) -> f32 {
    let t = 1.0 / (1.0 + ${tf.backend_util.ERF_P} * abs(a));
    return sign(a) * (1.0 - (((((${tf.backend_util.ERF_A5} * t + ${tf.backend_util.ERF_A4}) * t) + ${tf.backend_util.ERF_A3}) * t + ${tf.backend_util.ERF_A2}) * t + ${tf.backend_util.ERF_A1}) * t * exp(-a * a));
  }`;

/** GELU x·½(1 + erf(x/√2)); its gradient with erf′(z) = 2/√π·e^−z² (tfjs' Erf gradient). */
export function geluBody(grad: boolean): string {
  const z = `let v = x[index]; let z = v * ${Math.SQRT1_2};`;
  return grad
    ? `${z} let value = dy[index] * (0.5 * (1.0 + erf(z)) + v * 0.5 * ${2 / Math.sqrt(Math.PI)} * exp(-z * z) * ${Math.SQRT1_2});`
    : `${z} let value = v * 0.5 * (1.0 + erf(z));`;
}

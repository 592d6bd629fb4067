/** WGSL behind the fused sequence-model and loss training ops (webgpuTrainingOps.ts). */
import * as tf from '@tensorflow/tfjs-core';
import { DROPOUT_PRELUDE, DROPOUT_UNIFORMS } from './dropoutMask';
import { WorkgroupProgram } from './webgpuProgram';
import type { MultiOutputShader } from './webgpuMultiOutput';

const WORKGROUP = 256;
/** Threads per row of RmsNormProgram. */
const ROW_LANES = 64;
/** Workgroups per dispatch row of the one-workgroup-per-row programs (WebGPU allows 65,535 per dimension). */
const ROW_STRIDE = 32768;
const rowDispatch = (rows: number): [number, number, number] => [Math.min(rows, ROW_STRIDE), Math.ceil(rows / ROW_STRIDE), 1];
/**
 * `row`, this workgroup's row, and `valid`: workgroups past the last row run with empty loops (no early return:
 * the barriers must stay in uniform control flow).
 */
const ROW_OF_WORKGROUP = (rows: string): string => `
        let row = i32(workgroupId.x) + i32(workgroupId.y) * ${ROW_STRIDE};
        let valid = row < ${rows};`;

/** RMSNorm forward x / max(‖x‖₂, 1e-12) · γ·√D, a workgroup per row of D (the norm reduced in workgroup memory). */
export class RmsNormProgram extends WorkgroupProgram {
  variableNames = ['x', 'gamma'];
  uniforms = 'sqrtDim : f32, rows : i32,';
  shaderKey: string;

  constructor(shape: number[], private readonly dim: number) {
    super(shape, rowDispatch(shape.reduce((a, b) => a * b, 1) / dim), ROW_LANES);
    this.shaderKey = `sedTrainRmsNorm_${dim}`;
  }

  getUserCode(): string {
    return `
      var<workgroup> acc : array<f32, ${ROW_LANES}>;
      fn main(index : i32) {
        ${ROW_OF_WORKGROUP('uniforms.rows')}
        let t = i32(localIndex);
        let D = select(0, ${this.dim}, valid);
        let base = row * D;
        var ss = 0.0;
        for (var k = t; k < D; k = k + ${ROW_LANES}) { let v = x[base + k]; ss = ss + v * v; }
        acc[t] = ss;
        workgroupBarrier();
        for (var stride = ${ROW_LANES / 2}; stride > 0; stride = stride / 2) {
          if (t < stride) { acc[t] = acc[t] + acc[t + stride]; }
          workgroupBarrier();
        }
        let inv = 1.0 / max(sqrt(acc[0]), 1e-12);
        for (var k = t; k < D; k = k + ${ROW_LANES}) { setOutputAtIndex(base + k, x[base + k] * inv * (gamma[k] * uniforms.sqrtDim)); }
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

/** dγ_c = √D · Σ_r dy·x / m_r, a term of ColumnReduceProgram (scale √D). */
export const rmsGammaTerm = `
  fn term(r : i32, c : i32) -> f32 {
    let i = r * uniforms.cols + c;
    return dy[i] * x[i] * row[2 * r];
  }`;

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

/** Index helpers over x [B, T, D] = [B, T, H·d] and heads [B, H, T, d] (d = headDim, T = frames). */
const HEAD_DIMS = `
      let D = uniforms.dim;
      let d = uniforms.headDim;
      let T = uniforms.frames;
      let H = D / d;`;
const FROM_HEAD_INDEX = `${HEAD_DIMS}
      let c = index % d;
      let t = (index / d) % T;
      let hh = (index / (d * T)) % H;
      let bt = (index / (d * T * H)) * T + t;`;
const FROM_ROW_INDEX = `${HEAD_DIMS}
      let j = index % uniforms.rowLength;
      let bt = index / uniforms.rowLength;
      let t = bt % T;
      let hh = (j % D) / d;
      let c = j % d;
      let head = ((bt / T * H + hh) * T + t) * d;`;

/**
 * Part `which` (q, k, v) of qkv [B, T, 3D] as heads [B, H, T, d], q and k with the rotary embedding, times
 * `scale`; the gradient (`grad`) writes d(qkv) for that part and zeros elsewhere. rotate_half (x0, x1, …) →
 * (−x1, x0, …) as in rotary.ts; its transpose in the gradient.
 */
export function headsBody(grad: boolean): string {
  if (!grad) {
    return `${FROM_HEAD_INDEX}
      let src = bt * 3 * D + uniforms.which * D + hh * d + c;
      var value = qkv[src];
      if (uniforms.which < 2) {
        let even = c % 2 == 0;
        value = value * cos[t * d + c] + select(1.0, -1.0, even) * qkv[src - c + select(c - 1, c + 1, even)] * sin[t * d + c];
      }
      value = value * uniforms.scale;`;
  }
  return `${FROM_ROW_INDEX}
      var value = 0.0;
      if (j / D == uniforms.which) {
        value = dy[head + c];
        if (uniforms.which < 2) {
          let even = c % 2 == 0;
          let pc = select(c - 1, c + 1, even);
          value = value * cos[t * d + c] - select(1.0, -1.0, even) * dy[head + pc] * sin[t * d + pc];
        }
        value = value * uniforms.scale;
      }`;
}

/**
 * Gated head merge: out [B, T, D] = o [B, H, T, d] · sigmoid(g [B, T, H]), heads merged; its gradients
 * d(o) = dy·s and d(g) = Σ_c dy·o · s(1 − s) (tfjs' Sigmoid gradient).
 */
export function gateMergeBody(which: 'forward' | 'do' | 'dg'): string {
  const sig = (i: string): string => `(1.0 / (1.0 + exp(-g[${i}])))`;
  switch (which) {
    case 'forward':
      return `${FROM_ROW_INDEX}
      let value = o[head + c] * ${sig('bt * H + hh')};`;
    case 'do':
      return `${FROM_HEAD_INDEX}
      let value = dy[bt * D + hh * d + c] * ${sig('bt * H + hh')};`;
    case 'dg':
      return `${HEAD_DIMS}
      let hh = index % H;
      let bt = index / H;
      let head = ((bt / T * H + hh) * T + bt % T) * d;
      var acc = 0.0;
      for (var c = 0; c < d; c = c + 1) { acc = acc + dy[bt * D + hh * d + c] * o[head + c]; }
      let s = ${sig('index')};
      let value = acc * s * (1.0 - s);`;
  }
}

/**
 * Softmax over the last axis of s [rows, n] then dropout (`mask(i)`, hashed), one workgroup per row; with
 * `grad`, d(s) from the saved s and dy (the gradient of the dropped probabilities): p recomputed, dp = dy·mask,
 * ds = p·(dp − Σ dp·p) (tfjs' Softmax gradient).
 */
export class SoftmaxDropoutProgram {
  outputShape: number[];
  dispatchLayout = { x: [0, 1] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  variableNames: string[];
  shaderKey: string;

  uniforms = DROPOUT_UNIFORMS;

  constructor(rows: number, n: number, private readonly grad: boolean) {
    this.outputShape = [rows, n];
    this.dispatch = rowDispatch(rows);
    this.variableNames = grad ? ['s', 'dy'] : ['s'];
    this.shaderKey = `sedSoftmaxDropout_${grad}`;
  }

  getUserCode(): string {
    const reduce = (op: string): string => `
        workgroupBarrier();
        for (var stride = ${WORKGROUP / 2}; stride > 0; stride = stride / 2) {
          if (t < stride) { red[t] = ${op}; }
          workgroupBarrier();
        }`;
    return `
      ${DROPOUT_PRELUDE}
      var<workgroup> red : array<f32, ${WORKGROUP}>;
      fn main(index : i32) {
        ${ROW_OF_WORKGROUP('uniforms.sShape[0]')}
        let n = select(0, uniforms.sShape[1], valid);
        let t = i32(localIndex);
        let base = row * n;
        var m = -3.402823e38;
        for (var j = t; j < n; j = j + ${WORKGROUP}) { m = max(m, s[base + j]); }
        red[t] = m;
        ${reduce('max(red[t], red[t + stride])')}
        m = red[0];
        workgroupBarrier();
        var z = 0.0;
        for (var j = t; j < n; j = j + ${WORKGROUP}) { z = z + exp(s[base + j] - m); }
        red[t] = z;
        ${reduce('red[t] + red[t + stride]')}
        z = red[0];
        ${this.grad ? `
        workgroupBarrier();
        var dot = 0.0;
        for (var j = t; j < n; j = j + ${WORKGROUP}) { dot = dot + dy[base + j] * dropoutMask(base + j) * exp(s[base + j] - m) / z; }
        red[t] = dot;
        ${reduce('red[t] + red[t + stride]')}
        dot = red[0];
        for (var j = t; j < n; j = j + ${WORKGROUP}) {
          let p = exp(s[base + j] - m) / z;
          setOutputAtIndex(base + j, p * (dy[base + j] * dropoutMask(base + j) - dot));
        }` : `
        for (var j = t; j < n; j = j + ${WORKGROUP}) { setOutputAtIndex(base + j, exp(s[base + j] - m) / z * dropoutMask(base + j)); }`}
      }
    `;
  }
}

/**
 * The linear recurrence h_t = a_t·h_{t−1} + b_t (h_{−1} = 0) over a, b [B, T, D] along T, one thread per
 * (clip, channel) walking the frames in order (adjacent threads read adjacent channels); `grad`: its
 * adjoint walking back, g_t = dh_t + a_{t+1}·g_{t+1}, then db_t = g_t and da_t = g_t·h_{t−1}, both written
 * by the one pass.
 */
export function linearScanShader(grad: boolean): MultiOutputShader {
  const walk = grad
    ? `
      var g = 0.0;
      var aNext = 0.0;
      for (var t = T - 1; t >= 0; t = t - 1) {
        let i = base + t * D;
        g = dh[i] + aNext * g;
        db[i] = g;
        da[i] = select(0.0, g * h[i - D], t > 0);
        aNext = a[i];
      }`
    : `
      var state = 0.0;
      for (var t = 0; t < T; t = t + 1) {
        let i = base + t * D;
        state = a[i] * state + b[i];
        h[i] = state;
      }`;
  return {
    key: `sedLinearScan_${grad}`,
    outputs: grad ? ['da', 'db'] : ['h'],
    inputs: grad ? ['a', 'h', 'dh'] : ['a', 'b'],
    uniforms: [['clips', 'i32'], ['frames', 'i32'], ['channels', 'i32']],
    body: `
      let D = uniforms.channels;
      let T = uniforms.frames;
      if (index >= uniforms.clips * D) { return; }
      let base = (index / D) * T * D + index % D;${walk}`,
  };
}

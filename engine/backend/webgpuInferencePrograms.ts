/**
 * WGSL programs behind the fused inference ops (webgpuInference.ts, webgpuSeqInference.ts): a 1×1 conv
 * (= a linear layer) as a tiled GEMM with the bias, activation, residual, squeeze-excitation gate and an
 * RMSNorm of the input rows fused in; a spatial conv (depthwise, or a
 * regular conv with one input channel: the stem) with bias and activation; and the whole SE gate (mean,
 * FC1 + ReLU, FC2 + sigmoid) in one workgroup per clip. Shape-dependent choices that change the code
 * (vector widths, kernel size, strides, channel counts) are part of `shaderKey`, since the backend keys
 * its pipeline cache on that key plus input ranks, not on shapes.
 */
import { FlatProgram, WorkgroupProgram, type WebgpuUtil } from './webgpuProgram';

export type Activation = 'linear' | 'relu' | 'hardswish' | 'gelu';

/**
 * erf as tfjs computes it on every backend (Abramowitz–Stegun 7.1.26, |error| ≤ 1.5e-7; WGSL has no erf),
 * so the fused GELU matches tfjs' x·0.5·(1 + erf(x/√2)).
 */
const ERF = `
  fn sedErf(x : vec4<f32>) -> vec4<f32> {
    let v = abs(x);
    let t = 1.0 / (1.0 + 0.3275911 * v);
    let poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
    return sign(x) * (1.0 - poly * exp(-v * v));
  }
`;

/** WGSL statement applying `act` to `v` (of type `t`) in place; hardswish as x·relu6(x+3)/6 like the tfjs ops. */
function activate(act: Activation, v: string, t: string): string {
  if (act === 'relu') return `${v} = max(${v}, ${t}(0.0));`;
  if (act === 'hardswish') return `${v} = (${v} * clamp(${v} + 3.0, ${t}(0.0), ${t}(6.0))) / 6.0;`;
  if (act === 'gelu') {
    const erf = t === 'f32' ? `sedErf(vec4<f32>(${v} * 0.7071067811865476)).x` : `sedErf(${v} * 0.7071067811865476)`;
    return `${v} = ${v} * 0.5 * (1.0 + ${erf});`;
  }
  return '';
}

const vecType = (components: number): string => (components === 4 ? 'vec4<f32>' : 'f32');

/** Rows of a GEMM tile and the reduction depth staged in workgroup memory per step. */
const TILE_M = 64;
const TILE_K = 16;
/** Workgroups per dispatch dimension WebGPU guarantees. */
const MAX_WORKGROUPS = 65535;

/** What the GEMM fuses around the product. */
export interface GemmOptions {
  act: Activation;
  /** [N] bias input. */
  bias: boolean;
  /** [B, K] squeeze-excitation gate multiplied into the input channels. */
  gated: boolean;
  /** Output-shaped input added after the activation. */
  residual: boolean;
  /**
   * RMSNorm of the input rows (rmsNorm.ts) with a [K] gain input `gamma`: the row scale
   * 1/max(‖x_m‖, 1e-12) factors out of the sum, so the kernel multiplies γ_k·√K (uniform `normScale`)
   * into the weight rows and the accumulated row by the scale, summing ‖x_m‖² from the x tiles it loads.
   */
  norm: boolean;
}

/**
 * out[m, n] = act(Σ_k x[m, k]·gate[b(m), k]·w[k, n] + bias[n]) + residual[m, n] over the rows m of
 * x [B,H,W,K] (b(m) = m / (H·W)), optionally of RMS-normalised rows (`GemmOptions.norm`). Each workgroup
 * computes a 64 × TILE_N output tile, each thread 4 rows × 4 columns; the x and w tiles go through
 * workgroup memory TILE_K deep, x as vec4 along k so that one x and four w loads feed 16 multiply-adds.
 * TILE_N (16, 32 or 64) follows the output width so narrow layers do not waste three quarters of their
 * threads. Row tiles run along dispatch y (and z beyond 65535 tiles), column tiles along x.
 */
export class PointwiseConvProgram {
  variableNames = ['x', 'w'];
  variableComponents: number[];
  outputComponent: number;
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [3], y: [0, 1, 2] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms?: string;
  private readonly tileN: number;
  private readonly vecK: boolean;
  private readonly vecN: boolean;

  constructor(xShape: number[], outChannels: number, private readonly o: GemmOptions) {
    const [B, H, W, K] = xShape;
    const N = outChannels;
    this.outputShape = [B, H, W, N];
    this.vecK = K % 4 === 0;
    this.vecN = N % 4 === 0;
    this.tileN = N <= 16 ? 16 : N <= 32 ? 32 : 64;
    this.workgroupSize = [this.tileN / 4, TILE_M / 4, 1];
    const k = this.vecK ? 4 : 1;
    const n = this.vecN ? 4 : 1;
    this.variableComponents = [k, n];
    const input = (name: string, components: number): void => {
      this.variableNames.push(name);
      this.variableComponents.push(components);
    };
    if (o.bias) input('bias', n);
    if (o.gated) input('gate', k);
    if (o.residual) input('residual', n);
    if (o.norm) {
      input('gamma', 1);
      this.uniforms = 'normScale : f32,';
    }
    this.outputComponent = n;
    const rowTiles = Math.ceil((B * H * W) / TILE_M);
    const z = Math.ceil(rowTiles / MAX_WORKGROUPS);
    this.dispatch = [Math.ceil(N / this.tileN), Math.ceil(rowTiles / z), z];
    this.shaderKey = `sedPointwise_${o.act}_${o.bias}_${o.gated}_${o.residual}_${o.norm}_${this.tileN}_${this.vecK}_${this.vecN}`;
  }

  getUserCode(): string {
    const TN4 = this.tileN / 4;
    const RG = TILE_M / 4; // row groups: thread (tx, ty) owns rows ty, ty + RG, ty + 2·RG, ty + 3·RG of the tile
    const threads = TN4 * RG;
    const { act, gated, residual, norm } = this.o;
    // Four k of one row of the gated x tile.
    const loadX = this.vecK
      ? `if (m < M && k < K) { a = x[(m * K + k) / 4]${gated ? ' * gate[(m / HW * K + k) / 4]' : ''}; }`
      : `for (var j = 0; j < 4; j = j + 1) { if (m < M && k + j < K) { a[j] = x[m * K + k + j]${gated ? ' * gate[m / HW * K + k + j]' : ''}; } }`;
    // Four n of one k of w.
    const gain = norm ? ' * (gamma[k] * uniforms.normScale)' : '';
    const loadW = this.vecN
      ? `if (k < K && n < N) { v = w[(k * N + n) / 4]${gain}; }`
      : `for (var j = 0; j < 4; j = j + 1) { if (k < K && n + j < N) { v[j] = w[k * N + n + j]${gain}; } }`;
    const scaled = norm ? 'acc[i] / max(sqrt(dot(ss[i], vec4<f32>(1.0))), 1e-12)' : 'acc[i]';
    const store = this.vecN
      ? `var v = ${scaled}${this.o.bias ? ' + bias[n / 4]' : ''};
         ${activate(act, 'v', 'vec4<f32>')}
         ${residual ? 'v = v + residual[(m * N + n) / 4];' : ''}
         result[(m * N + n) / 4] = v;`
      : `let row = ${scaled};
         for (var j = 0; j < 4; j = j + 1) {
           if (n + j < N) {
             var v = row[j]${this.o.bias ? ' + bias[n + j]' : ''};
             ${activate(act, 'v', 'f32')}
             ${residual ? 'v = v + residual[m * N + n + j];' : ''}
             result[m * N + n + j] = v;
           }
         }`;
    return `
      ${act === 'gelu' ? ERF : ''}
      var<workgroup> xs : array<array<vec4<f32>, ${TILE_K / 4}>, ${TILE_M}>;
      var<workgroup> ws : array<array<vec4<f32>, ${TN4}>, ${TILE_K}>;

      fn main() {
        let HW = uniforms.xShape[1] * uniforms.xShape[2];
        let M = uniforms.xShape[0] * HW;
        let K = uniforms.xShape[3];
        let N = uniforms.outShape[3];
        let tx = i32(localId.x);
        let ty = i32(localId.y);
        let m0 = i32(workgroupId.y + workgroupId.z * numWorkgroups.y) * ${TILE_M};
        let n0 = i32(workgroupId.x) * ${this.tileN};
        let n = n0 + tx * 4;
        var acc : array<vec4<f32>, 4>;
        ${norm ? 'var ss : array<vec4<f32>, 4>;' : ''}
        for (var k0 = 0; k0 < K; k0 = k0 + ${TILE_K}) {
          for (var e = i32(localIndex); e < ${(TILE_M * TILE_K) / 4}; e = e + ${threads}) {
            let r = e / ${TILE_K / 4};
            let m = m0 + r;
            let k = k0 + (e % ${TILE_K / 4}) * 4;
            var a = vec4<f32>(0.0);
            ${loadX}
            xs[r][e % ${TILE_K / 4}] = a;
          }
          for (var kr = ty; kr < ${TILE_K}; kr = kr + ${RG}) {
            let k = k0 + kr;
            var v = vec4<f32>(0.0);
            ${loadW}
            ws[kr][tx] = v;
          }
          workgroupBarrier();
          for (var kq = 0; kq < ${TILE_K / 4}; kq = kq + 1) {
            let b0 = ws[kq * 4][tx];
            let b1 = ws[kq * 4 + 1][tx];
            let b2 = ws[kq * 4 + 2][tx];
            let b3 = ws[kq * 4 + 3][tx];
            for (var i = 0; i < 4; i = i + 1) {
              let a = xs[i * ${RG} + ty][kq];
              acc[i] = fma(vec4<f32>(a.x), b0, acc[i]);
              acc[i] = fma(vec4<f32>(a.y), b1, acc[i]);
              acc[i] = fma(vec4<f32>(a.z), b2, acc[i]);
              acc[i] = fma(vec4<f32>(a.w), b3, acc[i]);
              ${norm ? 'ss[i] = fma(a, a, ss[i]);' : ''}
            }
          }
          workgroupBarrier();
        }
        if (n < N) {
          for (var i = 0; i < 4; i = i + 1) {
            let m = m0 + i * ${RG} + ty;
            if (m < M) {
              ${store}
            }
          }
        }
      }
    `;
  }
}

/** Output columns one thread computes (neighbouring taps share input loads). */
const COLS_PER_THREAD = 4;

/**
 * out[b, r, c, ch] = act(Σ_{i,j} x[b, r·sh + i − ph, c·sw + j − pw, ch or 0]·w[i, j, ch] (+ bias[ch])) with
 * zero padding (ph, pw at the top and left): a depthwise conv, or (`singleInput`) a regular conv of a
 * one-channel input whose filter [kh, kw, 1, C] has the depthwise layout. A thread computes 4 consecutive
 * output columns of 4 channels (1 when C % 4 ≠ 0), reusing each input row's loads across the kernel taps.
 * Without `bias` (and act 'linear') it is tfjs' DepthwiseConv2dNative, which training runs through it.
 */
export class SpatialConvProgram extends FlatProgram {
  variableNames: string[];
  variableComponents: number[];
  outputComponent: number;
  shaderKey: string;

  constructor(
    outShape: number[],
    private readonly kernel: [number, number],
    private readonly strides: [number, number],
    private readonly pads: [number, number],
    private readonly singleInput: boolean,
    private readonly act: Activation,
    util: WebgpuUtil,
    private readonly bias = true,
  ) {
    const [B, OH, OW, C] = outShape;
    const outputComponent = C % 4 === 0 ? 4 : 1;
    super(outShape, [B * OH * Math.ceil(OW / COLS_PER_THREAD) * (C / outputComponent)], util);
    this.outputComponent = outputComponent;
    this.variableNames = bias ? ['x', 'w', 'bias'] : ['x', 'w'];
    this.variableComponents = [singleInput ? 1 : this.outputComponent, this.outputComponent, this.outputComponent].slice(0, this.variableNames.length);
    this.shaderKey = `sedSpatialConv_${kernel.join('x')}_${strides.join('x')}_${pads.join('x')}_${singleInput}_${act}_${bias}_${this.outputComponent}`;
  }

  getUserCode(): string {
    const [KH, KW] = this.kernel;
    const [SH, SW] = this.strides;
    const P = COLS_PER_THREAD;
    const XN = (P - 1) * SW + KW;
    const t = vecType(this.outputComponent);
    const readX = this.singleInput ? `${t}(x[(batch * H + ih) * W + iw])` : `x[((batch * H + ih) * W + iw) * CV + cv]`;
    return `
      fn main(index : i32) {
        let OH = uniforms.outShape[1];
        let OW = uniforms.outShape[2];
        let CV = uniforms.outShape[3] / ${this.outputComponent};
        let colGroups = (OW + ${P - 1}) / ${P};
        if (index >= uniforms.outShape[0] * OH * colGroups * CV) { return; }
        let H = uniforms.xShape[1];
        let W = uniforms.xShape[2];
        let cv = index % CV;
        var rest = index / CV;
        let col0 = (rest % colGroups) * ${P};
        rest = rest / colGroups;
        let row = rest % OH;
        let batch = rest / OH;
        let ih0 = row * ${SH} - ${this.pads[0]};
        let iw0 = col0 * ${SW} - ${this.pads[1]};
        var acc : array<${t}, ${P}>;
        var xv : array<${t}, ${XN}>;
        for (var i = 0; i < ${KH}; i = i + 1) {
          let ih = ih0 + i;
          if (ih >= 0 && ih < H) {
            for (var j = 0; j < ${XN}; j = j + 1) {
              let iw = iw0 + j;
              xv[j] = ${t}(0.0);
              if (iw >= 0 && iw < W) { xv[j] = ${readX}; }
            }
            for (var j = 0; j < ${KW}; j = j + 1) {
              let wv = w[(i * ${KW} + j) * CV + cv];
              for (var q = 0; q < ${P}; q = q + 1) {
                acc[q] = fma(xv[q * ${SW} + j], wv, acc[q]);
              }
            }
          }
        }
        for (var q = 0; q < ${P}; q = q + 1) {
          if (col0 + q < OW) {
            var v = acc[q]${this.bias ? ' + bias[cv]' : ''};
            ${activate(this.act, 'v', t)}
            result[((batch * OH + row) * OW + col0 + q) * CV + cv] = v;
          }
        }
      }
    `;
  }
}

/** Threads of the SE gate's workgroup (one workgroup per clip). */
const SE_THREADS = 256;

/** Channels a thread handles at once: 4 (vec4) when C allows. */
const seComponents = (channels: number): number => (channels % 4 === 0 ? 4 : 1);

/** Threads summing one channel group's positions, so that all threads take part when C/4 < 256. */
const seLanes = (groups: number): number => Math.max(1, Math.floor(SE_THREADS / groups));

/** Whether the gate's partial sums and hidden layer fit the 16 KiB of workgroup memory WebGPU guarantees. */
export function seGateFitsWorkgroup(channels: number, squeeze: number): boolean {
  const groups = channels / seComponents(channels);
  return (groups * seLanes(groups) * seComponents(channels) + squeeze) * 4 <= 16384;
}

/**
 * g[b, c] = sigmoid(Σ_s relu(Σ_c' mean_{h,w} x[b,h,w,c']·w1[c', s] + b1[s])·w2[s, c] + b2[c]), one workgroup
 * per clip b. Threads take 4 channels at a time; the mean splits each channel group's H·W positions over
 * `lanes` threads when there are fewer groups than threads, with four independent sums per thread so
 * loads overlap. The means and the hidden layer stay in workgroup memory.
 */
export class SeGateProgram extends WorkgroupProgram {
  variableNames = ['x', 'w1', 'b1', 'w2', 'b2'];
  variableComponents: number[];
  outputComponent: number;
  shaderKey: string;

  constructor(batch: number, private readonly channels: number, private readonly squeeze: number) {
    super([batch, channels], [batch, 1, 1], SE_THREADS);
    this.outputComponent = seComponents(channels);
    this.variableComponents = [this.outputComponent, 1, 1, this.outputComponent, this.outputComponent];
    this.shaderKey = `sedSeGate_${channels}_${squeeze}`;
  }

  getUserCode(): string {
    const comp = this.outputComponent;
    const t = vecType(comp);
    const CV = this.channels / comp;
    const S = this.squeeze;
    const L = seLanes(CV);
    // w1[c, s] for the channels of group cv, as t.
    const w1Col = comp === 4
      ? `vec4<f32>(w1[cv * ${4 * S} + s], w1[cv * ${4 * S} + ${S} + s], w1[cv * ${4 * S} + ${2 * S} + s], w1[cv * ${4 * S} + ${3 * S} + s])`
      : `w1[cv * ${S} + s]`;
    return `
      var<workgroup> partial : array<${t}, ${CV * L}>;
      var<workgroup> hidden : array<f32, ${S}>;

      fn main(index : i32) {
        let b = i32(workgroupId.x);
        let t = i32(localIndex);
        let HW = uniforms.xShape[1] * uniforms.xShape[2];
        let base = b * HW * ${CV};
        for (var e = t; e < ${CV * L}; e = e + ${SE_THREADS}) {
          let cv = e % ${CV};
          var s0 = ${t}(0.0);
          var s1 = ${t}(0.0);
          var s2 = ${t}(0.0);
          var s3 = ${t}(0.0);
          var p = e / ${CV};
          for (; p + ${3 * L} < HW; p = p + ${4 * L}) {
            s0 = s0 + x[base + p * ${CV} + cv];
            s1 = s1 + x[base + (p + ${L}) * ${CV} + cv];
            s2 = s2 + x[base + (p + ${2 * L}) * ${CV} + cv];
            s3 = s3 + x[base + (p + ${3 * L}) * ${CV} + cv];
          }
          for (; p < HW; p = p + ${L}) { s0 = s0 + x[base + p * ${CV} + cv]; }
          partial[e] = (s0 + s1) + (s2 + s3);
        }
        workgroupBarrier();
        for (var cv = t; cv < ${CV}; cv = cv + ${SE_THREADS}) {
          var sum = partial[cv];
          for (var l = 1; l < ${L}; l = l + 1) { sum = sum + partial[l * ${CV} + cv]; }
          partial[cv] = sum / f32(HW);
        }
        workgroupBarrier();
        for (var s = t; s < ${S}; s = s + ${SE_THREADS}) {
          var h = ${t}(0.0);
          for (var cv = 0; cv < ${CV}; cv = cv + 1) { h = fma(partial[cv], ${w1Col}, h); }
          hidden[s] = max(${comp === 4 ? 'dot(h, vec4<f32>(1.0))' : 'h'} + b1[s], 0.0);
        }
        workgroupBarrier();
        for (var cv = t; cv < ${CV}; cv = cv + ${SE_THREADS}) {
          var g = ${t}(0.0);
          for (var s = 0; s < ${S}; s = s + 1) { g = fma(${t}(hidden[s]), w2[s * ${CV} + cv], g); }
          result[b * ${CV} + cv] = 1.0 / (1.0 + exp(-1.0 * (g + b2[cv])));
        }
      }
    `;
  }
}

/**
 * WGSL programs of the depthwise conv gradients (NHWC, channel multiplier 1; webgpuDepthwiseGrads.ts runs
 * them). tfjs-backend-webgpu 4.22's input gradient decodes every output index with integer divisions and
 * tests each filter tap with float divisions, one channel per thread; its filter gradient (and our earlier
 * one-thread-per-filter-element split sum) re-reads dy and x once per tap. Here threads take 4 channels
 * (vec4) when C % 4 == 0, neighbouring threads neighbouring channels (coalesced), and COLS output columns
 * at once, so each row of loads feeds every tap that uses it. Kernel size, strides and padding are
 * compile-time constants (part of `shaderKey`), so the tap loops unroll and the accumulators stay in
 * registers.
 */
import { FlatProgram, WorkgroupProgram, type WebgpuUtil } from './webgpuProgram';

/** Columns a thread computes (input gradient: dx columns; filter gradient: dy columns per step). */
const COLS = 4;
/** Threads of a filter-gradient workgroup (channel lanes × row lanes). */
const FILTER_THREADS = 64;
/** Channel vectors of a filter-gradient workgroup at most: 16 vec4 = 256 bytes of a row per load. */
const MAX_CHANNEL_LANES = 16;
/** Workgroups the filter gradient aims at: several per SM of a large GPU, so loads of some hide the latency of others. */
const TARGET_WORKGROUPS = 1024;
/**
 * Workgroup memory for the row-lane reduction (bytes; WebGPU guarantees 16 KiB): bounds the taps reduced per
 * barrier. Half the guarantee, since on NVIDIA GPUs workgroup memory and the L1 cache that serves the
 * repeated x loads share one array per SM.
 */
const REDUCE_BYTES = 8192;

/** Kernel size, strides and top/left zero padding of a depthwise conv ([height, width] each). */
export interface DepthwiseGeometry {
  kernel: [number, number];
  strides: [number, number];
  pads: [number, number];
}

/** Channels a thread handles: 4 (vec4 loads) when C allows. */
export const channelComponents = (channels: number): number => (channels % 4 === 0 ? 4 : 1);

const vecType = (components: number): string => (components === 4 ? 'vec4<f32>' : 'f32');

const geometryKey = (g: DepthwiseGeometry): string => `${g.kernel.join('x')}_${g.strides.join('x')}_${g.pads.join('x')}`;

/** `count` WGSL statements from `line(k)`, k = 0..count−1 (loops unrolled by the generator). */
const lines = (count: number, line: (k: number) => string): string => Array.from({ length: count }, (_, k) => line(k)).join('\n');

/**
 * dx[n, ih, iw, c] = Σ dy[n, oh, ow, c]·w[i, j, c] over the taps with ih = oh·sh + i − ph and
 * iw = ow·sw + j − pw. A thread computes the COLS columns iw0, iw0 + sw, … of one row and channel vector:
 * they share the phase (iw + pw) mod sw, hence the taps j that reach them (only those with integral ow),
 * and tap j0 + m·sw of column q reads dy column base − m + q, so one window of dy loads per row serves
 * every tap. Rows: the taps i ≡ (ih + ph) mod sh with 0 ≤ oh < OH.
 */
export class DepthwiseInputGradProgram extends FlatProgram {
  variableNames = ['dy', 'w'];
  variableComponents: number[];
  outputComponent: number;
  shaderKey: string;

  constructor(inShape: number[], private readonly geometry: DepthwiseGeometry, util: WebgpuUtil) {
    const [N, H, W, C] = inShape;
    const sw = geometry.strides[1];
    const outputComponent = channelComponents(C);
    super(inShape, [N * H * Math.ceil(W / (COLS * sw)) * sw * (C / outputComponent)], util);
    this.outputComponent = outputComponent;
    this.variableComponents = [this.outputComponent, this.outputComponent];
    this.shaderKey = `sedDepthwiseInputGrad_${geometryKey(geometry)}_${this.outputComponent}`;
  }

  getUserCode(): string {
    const { kernel: [KH, KW], strides: [SH, SW], pads: [PH, PW] } = this.geometry;
    const t = vecType(this.outputComponent);
    // Taps per row / column phase at most, and the dy columns one row's window spans.
    const MH = Math.ceil(KH / SH);
    const MW = Math.ceil(KW / SW);
    const span = MW - 1 + COLS;
    const row = (r: number): string => `
        {
          let i = i0 + ${r * SH};
          let dh = ih + ${PH} - i;
          if (i < ${KH} && dh >= 0 && dh < OH * ${SH}) {
            let dyRow = (n * OH + dh / ${SH}) * OW;
            ${lines(span, (u) => `var y${u} = ${t}(0.0);
            if (ow0 + ${u} >= 0 && ow0 + ${u} < OW) { y${u} = dy[(dyRow + ow0 + ${u}) * CV + cv]; }`)}
            ${lines(MW, (m) => `{
              let j = j0 + ${m * SW};
              if (j < ${KW}) {
                let wv = w[(i * ${KW} + j) * CV + cv];
                ${lines(COLS, (q) => `a${q} = fma(y${q - m + MW - 1}, wv, a${q});`)}
              }
            }`)}
          }
        }`;
    return `
      fn main(index : i32) {
        let H = uniforms.outShape[1];
        let W = uniforms.outShape[2];
        let CV = uniforms.outShape[3] / ${this.outputComponent};
        let OH = uniforms.dyShape[1];
        let OW = uniforms.dyShape[2];
        let colGroups = ((W + ${COLS * SW - 1}) / ${COLS * SW}) * ${SW};
        if (index >= uniforms.outShape[0] * H * colGroups * CV) { return; }
        let cv = index % CV;
        var rest = index / CV;
        let g = rest % colGroups;
        rest = rest / colGroups;
        let ih = rest % H;
        let n = rest / H;
        let iw0 = (g / ${SW}) * ${COLS * SW} + g % ${SW};
        if (iw0 >= W) { return; }
        let i0 = (ih + ${PH}) % ${SH};
        let j0 = (iw0 + ${PW}) % ${SW};
        // dy column of window slot 0: tap j0 + m·sw of column q reads slot q − m + ${MW - 1}.
        let ow0 = (iw0 + ${PW} - j0) / ${SW} - ${MW - 1};
        ${lines(COLS, (q) => `var a${q} = ${t}(0.0);`)}
        ${lines(MH, row)}
        let outRow = (n * H + ih) * W + iw0;
        result[outRow * CV + cv] = a0;
        ${lines(COLS - 1, (k) => `if (iw0 + ${(k + 1) * SW} < W) { result[(outRow + ${(k + 1) * SW}) * CV + cv] = a${k + 1}; }`)}
      }
    `;
  }
}

/** How the filter gradient's workgroups split the channels and the N·OH × OW output positions. */
export interface FilterGradSplits {
  /** Channel vectors per workgroup, and workgroups across the channels. */
  lanes: number;
  channelBlocks: number;
  /** Workgroups per channel block (partial sums to add up): row splits × column splits. */
  splits: number;
  /** A workgroup's share: this many groups of (FILTER_THREADS / lanes) rows × this many groups of COLS columns. */
  rowGroupsPerSplit: number;
  colSplits: number;
  colGroupsPerSplit: number;
}

/**
 * Splits for C channels (as `components`-wide vectors) and dy rows = N·OH of OW columns: about
 * TARGET_WORKGROUPS workgroups in all, row groups joined when there are many more, the columns split when
 * there are fewer (every split non-empty).
 */
export function filterGradSplits(channels: number, components: number, rows: number, cols: number): FilterGradSplits {
  const vectors = channels / components;
  const channelBlocks = Math.ceil(vectors / MAX_CHANNEL_LANES);
  const lanes = Math.ceil(vectors / channelBlocks);
  const rowGroups = Math.ceil(rows / Math.floor(FILTER_THREADS / lanes));
  const colGroups = Math.ceil(cols / COLS);
  const rowGroupsPerSplit = Math.max(1, Math.floor((channelBlocks * rowGroups) / TARGET_WORKGROUPS));
  const rowSplits = Math.ceil(rowGroups / rowGroupsPerSplit);
  const colGroupsPerSplit = Math.ceil(colGroups / Math.min(colGroups, Math.ceil(TARGET_WORKGROUPS / (channelBlocks * rowSplits))));
  const colSplits = Math.ceil(colGroups / colGroupsPerSplit);
  return { lanes, channelBlocks, splits: rowSplits * colSplits, rowGroupsPerSplit, colSplits, colGroupsPerSplit };
}

/**
 * partial[s, (i·kw + j)·C + c] = Σ dy[n, oh, ow, c]·x[n, oh·sh + i − ph, ow·sw + j − pw, c] over split s's
 * positions. Workgroup (channel block, s) has `lanes` channel lanes × FILTER_THREADS / lanes row lanes; row
 * lane l takes the dy rows (n·OH + oh) ≡ l of each row group, so the lanes work on adjacent rows at once and
 * share the x rows they read through the cache. A thread keeps all kh·kw tap sums of its channels in
 * registers: per step it loads COLS dy values and, per filter row, the x window those columns cover, and
 * adds every tap. The row lanes' sums are added in workgroup memory; `columnSumProgram` adds the splits.
 */
export class DepthwiseFilterGradProgram extends WorkgroupProgram {
  variableNames = ['x', 'dy'];
  variableComponents: number[];
  outputComponent: number;
  shaderKey: string;
  uniforms = 'lanes : i32, rowGroupsPerSplit : i32, colSplits : i32, colGroupsPerSplit : i32,';

  constructor(channels: number, splits: FilterGradSplits, private readonly geometry: DepthwiseGeometry) {
    const [KH, KW] = geometry.kernel;
    super([splits.splits, KH * KW * channels], [splits.channelBlocks, splits.splits, 1], FILTER_THREADS);
    this.outputComponent = channelComponents(channels);
    this.variableComponents = [this.outputComponent, this.outputComponent];
    this.shaderKey = `sedDepthwiseFilterGrad_${geometryKey(geometry)}_${this.outputComponent}`;
  }

  getUserCode(): string {
    const { kernel: [KH, KW], strides: [SH, SW], pads: [PH, PW] } = this.geometry;
    const comp = this.outputComponent;
    const t = vecType(comp);
    const taps = KH * KW;
    const span = (COLS - 1) * SW + KW;
    const T = FILTER_THREADS;
    const filterRow = (i: number): string => `
            {
              let ih = ih0 + ${i};
              if (ih >= 0 && ih < H) {
                let xRow = (n * H + ih) * W;
                ${lines(span, (u) => `var x${u} = ${t}(0.0);
                if (iw0 + ${u} >= 0 && iw0 + ${u} < W) { x${u} = x[(xRow + iw0 + ${u}) * CV + cv]; }`)}
                ${lines(KW * COLS, (k) => {
                  const j = Math.floor(k / COLS);
                  const q = k % COLS;
                  return `a${i * KW + j} = fma(d${q}, x${q * SW + j}, a${i * KW + j});`;
                })}
              }
            }`;
    // Row-lane sums through workgroup memory, in as few equal batches of taps as fit.
    const perBatch = Math.ceil(taps / Math.ceil(taps / Math.floor(REDUCE_BYTES / (T * 4 * comp))));
    const batches: string[] = [];
    for (let start = 0; start < taps; start += perBatch) {
      const count = Math.min(perBatch, taps - start);
      batches.push(`
        ${lines(count, (b) => `red[${b * T} + lane] = a${start + b};`)}
        workgroupBarrier();
        for (var e = lane; e < ${count} * CL; e = e + ${T}) {
          let b = e / CL;
          let c = e % CL;
          let cvOut = i32(workgroupId.x) * CL + c;
          if (cvOut < CV) {
            var sum = red[b * ${T} + c];
            for (var l = 1; l < RL; l = l + 1) { sum = sum + red[b * ${T} + l * CL + c]; }
            result[(s * ${taps} + ${start} + b) * CV + cvOut] = sum;
          }
        }
        workgroupBarrier();`);
    }
    return `
      var<workgroup> red : array<${t}, ${T * perBatch}>;
      fn main(index : i32) {
        let lane = i32(localIndex);
        let CL = uniforms.lanes;
        let RL = ${T} / CL;
        let cl = lane % CL;
        let rl = lane / CL;
        let CV = uniforms.dyShape[3] / ${comp};
        let cv = i32(workgroupId.x) * CL + cl;
        let s = i32(workgroupId.y);
        let OH = uniforms.dyShape[1];
        let OW = uniforms.dyShape[2];
        let H = uniforms.xShape[1];
        let W = uniforms.xShape[2];
        let rows = uniforms.dyShape[0] * OH;
        let rowStart = (s / uniforms.colSplits) * uniforms.rowGroupsPerSplit * RL;
        let rowEnd = min(rows, rowStart + uniforms.rowGroupsPerSplit * RL);
        let cg0 = (s % uniforms.colSplits) * uniforms.colGroupsPerSplit;
        let cg1 = min((OW + ${COLS - 1}) / ${COLS}, cg0 + uniforms.colGroupsPerSplit);
        ${lines(taps, (k) => `var a${k} = ${t}(0.0);`)}
        if (cv < CV && rl < RL) {
          for (var r = rowStart + rl; r < rowEnd; r = r + RL) {
            let n = r / OH;
            let ih0 = (r % OH) * ${SH} - ${PH};
            for (var cg = cg0; cg < cg1; cg = cg + 1) {
              let ow0 = cg * ${COLS};
              ${lines(COLS, (q) => `var d${q} = ${t}(0.0);
              if (ow0 + ${q} < OW) { d${q} = dy[(r * OW + ow0 + ${q}) * CV + cv]; }`)}
              let iw0 = ow0 * ${SW} - ${PW};
              ${lines(KH, filterRow)}
            }
          }
        }
        ${batches.join('\n')}
      }
    `;
  }
}

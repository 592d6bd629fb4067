/**
 * Filter-gradient kernels for the webgpu backend. tfjs-backend-webgpu 4.22's `Conv2DBackpropFilter` /
 * `DepthwiseConv2dNativeBackpropFilter` run one GPU thread per filter element, each summing over
 * batch × height × width: on an H200 they took 5.3 s of a 5.9 s fmn04 training step at batch 64
 * (bench/RESULTS.md). Here the sum is split: thread (s, o) sums rows [s·chunk, (s+1)·chunk) of the
 * N·OH·OW output positions for filter element o (threads next to each other differ in the output channel,
 * so reads of dy are coalesced), and a reduction over s finishes it. Depthwise convs' gradients (input
 * and filter) are webgpuDepthwiseGrads.ts'.
 * 1×1 stride-1 unpadded convs (most of the FLOPs) take the split-K GEMM and tfjs' matmul instead
 * (webgpuPointwiseGrads.ts). Opt out (tfjs' own kernels) with SED_WEBGPU_NATIVE_GRADS=1.
 */
import * as tf from '@tensorflow/tfjs-core';
import { withInputs, type ConvGradAttrs } from './wasmKernels';
import { FlatProgram, runProgram, webgpuKernelGroup, type Uniform, type WebgpuUtil } from './webgpuProgram';
import { sumSplits } from './webgpuReducePrograms';
import { depthwiseGradKernels } from './webgpuDepthwiseGrads';
import { isPointwiseConv, pointwiseFilterGrad, pointwiseInputGrad } from './webgpuPointwiseGrads';

/** Cap on threads (split × filter elements) per dispatch; sets the split count for large filters. */
const MAX_THREADS = 1 << 22;
/** Rows one thread sums when the cap allows. */
const TARGET_CHUNK = 512;

/** partial[s, o] over o = ((i·kw + j)·cin + ci)·cout + co. */
class FilterGradProgram extends FlatProgram {
  variableNames = ['x', 'dy'];
  shaderKey = 'sedFilterGrad';
  uniforms = 'pads : vec2<i32>, strides : vec2<i32>, kw : i32, cout : i32, chunk : i32, filterSize : i32,';
  size = true;

  constructor(splits: number, filterSize: number, util: WebgpuUtil) {
    super([splits, filterSize], [splits, filterSize], util);
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index >= uniforms.size) { return; }
        let s = index / uniforms.filterSize;
        let o = index % uniforms.filterSize;
        let H = uniforms.xShape[1];
        let W = uniforms.xShape[2];
        let cin = uniforms.xShape[3];
        let OH = uniforms.dyShape[1];
        let OW = uniforms.dyShape[2];
        let rows = uniforms.dyShape[0] * OH * OW;
        let co = o % uniforms.cout;
        let ci = (o / uniforms.cout) % cin;
        let tap = o / (uniforms.cout * cin);
        let fi = tap / uniforms.kw;
        let fj = tap % uniforms.kw;
        let r0 = s * uniforms.chunk;
        let r1 = min(rows, r0 + uniforms.chunk);
        var n = r0 / (OH * OW);
        var h = (r0 / OW) % OH;
        var w = r0 % OW;
        var acc = 0.0;
        for (var r = r0; r < r1; r = r + 1) {
          let xh = h * uniforms.strides.x + fi - uniforms.pads.x;
          let xw = w * uniforms.strides.y + fj - uniforms.pads.y;
          if (xh >= 0 && xh < H && xw >= 0 && xw < W) {
            acc = acc + x[((n * H + xh) * W + xw) * cin + ci] * dy[r * uniforms.cout + co];
          }
          w = w + 1;
          if (w == OW) { w = 0; h = h + 1; if (h == OH) { h = 0; n = n + 1; } }
        }
        setOutputAtIndex(index, acc);
      }
    `;
  }
}

function filterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, a: ConvGradAttrs, backend: unknown, util: WebgpuUtil): tf.Tensor {
  const filterShape = a.filterShape!;
  if (isPointwiseConv(x.shape, filterShape, a)) return pointwiseFilterGrad(x, dy, backend, util);
  const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
  const filterSize = filterShape.reduce((p, d) => p * d, 1);
  const rows = dy.shape[0] * dy.shape[1] * dy.shape[2];
  const splits = Math.max(1, Math.min(Math.ceil(rows / TARGET_CHUNK), Math.floor(MAX_THREADS / filterSize)));
  const chunk = Math.ceil(rows / splits);
  const program = new FilterGradProgram(splits, filterSize, util);
  const uniforms: Uniform[] = [
    { type: 'int32', data: [info.padInfo.top, info.padInfo.left] },
    { type: 'int32', data: [info.strideHeight, info.strideWidth] },
    { type: 'int32', data: [filterShape[1]] },
    { type: 'int32', data: [dy.shape[3]] },
    { type: 'int32', data: [chunk] },
    { type: 'int32', data: [filterSize] },
  ];
  const summed = sumSplits(backend, runProgram(backend, program, [x, dy], uniforms), util);
  return tf.reshape(tf.engine().makeTensorFromTensorInfo(summed), filterShape);
}

/**
 * Replace webgpu's filter-gradient kernels, its depthwise input gradient, and its conv input gradient for
 * pointwise convs (other convs keep tfjs' kernel); idempotent; SED_WEBGPU_NATIVE_GRADS=1 keeps tfjs' own.
 */
export const registerWebgpuGradientKernels = webgpuKernelGroup('SED_WEBGPU_NATIVE_GRADS', (util) => {
  const filterGradKernel: tf.KernelFunc = ({ inputs, backend, attrs }) =>
    withInputs([inputs.x!, inputs.dy!], backend, (x, dy) => filterGrad(x, dy, attrs as unknown as ConvGradAttrs, backend, util));
  const nativeInputGrad = tf.getKernel('Conv2DBackpropInput', 'webgpu')!.kernelFunc;
  const inputGradKernel: tf.KernelFunc = (args) => {
    const a = args.attrs as unknown as ConvGradAttrs;
    const { dy, filter } = args.inputs;
    if (!isPointwiseConv(a.inputShape!, filter!.shape, a)) return nativeInputGrad(args);
    return withInputs([dy!, filter!], args.backend, (d, f) => pointwiseInputGrad(d, f, a.inputShape!));
  };
  return { Conv2DBackpropFilter: filterGradKernel, Conv2DBackpropInput: inputGradKernel, ...depthwiseGradKernels(util) };
});

/**
 * Depthwise conv gradient kernels for the webgpu backend (registered with the other gradient kernels in
 * webgpuKernels.ts). tfjs-backend-webgpu 4.22's `DepthwiseConv2dNativeBackpropInput` took 11 ms and the
 * split-sum filter gradient 9 ms of a 207 ms fmn10+tf:256 training step at batch 64 on an H200, far from
 * what moving their ~100 MB operands costs; webgpuDepthwiseGradPrograms.ts has the faster programs.
 * A channel multiplier other than 1 keeps tfjs' kernel. Dilations and NCHW are refused: tfjs' webgpu
 * kernels ignore both (tfjs' depthwise gradient never asks for them), so there is no correct fallback.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ConvGradAttrs } from './wasmKernels';
import { runProgram, type Uniform, type WebgpuUtil } from './webgpuProgram';
import { DepthwiseFilterGradProgram, DepthwiseInputGradProgram, channelComponents, filterGradSplits, type DepthwiseGeometry } from './webgpuDepthwiseGradPrograms';
import { sumSplits } from './webgpuReducePrograms';

const INPUT_GRAD = 'DepthwiseConv2dNativeBackpropInput';
const FILTER_GRAD = 'DepthwiseConv2dNativeBackpropFilter';

const i32 = (v: number): Uniform => ({ type: 'int32', data: [v] });

/** Refuse what neither these kernels nor tfjs' compute correctly. */
function checkSupported(kernel: string, a: ConvGradAttrs): void {
  const d = a.dilations == null ? [1, 1] : typeof a.dilations === 'number' ? [a.dilations, a.dilations] : a.dilations;
  if (d[0] !== 1 || d[1] !== 1) throw new Error(`${kernel} on webgpu: dilations ${d} are not supported (only 1)`);
  if (a.dataFormat === 'NCHW') throw new Error(`${kernel} on webgpu: only NHWC is supported`);
}

function geometry(inShape: number[], filterShape: number[], a: ConvGradAttrs): DepthwiseGeometry {
  const info = tf.backend_util.computeConv2DInfo(inShape as [number, number, number, number], filterShape as [number, number, number, number], a.strides, 1, a.pad, a.dimRoundingMode, true);
  return { kernel: [info.filterHeight, info.filterWidth], strides: [info.strideHeight, info.strideWidth], pads: [info.padInfo.top, info.padInfo.left] };
}

function inputGrad(dy: tf.TensorInfo, filter: tf.TensorInfo, a: ConvGradAttrs, backend: unknown, util: WebgpuUtil): tf.TensorInfo {
  const g = geometry(a.inputShape!, filter.shape, a);
  return runProgram(backend, new DepthwiseInputGradProgram(a.inputShape!, g, util), [dy, filter], []);
}

function filterGrad(x: tf.TensorInfo, dy: tf.TensorInfo, a: ConvGradAttrs, backend: unknown, util: WebgpuUtil): tf.TensorInfo {
  const filterShape = a.filterShape!;
  const g = geometry(x.shape, filterShape, a);
  const [N, OH, OW, C] = dy.shape;
  const splits = filterGradSplits(C, channelComponents(C), N * OH, OW);
  const uniforms = [i32(splits.lanes), i32(splits.rowGroupsPerSplit), i32(splits.colSplits), i32(splits.colGroupsPerSplit)];
  const summed = sumSplits(backend, runProgram(backend, new DepthwiseFilterGradProgram(C, splits, g), [x, dy], uniforms), util);
  // The same data in the filter's shape, as tfjs' Reshape kernel returns it.
  return { dataId: summed.dataId, shape: filterShape, dtype: summed.dtype };
}

/**
 * The depthwise gradient kernels by name; tfjs' kernels (looked up now, before they are replaced) run the
 * channel multipliers ≠ 1.
 */
export function depthwiseGradKernels(util: WebgpuUtil): Record<string, tf.KernelFunc> {
  const tfjsInputGrad = tf.getKernel(INPUT_GRAD, 'webgpu')!.kernelFunc;
  const tfjsFilterGrad = tf.getKernel(FILTER_GRAD, 'webgpu')!.kernelFunc;
  return {
    [INPUT_GRAD]: (args) => {
      const { dy, filter } = args.inputs;
      const a = args.attrs as unknown as ConvGradAttrs;
      checkSupported(INPUT_GRAD, a);
      if (filter!.shape[3] !== 1) return tfjsInputGrad(args);
      return inputGrad(dy!, filter!, a, args.backend, util);
    },
    [FILTER_GRAD]: (args) => {
      const { x, dy } = args.inputs;
      const a = args.attrs as unknown as ConvGradAttrs;
      checkSupported(FILTER_GRAD, a);
      if (a.filterShape![3] !== 1) return tfjsFilterGrad(args);
      return filterGrad(x!, dy!, a, args.backend, util);
    },
  };
}

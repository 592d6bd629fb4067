/**
 * Matrix products of the wasm backend as native GEMMs (native/gemm.c) on the tensors in tfjs' wasm memory:
 * batch matmuls (attention, and every matmul gradient) with either operand transposed, linear layers with
 * their bias and ReLU (_FusedMatMul), and 1×1 convolutions (Conv2D) and their input gradients
 * (Conv2DBackpropInput: dy·Wᵀ). B is packed into 8-column panels, then 4 rows × 8 columns accumulate in
 * registers over all of K: 1.1–1.6× XNNPACK's speed on the fmn04 shapes, 1.5–2.4× with the relaxed build's
 * FMA. aᵀ·b products (weight gradients) use the 1×1 filter-gradient kernel, which reads a without transposing.
 * Cases these do not cover (a transposed a with a transposed b, broadcasts other than one batch against
 * many, other activations, strided convs) go to the kernels registered before.
 */
import * as tf from '@tensorflow/tfjs-core';
import { GEMM_PANEL, makeOutput, nativeKernels, offsetOf, withScratch } from './wasmNative';

export type Fallback = (name: string, args: Parameters<tf.KernelFunc>[0]) => tf.TensorInfo | tf.TensorInfo[];

type Inputs = Record<string, tf.TensorInfo | undefined>;

/** Bytes of a packed K×N B (packB's panels, bias row included). */
const packedBytes = (K: number, N: number) => 4 * Math.ceil(N / GEMM_PANEL) * (K + 1) * GEMM_PANEL;

const NATIVE_ACTIVATIONS = ['linear', 'relu'];

/**
 * How a product runs natively: `gemm` is out = a · b (b transposed when transB) + bias, ReLU when relu, per
 * batch entry (batchA or batchB is 1 when that operand is broadcast); `transposedA` is aᵀ·b per batch entry.
 */
export type MatMulPlan =
  | { kind: 'gemm'; a: tf.TensorInfo; b: tf.TensorInfo; transB: boolean; bias?: tf.TensorInfo; relu: boolean; outShape: number[]; batchA: number; batchB: number; M: number; K: number; N: number }
  | { kind: 'transposedA'; a: tf.TensorInfo; b: tf.TensorInfo; outShape: number[]; batch: number; M: number; K: number; N: number };

const floats = (...ts: Array<tf.TensorInfo | undefined>) => ts.every((t) => !t || t.dtype === 'float32');

/** a · b (b transposed when transB) with matching or one-sided batch dims, else undefined. */
function product(a: tf.TensorInfo, b: tf.TensorInfo, transB: boolean, transA: boolean): MatMulPlan | undefined {
  const da = a.shape.slice(0, -2);
  const db = b.shape.slice(0, -2);
  const [batchA, batchB] = [tf.util.sizeFromShape(da), tf.util.sizeFromShape(db)];
  const same = da.length === db.length && da.every((d, i) => d === db[i]);
  const N = transB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
  if (transA) {
    const [K, M] = a.shape.slice(-2);
    return same && !transB ? { kind: 'transposedA', a, b, outShape: [...da, M, N], batch: batchA, M, K, N } : undefined;
  }
  if (!same && batchA !== 1 && batchB !== 1) return undefined;
  const [M, K] = a.shape.slice(-2);
  return { kind: 'gemm', a, b, transB, relu: false, outShape: [...tf.backend_util.assertAndGetBroadcastShape(da, db), M, N], batchA, batchB, M, K, N };
}

interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dilations?: number | [number, number];
  dataFormat?: 'NHWC' | 'NCHW';
  inputShape?: number[];
}

const unit = (v: number | [number, number] | undefined) => v == null || (typeof v === 'number' ? v === 1 : v[0] === 1 && v[1] === 1);
const noPadding = (pad: ConvAttrs['pad']) => pad === 'valid' || pad === 'same' || pad === 0 || (Array.isArray(pad) && pad.every(([p, q]) => p === 0 && q === 0));

/** A 1×1, stride-1, unpadded channels-last conv: a product over all positions. */
const isPointwise = (filter: tf.TensorInfo, a: ConvAttrs) => filter.shape[0] === 1 && filter.shape[1] === 1 && unit(a.strides) && unit(a.dilations) && noPadding(a.pad) && a.dataFormat !== 'NCHW';

/** The native plan of a BatchMatMul, _FusedMatMul, Conv2D or Conv2DBackpropInput call, or undefined (the fallback runs it). */
export function matMulPlan(kernelName: string, inputs: Inputs, attrs: unknown): MatMulPlan | undefined {
  if (!floats(...Object.values(inputs))) return undefined;
  const at = attrs as { transposeA: boolean; transposeB: boolean; activation?: string } & ConvAttrs;
  switch (kernelName) {
    case 'BatchMatMul':
      return product(inputs.a!, inputs.b!, at.transposeB, at.transposeA);
    case '_FusedMatMul': {
      const { a, b, bias, preluActivationWeights } = inputs;
      const p = !at.transposeA && !preluActivationWeights && NATIVE_ACTIVATIONS.includes(at.activation!) ? product(a!, b!, at.transposeB, false) : undefined;
      if (p?.kind !== 'gemm' || (bias && tf.util.sizeFromShape(bias.shape) !== p.N)) return undefined;
      return { ...p, bias, relu: at.activation === 'relu' };
    }
    case 'Conv2D': {
      // y [B, H, W, Co] = x [B·H·W, Ci] · W [Ci, Co]
      const { x, filter } = inputs;
      if (!isPointwise(filter!, at)) return undefined;
      const [, , ci, co] = filter!.shape;
      return { kind: 'gemm', a: x!, b: filter!, transB: false, relu: false, outShape: [...x!.shape.slice(0, -1), co], batchA: 1, batchB: 1, M: tf.util.sizeFromShape(x!.shape) / ci, K: ci, N: co };
    }
    case 'Conv2DBackpropInput': {
      // dx [B, H, W, Ci] = dy [B·H·W, Co] · Wᵀ (W [Ci, Co] read transposed while packing)
      const { dy, filter } = inputs;
      const inShape = at.inputShape!;
      if (!isPointwise(filter!, at) || dy!.shape[1] !== inShape[1] || dy!.shape[2] !== inShape[2]) return undefined;
      const [, , ci, co] = filter!.shape;
      return { kind: 'gemm', a: dy!, b: filter!, transB: true, relu: false, outShape: inShape, batchA: 1, batchB: 1, M: tf.util.sizeFromShape(dy!.shape) / co, K: co, N: ci };
    }
    default:
      return undefined;
  }
}

/** Run a plan into a new output tensor (byte offsets into tfjs' heap; b packed once per distinct b). */
function run(backend: unknown, plan: MatMulPlan): tf.TensorInfo {
  const k = nativeKernels(backend);
  const out = makeOutput(backend, plan.outShape);
  const [pa, pb, po] = [offsetOf(backend, plan.a), offsetOf(backend, plan.b), offsetOf(backend, out)];
  const { M, K, N } = plan;
  if (plan.kind === 'transposedA') {
    withScratch(backend, [8 * M * N], (sum) => {
      for (let i = 0; i < plan.batch; i++) k.pointwiseFilterGrad(pa + 4 * i * K * M, pb + 4 * i * K * N, K, M, N, po + 4 * i * M * N, sum);
    });
    return out;
  }
  const bias = plan.bias ? offsetOf(backend, plan.bias) : 0;
  withScratch(backend, [packedBytes(K, N)], (packed) => {
    for (let i = 0; i < Math.max(plan.batchA, plan.batchB); i++) {
      if (i < plan.batchB) k.packB(K, N, pb + 4 * i * K * N, plan.transB ? K : N, plan.transB ? 1 : 0, bias, packed);
      k.gemm(M, N, K, pa + 4 * (plan.batchA === 1 ? 0 : i) * M * K, K, packed, plan.relu ? 1 : 0, po + 4 * i * M * N, N);
    }
  });
  return out;
}

/** Names of the kernels this module provides. */
export const MATMUL_KERNELS = ['BatchMatMul', '_FusedMatMul', 'Conv2D', 'Conv2DBackpropInput'];

/** The kernels, by name, each falling back to `fallback` (the kernel registered before it) where no plan applies. */
export function matMulKernels(fallback: Fallback): Record<string, tf.KernelFunc> {
  return Object.fromEntries(
    MATMUL_KERNELS.map((name) => [
      name,
      (args: Parameters<tf.KernelFunc>[0]) => {
        const plan = matMulPlan(name, args.inputs as Inputs, args.attrs);
        return plan ? run(args.backend, plan) : fallback(name, args);
      },
    ]),
  );
}

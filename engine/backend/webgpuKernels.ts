/**
 * Filter-gradient kernels for the webgpu backend, written with ops (strided slices + batched matmul,
 * shared with the wasm backend's implementations). tfjs-backend-webgpu 4.22's own
 * `Conv2DBackpropFilter` / `DepthwiseConv2dNativeBackpropFilter` run one GPU thread per filter element,
 * each summing over batch × height × width, which makes training ~100× slower than inference
 * (measured on an H200: fmn04+tf:64 trains at 7 clips/s with them). Opt out with SED_WEBGPU_NATIVE_GRADS=1.
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterImpl, depthwiseBackpropFilterImpl, withInputs, type ConvGradAttrs } from './wasmKernels';

const KERNELS: tf.KernelConfig[] = [
  {
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const a = attrs as unknown as ConvGradAttrs;
      return withInputs([inputs.x!, inputs.dy!], backend, (x, dy) => conv2dBackpropFilterImpl(x, dy, a.filterShape!, a.strides, a.pad, a.dimRoundingMode));
    },
  },
  {
    kernelName: 'DepthwiseConv2dNativeBackpropFilter',
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const a = attrs as unknown as ConvGradAttrs;
      return withInputs([inputs.x!, inputs.dy!], backend, (x, dy) => depthwiseBackpropFilterImpl(x, dy, a.filterShape!, a.strides, a.pad, a.dimRoundingMode));
    },
  },
];

let registered = false;

/** Replace webgpu's filter-gradient kernels by the op-based ones (idempotent). */
export function registerWebgpuGradientKernels(): void {
  if (registered || process.env.SED_WEBGPU_NATIVE_GRADS === '1') return;
  for (const k of KERNELS) {
    if (tf.getKernel(k.kernelName, 'webgpu')) tf.unregisterKernel(k.kernelName, 'webgpu');
    tf.registerKernel(k);
  }
  registered = true;
}

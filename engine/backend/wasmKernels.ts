/**
 * Kernels the tfjs wasm backend lacks (gradients for conv/depthwise conv, FFT), registered so the engine
 * can train on wasm. Filled in by the training work; see MODEL_SPEC and recipes/gpu-webgpu.md.
 */
export function registerWasmGradientKernels(): void {
  // Registration list is populated as kernels are implemented.
}

/**
 * Run-time backend selection for the engine.
 *
 * Order tried in `auto` mode: tensorflow (tfjs-node-gpu, then tfjs-node) → webgpu (hardware adapter only)
 * → wasm (SIMD) → cpu. Heavy backends are imported lazily, only when tried, so a missing optional
 * package costs nothing. A forced backend (`SED_BACKEND` or `--backend`) that cannot start is an error
 * naming the backend and the reason; it never silently falls back.
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { watchUncapturedErrors, type WatchedDevice } from './gpuErrors';

export const BACKEND_NAMES = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendInfo {
  /** The tfjs backend that is active (`tensorflow`, `webgpu`, `wasm`, `cpu`). */
  backend: string;
  /** Human-readable device: GPU adapter, CPU with thread count, etc. */
  device: string;
  /** Package versions in use. */
  versions: Record<string, string>;
  /** Why each better backend was skipped (auto mode), e.g. `{ tensorflow: 'package not installed' }`. */
  skipped: Record<string, string>;
}

let active: BackendInfo | undefined;
/** The WebGPU adapter once the webgpu backend has been set up in this process. */
let webgpuDevice: { description: string; software: boolean } | undefined;

export function parseBackendName(name: string): BackendName {
  const lower = name.toLowerCase();
  if (lower === 'tfjs-node' || lower === 'tfjs-node-gpu') return 'tensorflow';
  if ((BACKEND_NAMES as readonly string[]).includes(lower)) return lower as BackendName;
  throw new Error(`Unknown backend '${name}'. Valid backends: ${BACKEND_NAMES.join(', ')}.`);
}

type Attempt = () => Promise<string>; // resolves to a device description, rejects with the reason

async function tryTensorflow(): Promise<string> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      // The package registers the 'tensorflow' backend with its own copy of tfjs-core only when
      // versions match ours; a mismatch shows up as setBackend failing below.
      await import(pkg);
    } catch (err) {
      continue;
    }
    if (await tf.setBackend('tensorflow')) return pkg === '@tensorflow/tfjs-node-gpu' ? 'libtensorflow (CUDA)' : 'libtensorflow (CPU)';
    throw new Error(`${pkg} is installed but its backend did not initialise`);
  }
  throw new Error('neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed');
}

/** Software rasterisers are correct but far slower than wasm: auto mode refuses them. */
function isSoftwareAdapter(info: { vendor?: string; architecture?: string; device?: string; description?: string }): boolean {
  const text = `${info.vendor ?? ''} ${info.architecture ?? ''} ${info.device ?? ''} ${info.description ?? ''}`.toLowerCase();
  return /llvmpipe|lavapipe|swiftshader|softpipe|software/.test(text);
}

/** GPU device nodes Dawn's Vulkan/GL backends would open; without any, probing only prints loader noise. */
function hasGpuDeviceNode(): boolean {
  try {
    if (fs.readdirSync('/dev').some((d) => /^nvidia\d/.test(d))) return true;
    return fs.existsSync('/dev/dri') && fs.readdirSync('/dev/dri').some((d) => d.startsWith('renderD'));
  } catch {
    return false;
  }
}

/**
 * tfjs asks for the adapter's workgroup and buffer-size limits but leaves storage buffers per shader stage at
 * WebGPU's default 8; the multi-tensor update kernels (fusedUpdates.ts) bind one or more per parameter.
 */
function withStorageBufferLimit(adapter: GPUAdapter): GPUAdapter {
  const requestDevice = adapter.requestDevice.bind(adapter);
  const maxStorageBuffersPerShaderStage = adapter.limits.maxStorageBuffersPerShaderStage;
  adapter.requestDevice = (desc?: GPUDeviceDescriptor) => requestDevice({ ...desc, requiredLimits: { ...desc?.requiredLimits, maxStorageBuffersPerShaderStage } });
  return adapter;
}

async function tryWebgpu(allowSoftware: boolean): Promise<string> {
  // Back to webgpu after switching away: reuse its device. A fresh Dawn instance per switch hung the
  // third switch on Mesa's OpenGL ES path.
  if (webgpuDevice && tf.findBackend('webgpu')) {
    if (!allowSoftware && webgpuDevice.software) throw new Error(`only a software WebGPU adapter is available (${webgpuDevice.description}); force it with --backend webgpu`);
    if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs could not switch back to the webgpu backend');
    return webgpuDevice.description;
  }
  if (!allowSoftware && process.platform === 'linux' && !hasGpuDeviceNode()) throw new Error('no GPU device (/dev/nvidia*, /dev/dri/renderD*) on this machine');
  let webgpu: { create: (opts: string[]) => GPU; globals: Record<string, unknown> };
  try {
    webgpu = (await import('webgpu')) as unknown as typeof webgpu;
  } catch (err) {
    throw new Error(`the 'webgpu' package (Dawn) could not be loaded: ${(err as Error).message}`);
  }
  Object.assign(globalThis, webgpu.globals);
  // SED_WEBGPU_BACKEND=opengles selects Dawn's OpenGL ES path (Mesa llvmpipe on GPU-less machines),
  // which only offers WebGPU's compatibility feature level.
  // SED_DAWN_FLAGS passes extra Dawn flags (comma-separated), e.g. `enable-dawn-features=allow_unsafe_apis`
  // for GPU timestamp queries when profiling.
  const dawnBackend = process.env.SED_WEBGPU_BACKEND;
  const dawnFlags = (process.env.SED_DAWN_FLAGS ?? '').split(',').filter(Boolean);
  const gpu = webgpu.create([...(dawnBackend ? [`backend=${dawnBackend}`] : []), ...dawnFlags]);
  const requestAdapter = gpu.requestAdapter.bind(gpu);
  const adapterOptions = dawnBackend === 'opengles' || dawnBackend === 'opengl' ? { featureLevel: 'compatibility' } : {};
  const adapter = await requestAdapter(adapterOptions as GPURequestAdapterOptions);
  if (!adapter) throw new Error('no WebGPU adapter found (no GPU driver visible to Dawn)');
  const info = (adapter as unknown as { info?: GPUAdapterInfo }).info ?? ({} as GPUAdapterInfo);
  if (!allowSoftware && isSoftwareAdapter(info)) {
    throw new Error(`only a software WebGPU adapter is available (${info.vendor} ${info.architecture}); force it with --backend webgpu`);
  }
  gpu.requestAdapter = async (opts?: GPURequestAdapterOptions) => {
    const again = await requestAdapter({ ...adapterOptions, ...opts } as GPURequestAdapterOptions);
    return again && withStorageBufferLimit(again);
  };
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs could not initialise the webgpu backend on this adapter');
  watchUncapturedErrors((tf.backend() as unknown as { device: WatchedDevice }).device);
  const { registerWebgpuGradientKernels } = await import('./webgpuKernels');
  await registerWebgpuGradientKernels();
  await (await import('./dropoutMask')).registerWebgpuDropoutMask();
  await (await import('./fusedUpdates')).registerWebgpuFusedUpdates();
  await (await import('./webgpuInference')).registerWebgpuInferenceKernels();
  await (await import('./webgpuTraining')).registerWebgpuTrainingKernels();
  await (await import('./webgpuTrainingOps')).registerWebgpuTrainingOps();
  await (await import('./webgpuSeqInference')).registerWebgpuSeqKernels();
  // tfjs-webgpu runs an op on the host when its inputs are small host tensors — Tile included, whose
  // output can be large (a broadcast gradient): it then fills and uploads MBs per op. Keep ops on the GPU.
  tf.env().set('WEBGPU_CPU_FORWARD', false);
  const description = `WebGPU: ${[info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown adapter'}`;
  webgpuDevice = { description, software: isSoftwareAdapter(info) };
  return description;
}

async function tryWasm(): Promise<string> {
  await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
  const { registerWasmGradientKernels } = await import('./wasmKernels');
  registerWasmGradientKernels();
  (await import('./wasmTraining')).registerWasmTrainingKernels();
  (await import('./wasmMel')).registerWasmMelKernel();
  const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
  const native = (await import('./wasmNative')).nativeBuild() === 'relaxedSimd' ? 'relaxed SIMD' : 'SIMD';
  return `CPU via WebAssembly (${simd ? 'SIMD' : 'no SIMD'}, 1 thread; native kernels: ${native})`;
}

async function tryCpu(): Promise<string> {
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');
  return 'CPU (plain JavaScript kernels)';
}

function versions(): Record<string, string> {
  return { 'tfjs-core': tf.version_core, node: process.versions.node };
}

/**
 * Initialise a backend. `requested` defaults to `SED_BACKEND` or `auto`. Idempotent: a second call
 * with the same request returns the active backend.
 */
export async function initBackend(requested: string = process.env.SED_BACKEND || 'auto'): Promise<BackendInfo> {
  const name = parseBackendName(requested);
  // tfjs may have been switched since (tests, notebooks calling tf.setBackend): re-check the live backend.
  if (active && active.backend === tf.getBackend() && (name === 'auto' || name === active.backend)) return active;
  const attempts: Record<Exclude<BackendName, 'auto'>, Attempt> = {
    tensorflow: tryTensorflow,
    webgpu: () => tryWebgpu(name === 'webgpu'),
    wasm: tryWasm,
    cpu: tryCpu,
  };
  const order: Exclude<BackendName, 'auto'>[] = name === 'auto' ? ['tensorflow', 'webgpu', 'wasm', 'cpu'] : [name];
  const skipped: Record<string, string> = {};
  for (const candidate of order) {
    try {
      const device = await attempts[candidate]();
      active = { backend: tf.getBackend(), device, versions: versions(), skipped };
      return active;
    } catch (err) {
      const reason = (err as Error).message ?? String(err);
      if (name !== 'auto') throw new Error(`Backend '${candidate}' could not start: ${reason}`);
      skipped[candidate] = reason;
    }
  }
  throw new Error(`No tfjs backend could start: ${JSON.stringify(skipped)}`);
}

/** The active backend, or undefined before `initBackend`. */
export function activeBackend(): BackendInfo | undefined {
  return active;
}

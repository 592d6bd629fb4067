/**
 * Host cost of each webgpu dispatch. A training step issues ~1,100 GPU programs, and on an H200 the JavaScript
 * thread issuing them is the bottleneck for the small models (bench/RESULTS.md). tfjs-backend-webgpu 4.22 asks
 * the pipeline for its bind-group layout on every dispatch (`pipeline.getBindGroupLayout(0)`), which makes Dawn
 * create a new layout object each time; the layout of a pipeline never changes, so it is cached here per
 * pipeline. Opt out with SED_WEBGPU_NO_LAYOUT_CACHE=1 (A/B benchmarks).
 */

type LayoutGetter = (this: object, index: number) => unknown;

/** Memoise `GPUComputePipeline.prototype.getBindGroupLayout` (idempotent). */
export function cacheBindGroupLayouts(globals: Record<string, unknown>): void {
  if (process.env.SED_WEBGPU_NO_LAYOUT_CACHE === '1') return;
  const proto = (globals.GPUComputePipeline as { prototype?: { getBindGroupLayout?: LayoutGetter & { cached?: true } } } | undefined)?.prototype;
  const original = proto?.getBindGroupLayout;
  if (!proto || !original || original.cached) return;
  const layouts = new WeakMap<object, unknown[]>();
  const cached: LayoutGetter & { cached?: true } = function (this: object, index: number) {
    let perIndex = layouts.get(this);
    if (!perIndex) layouts.set(this, (perIndex = []));
    return (perIndex[index] ??= original.call(this, index));
  };
  cached.cached = true;
  proto.getBindGroupLayout = cached;
}

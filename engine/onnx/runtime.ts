/**
 * onnxruntime-node as the inference runtime for CPU backends. The package is an optional dependency
 * (its CPU runtime ships inside the npm package; package.json's `allowScripts` keeps its install script,
 * which would download CUDA providers, from running) and is loaded lazily, only when asked for: a
 * missing or broken install costs nothing until then, and is reported with the reason.
 */
import * as os from 'node:os';
import type * as Ort from 'onnxruntime-node';

let ortModule: typeof Ort | undefined;
let loadError: string | undefined;

/** Loads onnxruntime-node once; throws with the reason when it is not usable here. */
export async function loadOrt(): Promise<typeof Ort> {
  if (ortModule) return ortModule;
  if (loadError) throw new Error(loadError);
  try {
    const mod = (await import('onnxruntime-node')) as typeof Ort & { default?: typeof Ort };
    // Bundled CJS import gives the module itself; ESM interop may wrap it in `default`.
    ortModule = mod.InferenceSession ? mod : mod.default!;
    if (!ortModule?.InferenceSession) throw new Error('the module has no InferenceSession');
    return ortModule;
  } catch (err) {
    loadError = `onnxruntime-node could not be loaded: ${(err as Error).message.split('\n')[0]} (install it with \`ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node\`)`;
    throw new Error(loadError);
  }
}

/** The onnxruntime-node version, or undefined when it does not load. */
export async function ortVersion(): Promise<string | undefined> {
  try {
    const ort = await loadOrt();
    return ort.env.versions?.node ?? ort.env.versions?.common;
  } catch {
    return undefined;
  }
}

export interface OnnxSessionOptions {
  /** Intra-op threads; default one per core (`os.availableParallelism()`); 1 inside detection workers. */
  threads?: number;
}

/** One ORT session of an exported SED model (input `mel` [B,1,128,T]). */
export class OnnxModelSession {
  private constructor(
    private readonly ort: typeof Ort,
    private readonly session: Ort.InferenceSession,
    readonly threads: number,
  ) {}

  static async create(model: Uint8Array | string, opts: OnnxSessionOptions = {}): Promise<OnnxModelSession> {
    const ort = await loadOrt();
    const threads = Math.max(1, opts.threads ?? os.availableParallelism());
    const sessionOptions: Ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      executionProviders: ['cpu'],
      // With one thread per worker, spinning would only burn the core another worker needs.
    };
    if (threads === 1) sessionOptions.extra = { session: { intra_op: { allow_spinning: '0' } } };
    const session = typeof model === 'string'
      ? await ort.InferenceSession.create(model, sessionOptions)
      : await ort.InferenceSession.create(model, sessionOptions);
    return new OnnxModelSession(ort, session, threads);
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** mel as [B,128,T] (our [B,128,T,1] data) → the named outputs' data and dims. */
  async run(mel: Float32Array, batch: number, frames: number): Promise<Record<string, { data: Float32Array; dims: number[] }>> {
    const input = new this.ort.Tensor('float32', mel, [batch, 1, 128, frames]);
    const results = await this.session.run({ mel: input });
    const out: Record<string, { data: Float32Array; dims: number[] }> = {};
    for (const [name, t] of Object.entries(results)) {
      out[name] = { data: t.data as Float32Array, dims: [...t.dims] };
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

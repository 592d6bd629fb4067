/**
 * The inference runtime of detection's model part: `tfjs` (the model on the active tfjs backend) or
 * `onnx` (the exported model on onnxruntime-node's CPU runtime; the frontend stays on tfjs either way).
 * `auto` takes onnx when the tfjs backend is a CPU one (wasm, cpu) and onnxruntime-node loads — several times
 * faster there (bench/onnx.bench.ts) — and tfjs otherwise (GPU backends, or no onnxruntime-node). A forced `onnx` that
 * cannot run is an error, never a silent fallback.
 */
import type { ChunkScorer } from '../detect/pipeline';
import { cachedOnnxModel } from './cache';
import { outputFrames } from './export';
import { loadOrt, OnnxModelSession } from './runtime';

export const RUNTIME_NAMES = ['auto', 'onnx', 'tfjs'] as const;
export type RuntimeName = (typeof RUNTIME_NAMES)[number];

export function parseRuntimeName(name: string): RuntimeName {
  const lower = name.toLowerCase();
  if ((RUNTIME_NAMES as readonly string[]).includes(lower)) return lower as RuntimeName;
  throw new Error(`Unknown runtime '${name}'. Valid runtimes: ${RUNTIME_NAMES.join(', ')}.`);
}

export interface RuntimeChoice {
  runtime: 'onnx' | 'tfjs';
  /** Why onnx was not taken (auto mode), e.g. the tfjs backend is a GPU one. */
  reason?: string;
  /** onnxruntime-node version when runtime is onnx. */
  version?: string;
}

const CPU_BACKENDS = new Set(['wasm', 'cpu']);

/** Resolves `requested` for the active tfjs `backend`. */
export async function chooseRuntime(requested: string, backend: string): Promise<RuntimeChoice> {
  const name = parseRuntimeName(requested);
  if (name === 'tfjs') return { runtime: 'tfjs', reason: 'requested' };
  if (name === 'auto' && !CPU_BACKENDS.has(backend)) return { runtime: 'tfjs', reason: `the tfjs backend '${backend}' is not a CPU backend` };
  try {
    const ort = await loadOrt();
    return { runtime: 'onnx', version: ort.env.versions?.node ?? ort.env.versions?.common };
  } catch (err) {
    if (name === 'onnx') throw new Error(`Runtime 'onnx' could not start: ${(err as Error).message}`);
    return { runtime: 'tfjs', reason: (err as Error).message };
  }
}

const MEL_FRAMES = 1000;

/** Scores detection chunks with the checkpoint folder's exported model (cached) on onnxruntime-node. */
export class OnnxChunkScorer implements ChunkScorer {
  readonly runtime = 'onnx';
  private constructor(private readonly session: OnnxModelSession) {}

  static async create(checkpointDir: string, opts: { threads?: number } = {}): Promise<OnnxChunkScorer> {
    return OnnxChunkScorer.createFromFile(cachedOnnxModel(checkpointDir, { frames: MEL_FRAMES, outputs: ['strong_logits'] }).file, opts);
  }

  /** From an exported file (1000 mel frames, output strong_logits). */
  static async createFromFile(file: string, opts: { threads?: number } = {}): Promise<OnnxChunkScorer> {
    return new OnnxChunkScorer(await OnnxModelSession.create(file, { threads: opts.threads }));
  }

  get threads(): number {
    return this.session.threads;
  }

  async strongLogits(mel: Float32Array, batch: number, frames: number): Promise<Float32Array> {
    if (frames !== MEL_FRAMES) throw new Error(`onnx runtime: the exported model takes ${MEL_FRAMES} mel frames, got ${frames}`);
    const out = await this.session.run(mel, batch, frames);
    const logits = out.strong_logits;
    if (logits.dims[1] !== outputFrames(frames)) throw new Error(`onnx runtime: unexpected output shape [${logits.dims}]`);
    return logits.data;
  }

  dispose(): Promise<void> {
    return this.session.dispose();
  }
}

const scorers = new Map<string, Promise<OnnxChunkScorer>>();
const SCORER_LIMIT = 2;

/**
 * The onnx scorer for a checkpoint folder when the runtime choice (`$SED_RUNTIME`, default auto) for the
 * active tfjs `backend` is onnx, else undefined (tfjs). Sessions are kept for the last two exported models,
 * for a long-running engine that serves many requests.
 */
export async function scorerForCheckpoint(dir: string, backend: string, requested = process.env.SED_RUNTIME || 'auto'): Promise<OnnxChunkScorer | undefined> {
  if ((await chooseRuntime(requested, backend)).runtime !== 'onnx') return undefined;
  const { file } = cachedOnnxModel(dir, { frames: MEL_FRAMES, outputs: ['strong_logits'] });
  let scorer = scorers.get(file);
  if (!scorer) {
    scorer = OnnxChunkScorer.createFromFile(file);
    scorers.set(file, scorer);
    scorer.catch(() => scorers.delete(file));
    while (scorers.size > SCORER_LIMIT) {
      const [oldest, entry] = scorers.entries().next().value as [string, Promise<OnnxChunkScorer>];
      scorers.delete(oldest);
      void entry.then((s) => s.dispose(), () => undefined);
    }
  }
  return scorer;
}

/**
 * Data-parallel forward/backward for the CPU backends, which run one thread each (tfjs-wasm's threaded
 * build is off in Node): a batch's chunks are shared between the training thread and worker threads, each
 * with its own backend and a replica of the model whose trainable weights are refreshed after every
 * optimizer step. A worker returns its chunks' weighted gradient sum, and per chunk the loss and the
 * BatchNorm batch statistics, which the caller applies in chunk order — so the running statistics come
 * out as on one thread; only the order of the gradient summation differs. Workers also compute their share
 * of a batch's mel spectrograms (the default frontend), so that this thread's share of the batch preparation
 * shrinks too. The worker entry is this module itself (its compiled form inside the engine bundle).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend/select';
import { createModel, parseModelName, type EngineSedModel } from '../models/index';
import { computeMel } from '../frontend/mel';
import { workerEntry } from '../workerEntry';
import { chunkGradients } from './chunkGradients';

/** A run of clips [start, start + n) of a batch, one forward/backward pass. */
export interface ChunkRange {
  start: number;
  n: number;
}

interface WorkerInit {
  sedGradientWorker: true;
  backend: string;
  model: string;
  numClasses: number;
  /** Trainable parameter names, in the order weights and gradients travel. */
  names: string[];
  kdWeight: number;
}

interface HostChunk {
  n: number;
  /** Share of the whole batch (n / batch size): the chunk's gradient weight. */
  weight: number;
  mel: Float32Array;
  melShape: number[];
  hard: Float32Array;
  soft?: Float32Array;
  targetShape: number[];
}

type BnHost = Record<string, { mean: Float32Array; variance: Float32Array }>;

export interface RemoteChunk {
  n: number;
  loss: number;
  batchNorm: BnHost;
}

export interface RemoteResult {
  /** Σ weight·gradient over the worker's chunks, by trainable name (order of `names`). */
  grads: Float32Array[];
  chunks: RemoteChunk[];
}

/** Mel band of a batch (the frequency-jitter augmentation draws it per batch). */
export interface MelBand {
  fminHz: number;
  fmaxHz: number;
}

type ToWorker =
  | { type: 'weights'; values: Float32Array[] }
  | { type: 'run'; chunks: HostChunk[] }
  | { type: 'mel'; waves: Float32Array; clips: number; band: MelBand };
type FromWorker = { type: 'done'; result: RemoteResult } | { type: 'mel'; mel: Float32Array; shape: number[] } | { type: 'error'; message: string };

/** A worker's reply to one request (replies come in request order). */
type Reply = FromWorker & { type: 'done' | 'mel' };

/** Splits `k` chunks into `parts` contiguous groups as evenly as possible (the first groups the smaller ones). */
export function splitChunks(ranges: ChunkRange[], parts: number): ChunkRange[][] {
  const out: ChunkRange[][] = [];
  let at = 0;
  for (let p = 0; p < parts; p++) {
    const take = Math.floor((ranges.length + p) / parts);
    out.push(ranges.slice(at, at + take));
    at += take;
  }
  return out;
}

export class GradientWorkers {
  private readonly workers: Worker[];
  private readonly queues: Array<Array<{ resolve: (r: Reply) => void; reject: (e: Error) => void }>>;
  private sentStep = -1;
  private failure: Error | undefined;
  private stopped = false;

  private constructor(private readonly init: WorkerInit, count: number, entry: string) {
    this.queues = Array.from({ length: count }, () => []);
    this.workers = Array.from({ length: count }, (_, w) => {
      const worker = new Worker(entry, { workerData: init });
      const fail = (err: Error) => {
        this.failure ??= new Error(`training worker thread ${w + 1}: ${err.message}`);
        for (const q of this.queues[w].splice(0)) q.reject(this.failure);
      };
      worker.on('message', (m: FromWorker) => {
        const q = this.queues[w].shift();
        if (m.type === 'error') fail(new Error(m.message));
        else q?.resolve(m);
      });
      worker.on('error', fail);
      worker.on('exit', (code) => {
        if (!this.stopped) fail(new Error(`exited unexpectedly (code ${code})`));
      });
      return worker;
    });
  }

  /** `count` workers for `model` on `backend`, or undefined when there is no engine bundle to run them. */
  static start(count: number, backend: string, model: EngineSedModel, names: string[], kdWeight: number): GradientWorkers | undefined {
    const entry = workerEntry();
    if (count < 1 || !entry) return undefined;
    return new GradientWorkers({ sedGradientWorker: true, backend, model: model.config.name, numClasses: model.config.numClasses, names, kdWeight }, count, entry);
  }

  get count(): number {
    return this.workers.length;
  }

  /**
   * Sends each worker its share of the batch (`shares[w]` chunk ranges of `mel`, `hard`, `soft`), first the
   * current weights when an optimizer step happened since the last call; resolves with one result per worker.
   */
  run(model: EngineSedModel, optimizerStep: number, batchSize: number, inputs: { mel: tf.Tensor4D; hard: tf.Tensor3D; soft: tf.Tensor3D | null }, shares: ChunkRange[][]): Promise<RemoteResult[]> {
    if (this.failure) return Promise.reject(this.failure);
    if (optimizerStep !== this.sentStep) {
      const values = this.init.names.map((n) => model.params.get(n)!.dataSync() as Float32Array);
      for (const worker of this.workers) worker.postMessage({ type: 'weights', values } satisfies ToWorker);
      this.sentStep = optimizerStep;
    }
    // One read of each whole tensor, then copies of the clips' rows. (Not `tf.tidy(() => slice.dataSync())`:
    // tidy walks a returned typed array element by element looking for tensors, 0.45 s per 4-clip mel.)
    const rows = (t: tf.Tensor | null) => {
      if (!t) return undefined;
      const all = t.dataSync() as Float32Array;
      const per = all.length / t.shape[0];
      return (r: ChunkRange) => all.slice(r.start * per, (r.start + r.n) * per);
    };
    const [mel, hard, soft] = [rows(inputs.mel)!, rows(inputs.hard)!, rows(inputs.soft)];
    return Promise.all(shares.map(async (ranges, w) => {
      const chunks: HostChunk[] = ranges.map((r) => ({
        n: r.n,
        weight: r.n / batchSize,
        mel: mel(r),
        melShape: [r.n, ...inputs.mel.shape.slice(1)],
        hard: hard(r),
        soft: soft?.(r),
        targetShape: [r.n, ...inputs.hard.shape.slice(1)],
      }));
      const transfer = chunks.flatMap((c) => [c.mel.buffer, c.hard.buffer, ...(c.soft ? [c.soft.buffer] : [])]) as ArrayBuffer[];
      return ((await this.request(w, { type: 'run', chunks }, transfer)) as { result: RemoteResult }).result;
    }));
  }

  /**
   * Mel spectrograms (the default frontend, `band`) of each worker's share of the clips: `waves[w]` holds
   * whole clips of `samples` samples. Resolves with one [clips, mels, frames, 1] tensor's data and shape per worker.
   */
  mels(waves: Float32Array[], samples: number, band: MelBand): Promise<Array<{ mel: Float32Array; shape: number[] }>> {
    if (this.failure) return Promise.reject(this.failure);
    return Promise.all(waves.map(async (w, i) => (await this.request(i, { type: 'mel', waves: w, clips: w.length / samples, band }, [w.buffer as ArrayBuffer])) as { mel: Float32Array; shape: number[] }));
  }

  private request(w: number, message: ToWorker, transfer: ArrayBuffer[]): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      this.queues[w].push({ resolve, reject });
      this.workers[w].postMessage(message, transfer);
    });
  }

  async dispose(): Promise<void> {
    this.stopped = true;
    this.failure ??= new Error('training worker threads were stopped');
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Gradients of one worker's chunks (its replica has the caller's weights). */
function runChunks(model: EngineSedModel, init: WorkerInit, chunks: HostChunk[]): RemoteResult {
  const sums = init.names.map((n) => new Float32Array(model.params.get(n)!.size));
  const done: RemoteChunk[] = [];
  for (const c of chunks) {
    const { loss, grads } = tf.tidy(() => {
      const r = chunkGradients(model, init.names, tf.tensor4d(c.mel, c.melShape as [number, number, number, number]), tf.tensor3d(c.hard, c.targetShape as [number, number, number]),
        c.soft ? tf.tensor3d(c.soft, c.targetShape as [number, number, number]) : null, init.kdWeight);
      return { loss: r.loss, grads: init.names.map((n) => r.grads.get(n) ?? tf.zerosLike(model.params.get(n)!)) };
    });
    grads.forEach((g, i) => {
      const d = g.dataSync();
      const s = sums[i];
      for (let j = 0; j < s.length; j++) s[j] += c.weight * d[j];
    });
    const batchNorm: BnHost = {};
    for (const [prefix, st] of model.takeBatchNormStats()) {
      batchNorm[prefix] = { mean: st.mean.dataSync() as Float32Array, variance: st.variance.dataSync() as Float32Array };
      tf.dispose([st.mean, st.variance]);
    }
    done.push({ n: c.n, loss: loss.dataSync()[0], batchNorm });
    tf.dispose([loss, ...grads]);
  }
  return { grads: sums, chunks: done };
}

async function runWorker(init: WorkerInit): Promise<void> {
  const port = parentPort!;
  let model: EngineSedModel | undefined;
  const ready = (async () => {
    await initBackend(init.backend);
    model = createModel(parseModelName(init.model, init.numClasses), { seed: 0 }) as EngineSedModel;
  })();
  // Messages are handled one at a time, in order: weights always precede the chunks that need them.
  let chain = ready;
  port.on('message', (m: ToWorker) => {
    chain = chain.then(() => {
      if (m.type === 'weights') {
        tf.tidy(() => init.names.forEach((n, i) => {
          const v = model!.params.get(n)!;
          v.assign(tf.tensor(m.values[i], v.shape));
        }));
        return;
      }
      try {
        if (m.type === 'mel') {
          const mel = tf.tidy(() => computeMel(tf.tensor2d(m.waves, [m.clips, m.waves.length / m.clips]), m.band));
          const data = mel.dataSync() as Float32Array;
          port.postMessage({ type: 'mel', mel: data, shape: mel.shape } satisfies FromWorker, [data.buffer as ArrayBuffer]);
          mel.dispose();
          return;
        }
        const result = runChunks(model!, init, m.chunks);
        port.postMessage({ type: 'done', result } satisfies FromWorker, result.grads.map((g) => g.buffer as ArrayBuffer));
      } catch (err) {
        port.postMessage({ type: 'error', message: (err as Error).message } satisfies FromWorker);
      }
    }).catch((err: Error) => port.postMessage({ type: 'error', message: err.message } satisfies FromWorker));
  });
}

if (!isMainThread && (workerData as WorkerInit | undefined)?.sedGradientWorker) void runWorker(workerData as WorkerInit);

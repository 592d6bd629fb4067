/**
 * Detection over many files on several cores: the wasm and cpu backends run one thread each, so the
 * files are shared out over worker threads, each with its own tfjs backend and model. Results come
 * back in input order; a failing file is reported as an Error in its slot, the others finish.
 * The worker entry is this module itself (its compiled form inside the engine bundle).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { initBackend } from '../backend/select';
import { workerEntry } from '../workerEntry';
import { OnnxChunkScorer } from '../onnx/select';
import { loadModel, resolveModelDir } from './modelStore';
import { detectFile, type DetectOptions, type DetectResult } from './pipeline';

export type ParallelDetectOptions = Pick<DetectOptions, 'thresholds' | 'medianWindow' | 'classes'>;

interface WorkerTask {
  sedDetectWorker: true;
  files: Array<{ index: number; file: string }>;
  modelSpec?: string;
  backend: string;
  options: ParallelDetectOptions;
  /** Model runtime; onnx runs one onnxruntime thread per worker (the workers already use every core). */
  runtime: 'onnx' | 'tfjs';
}

type WorkerMessage =
  | { type: 'result'; index: number; result: DetectResult }
  | { type: 'error'; index: number; message: string }
  | { type: 'fatal'; message: string };

export async function detectFilesParallel(
  files: string[],
  modelSpec: string | undefined,
  backend: string,
  options: ParallelDetectOptions,
  jobs: number,
  onFileDone?: (index: number, outcome: DetectResult | Error) => void,
  runtime: 'onnx' | 'tfjs' = 'tfjs',
): Promise<Array<DetectResult | Error>> {
  if (!workerEntry()) throw new Error('parallel detection needs the engine bundle: run `npm run build`');
  const outcomes: Array<DetectResult | Error> = new Array(files.length);
  const shares = Array.from({ length: Math.max(1, Math.min(jobs, files.length)) }, (_, w) =>
    files.map((file, index) => ({ index, file })).filter(({ index }) => index % Math.max(1, Math.min(jobs, files.length)) === w));
  await Promise.all(shares.map((share) => new Promise<void>((resolve, reject) => {
    const task: WorkerTask = { sedDetectWorker: true, files: share, modelSpec, backend, options, runtime };
    const worker = new Worker(workerEntry()!, { workerData: task });
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'fatal') {
        reject(new Error(m.message));
        void worker.terminate();
        return;
      }
      const outcome = m.type === 'result' ? m.result : new Error(m.message);
      outcomes[m.index] = outcome;
      onFileDone?.(m.index, outcome);
    });
    worker.on('error', reject);
    worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`detection worker exited with code ${code}`))));
  })));
  return outcomes;
}

async function runWorker(task: WorkerTask): Promise<void> {
  const port = parentPort!;
  try {
    await initBackend(task.backend);
    const ckpt = loadModel(task.modelSpec);
    const scorer = task.runtime === 'onnx' ? await OnnxChunkScorer.create(resolveModelDir(task.modelSpec), { threads: 1 }) : undefined;
    for (const { index, file } of task.files) {
      try {
        const result = await detectFile(file, ckpt, { ...task.options, scorer });
        port.postMessage({ type: 'result', index, result } satisfies WorkerMessage, [result.scores.buffer as ArrayBuffer]);
      } catch (err) {
        port.postMessage({ type: 'error', index, message: (err as Error).message } satisfies WorkerMessage);
      }
    }
    ckpt.model.dispose();
    await scorer?.dispose();
  } catch (err) {
    port.postMessage({ type: 'fatal', message: (err as Error).message } satisfies WorkerMessage);
  }
}

if (!isMainThread && (workerData as WorkerTask | undefined)?.sedDetectWorker) void runWorker(workerData as WorkerTask);

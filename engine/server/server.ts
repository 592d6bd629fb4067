/**
 * The engine's JSON-RPC server: request routing, light vs. queued (heavy) requests, error mapping, the
 * lifecycle (initialize → … → shutdown → exit) and logging. Request handlers live in `handlers/`, one
 * module per area, each registering its requests through `light` / `heavy`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as util from 'node:util';
import { ResponseError, type CancellationToken, type MessageConnection, type RequestType, type RequestType0 } from 'vscode-jsonrpc';
import {
  EngineErrorCodes,
  JobProgressType,
  JobsChangedNotification,
  LogNotification,
  type BackendInfo,
  type JobKind,
  type LogParams,
  type ProgressToken,
} from '../protocol/protocol';
import { paramsObject, toResponseError } from './errors';
import { JobQueue, type JobContext } from './jobs';
import { reclaimProcessHandlers } from './transport';

export interface EngineState {
  backend: BackendInfo;
  /** Result files (scores, mel, evaluation JSON). */
  cacheDir: string;
  /** Pulled reference models; undefined = the model store's default (as `sed pull`). */
  modelsDir?: string;
  userModelDirs: string[];
}

type AnyRequest<P, R> = RequestType<P, R, void> | RequestType0<R, void>;

export class EngineServer {
  readonly queue: JobQueue;
  /** Set by `initialize`. */
  state: EngineState | undefined;
  shuttingDown = false;
  requestsServed = 0;
  /** Methods with a handler, reported by `initialize`. */
  readonly methods: string[] = [];
  private fileCounter = 0;

  constructor(readonly connection: MessageConnection) {
    this.queue = new JobQueue({
      concurrency: 1,
      sendProgress: (token, value) => void connection.sendProgress(JobProgressType, token, value).catch(() => undefined),
      onChange: (jobs) => void connection.sendNotification(JobsChangedNotification, { jobs }).catch(() => undefined),
    });
  }

  log(level: LogParams['level'], message: string): void {
    void this.connection.sendNotification(LogNotification, { level, message }).catch(() => process.stderr.write(`[${level}] ${message}\n`));
  }

  /** The initialized state, or a NotInitialized error naming the method. */
  requireState(method: string): EngineState {
    if (!this.state) throw new ResponseError(EngineErrorCodes.NotInitialized, `${method}: the engine is not initialized (send 'initialize' first)`);
    return this.state;
  }

  /** A fresh file path in the cache folder, e.g. for scores or mel of one request. */
  resultPath(stem: string, ext: string): string {
    const dir = path.join(this.requireState('result').cacheDir, 'results');
    fs.mkdirSync(dir, { recursive: true });
    const safe = stem.replace(/[^\w.-]+/g, '_').slice(0, 80);
    return path.join(dir, `${safe}-${process.pid}-${Date.now()}-${++this.fileCounter}${ext}`);
  }

  /** A request answered right away (it must not compute for long). */
  light<P, R>(type: AnyRequest<P, R>, handler: (params: P, token: CancellationToken) => R | Promise<R>, opts: { beforeInit?: boolean } = {}): void {
    this.methods.push(type.method);
    this.connection.onRequest(type.method, async (raw: unknown, token: CancellationToken) => {
      this.requestsServed++;
      try {
        if (!opts.beforeInit) this.requireState(type.method);
        return await handler(paramsObject(type.method, raw) as P, token);
      } catch (err) {
        return this.fail(type.method, err);
      }
    });
  }

  /**
   * A request that runs as a job in the queue. `title` describes the job in the visible queue; `run`
   * gets the validated params and a JobContext (signal, progress).
   */
  heavy<P extends { workDoneToken?: ProgressToken }, R>(
    type: RequestType<P, R, void>,
    kind: JobKind,
    prepare: (params: P) => { title: string; run: (job: JobContext) => Promise<R> },
  ): void {
    this.methods.push(type.method);
    this.connection.onRequest(type.method, async (raw: unknown, token: CancellationToken) => {
      this.requestsServed++;
      try {
        this.requireState(type.method);
        if (this.shuttingDown) throw new ResponseError(EngineErrorCodes.ShuttingDown, `${type.method}: the engine is shutting down`);
        const params = paramsObject(type.method, raw) as P;
        // Validation happens before queueing, so a bad parameter fails at once, not after other jobs.
        const { title, run } = prepare(params);
        return await this.queue.run(kind, title, token, params.workDoneToken, async (job) => {
          try {
            return await run(job);
          } finally {
            // A job may have initialised a backend whose module installs rethrowing process handlers.
            reclaimProcessHandlers();
          }
        });
      } catch (err) {
        return this.fail(type.method, err);
      }
    });
  }

  private fail(method: string, err: unknown): ResponseError<unknown> {
    const response = toResponseError(method, err);
    if (response.code === EngineErrorCodes.EngineError) this.log('error', `${method} failed: ${(err as Error)?.stack ?? util.inspect(err)}`);
    return response;
  }
}

/** Default cache folder of one engine process. */
export function defaultCacheDir(): string {
  return path.join(os.tmpdir(), `sed-engine-${process.pid}`);
}

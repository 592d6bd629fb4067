/**
 * The engine's job queue: heavy requests run here, `concurrency` at a time (1 by default: a tfjs backend
 * computes on one thread, so parallel jobs would only interleave). Each job gets an AbortSignal that
 * fires on `$/cancelRequest`, `sed/cancelJob` or shutdown, and a progress reporter that feeds `$/progress`
 * and the visible queue (`sed/listJobs`, `sed/jobsChanged`).
 */
import type { CancellationToken } from 'vscode-jsonrpc';
import type { CellOutput, JobInfo, JobKind, JobProgress, ProgressToken } from '../protocol/protocol';
import { CancelledError } from './errors';

export interface JobContext {
  id: number;
  /** Aborts when the job is cancelled; pass it to engine functions. */
  signal: AbortSignal;
  /** Report units of work done (and the total when known). */
  progress(done: number, total?: number, message?: string): void;
  /** Stream one notebook output (executeCell). */
  output(output: CellOutput): void;
}

export interface JobQueueOptions {
  concurrency: number;
  /** Sends `$/progress` for jobs that have a token. */
  sendProgress(token: ProgressToken, value: JobProgress): void;
  /** Called (debounced to one per tick) whenever the visible queue changes. */
  onChange(jobs: JobInfo[]): void;
}

interface Job {
  info: JobInfo;
  controller: AbortController;
  start: () => void;
  lastReport: number;
}

/** Finished jobs kept in the visible list. */
const KEEP_FINISHED = 20;
/** Minimum interval between two `report` progress notifications of one job (begin/end/output always go). */
const REPORT_INTERVAL_MS = 100;

export class JobQueue {
  private nextId = 1;
  private readonly pending: Job[] = [];
  private readonly running = new Set<Job>();
  private readonly finished: Job[] = [];
  private changeScheduled = false;
  private closed = false;

  constructor(private readonly opts: JobQueueOptions) {}

  get concurrency(): number {
    return this.opts.concurrency;
  }

  set concurrency(n: number) {
    this.opts.concurrency = Math.max(1, Math.floor(n));
    this.pump();
  }

  /** Queue `fn`; resolves with its result, rejects with its error or a CancelledError. */
  run<T>(kind: JobKind, title: string, token: CancellationToken | undefined, workDoneToken: ProgressToken | undefined, fn: (ctx: JobContext) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new CancelledError(`${kind}: the engine is shutting down and accepts no new jobs`));
    const controller = new AbortController();
    const info: JobInfo = { id: this.nextId++, kind, title, state: 'queued', workDoneToken, queuedAt: Date.now() };
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        info,
        controller,
        lastReport: 0,
        start: () => {
          info.state = 'running';
          info.startedAt = Date.now();
          this.running.add(job);
          this.changed();
          this.send(job, { kind: 'begin', jobId: info.id, title });
          const ctx: JobContext = {
            id: info.id,
            signal: controller.signal,
            progress: (done, total, message) => this.report(job, done, total, message),
            output: (output) => this.send(job, { kind: 'report', jobId: info.id, output }),
          };
          let promise: Promise<T>;
          try {
            promise = Promise.resolve(fn(ctx));
          } catch (err) {
            promise = Promise.reject(err);
          }
          promise.then(
            (value) => {
              this.finish(job, controller.signal.aborted ? 'cancelled' : 'succeeded');
              resolve(value);
            },
            (err: unknown) => {
              if (controller.signal.aborted) {
                this.finish(job, 'cancelled');
                reject(err instanceof CancelledError ? err : new CancelledError(`${kind}: job ${info.id} (${title}) was cancelled`));
              } else {
                this.finish(job, 'failed', (err as Error)?.message ?? String(err));
                reject(err);
              }
            },
          );
        },
      };
      controller.signal.addEventListener('abort', () => {
        // A queued job never starts; a running one is told through its signal and ends on its own.
        const i = this.pending.indexOf(job);
        if (i >= 0) {
          this.pending.splice(i, 1);
          this.finish(job, 'cancelled');
          reject(new CancelledError(`${kind}: job ${info.id} (${title}) was cancelled before it started`));
        }
      });
      token?.onCancellationRequested(() => controller.abort());
      this.pending.push(job);
      this.changed();
      this.pump();
    });
  }

  /** Cancel a queued or running job; false when it is unknown or already ended. */
  cancel(id: number): boolean {
    const job = [...this.pending, ...this.running].find((j) => j.info.id === id);
    if (!job || job.controller.signal.aborted) return false;
    job.controller.abort();
    return true;
  }

  /** Cancel everything and refuse new jobs; resolves when the running ones have ended. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of [...this.pending, ...this.running]) job.controller.abort();
    while (this.running.size > 0) await new Promise((r) => setTimeout(r, 20));
  }

  list(): JobInfo[] {
    return [...this.pending, ...this.running].sort((a, b) => a.info.id - b.info.id).concat(this.finished).map((j) => ({ ...j.info }));
  }

  private pump(): void {
    while (this.running.size < this.opts.concurrency && this.pending.length > 0) {
      const job = this.pending.shift()!;
      job.start();
    }
  }

  private report(job: Job, done: number, total: number | undefined, message: string | undefined): void {
    const { info } = job;
    if (info.state !== 'running') return;
    info.done = done;
    if (total !== undefined) info.total = total;
    if (message !== undefined) info.message = message;
    const now = Date.now();
    const last = total !== undefined && done >= total;
    if (!last && now - job.lastReport < REPORT_INTERVAL_MS) return;
    job.lastReport = now;
    const t = info.total;
    this.send(job, { kind: 'report', jobId: info.id, done, total: t, percentage: t ? Math.min(100, Math.round((100 * done) / t)) : undefined, message: info.message });
  }

  private finish(job: Job, state: JobInfo['state'], error?: string): void {
    const { info } = job;
    if (info.endedAt !== undefined) return;
    info.state = state;
    info.endedAt = Date.now();
    if (error) info.error = error;
    this.running.delete(job);
    this.finished.unshift(job);
    this.finished.length = Math.min(this.finished.length, KEEP_FINISHED);
    this.send(job, { kind: 'end', jobId: info.id, message: state === 'failed' ? error : state });
    this.changed();
    this.pump();
  }

  private send(job: Job, value: JobProgress): void {
    if (job.info.workDoneToken !== undefined) this.opts.sendProgress(job.info.workDoneToken, value);
  }

  private changed(): void {
    if (this.changeScheduled) return;
    this.changeScheduled = true;
    setImmediate(() => {
      this.changeScheduled = false;
      this.opts.onChange(this.list());
    });
  }
}

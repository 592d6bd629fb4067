/**
 * The notebook kernel on the engine side: one persistent `node:vm` context per notebook, in which cells
 * (JavaScript, or TypeScript transpiled by esbuild) run with top-level await and an `sed` API object in
 * scope. Outputs are `{ mime, data }`: console text, `display(mime, data)` calls, the cell's final value,
 * or the error with its stack trimmed to the cell. Interrupting (job cancellation) aborts `sed.signal`
 * and ends the request at once, even if the cell awaits something that ignores the signal.
 *
 * vm contexts are not a security boundary: the cell runs with the engine's rights, like a Jupyter cell.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as util from 'node:util';
import * as vm from 'node:vm';
import type { CellOutput, ExecuteCellParams, ExecuteCellResult } from '../protocol/protocol';
import { CancelledError } from './errors';
import type { JobContext } from './jobs';
import { transformCell } from './cellTransform';

export const ERROR_MIME = 'application/vnd.code.notebook.error';

/** What a cell can reach besides JavaScript builtins; `sed` is built per notebook by the server. */
export interface CellHooks {
  signal: AbortSignal;
  progress(done: number, total?: number, message?: string): void;
  display(mime: string, data: unknown): void;
}
export type SedApiFactory = (cell: () => CellHooks) => Record<string, unknown>;

interface NotebookContext {
  context: vm.Context;
  globals: Record<string, unknown>;
  /** Keys present at creation: anything else was defined by cells. */
  builtinKeys: Set<string>;
  executionCount: number;
  /** Hooks of the running cell; console output outside a cell goes to the fallback log. */
  current?: { hooks: CellHooks; emit(o: CellOutput): void };
}

function toText(data: unknown): string {
  return typeof data === 'string' ? data : JSON.stringify(data);
}

/** Bytes of a binary display payload (any realm's typed array / ArrayBuffer), or undefined for text/JSON values. */
function binaryOf(data: unknown): Uint8Array | undefined {
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (Object.prototype.toString.call(data) === '[object ArrayBuffer]') return new Uint8Array(data as ArrayBuffer);
  return undefined;
}

/** Keeps the message and the frames up to the last one inside the cell (engine frames after it are noise). */
export function trimStack(err: unknown, cellFile: string): { name: string; message: string; stack: string } {
  const e = (err ?? {}) as { name?: string; message?: string; stack?: string };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const message = typeof e.message === 'string' ? e.message : String(err);
  const lines = typeof e.stack === 'string' ? e.stack.split('\n') : [`${name}: ${message}`];
  let last = -1;
  lines.forEach((l, i) => {
    if (l.includes(cellFile)) last = i;
  });
  const kept = last >= 0 ? lines.slice(0, last + 1) : lines.filter((l) => !/^\s+at /.test(l));
  return { name, message, stack: kept.join('\n') };
}

/** Consecutive text chunks of the same stream become one output, as notebooks show them. */
function mergeText(outputs: CellOutput[]): CellOutput[] {
  const merged: CellOutput[] = [];
  for (const o of outputs) {
    const prev = merged[merged.length - 1];
    if (prev && o.mime === 'text/plain' && prev.mime === 'text/plain' && o.stream && prev.stream === o.stream) prev.data += '\n' + o.data;
    else merged.push({ ...o });
  }
  return merged;
}

export class NotebookKernel {
  private readonly notebooks = new Map<string, NotebookContext>();
  private esbuild: typeof import('esbuild') | undefined;

  constructor(
    private readonly makeSedApi: SedApiFactory,
    /** Console output that happens outside any cell (timers left running by a finished cell). */
    private readonly log: (text: string) => void,
    /** Frees engine objects (tensors, models) a dropped notebook left in its globals. */
    private readonly disposeValue: (value: unknown) => void,
    /** Stores a binary output's bytes in a file and returns its path (bytes stay out of JSON). */
    private readonly saveBinary: (bytes: Uint8Array, mime: string) => string,
  ) {}

  private output(mime: string, data: unknown): CellOutput {
    const bytes = binaryOf(data);
    return bytes ? { mime, data: '', file: this.saveBinary(bytes, mime) } : { mime, data: toText(data) };
  }

  has(notebook: string): boolean {
    return this.notebooks.has(notebook);
  }

  async execute(params: ExecuteCellParams, job: JobContext): Promise<ExecuteCellResult> {
    const t0 = Date.now();
    const nb = this.notebookFor(params.notebook, params.cwd);
    const n = ++nb.executionCount;
    const cellFile = `cell-${n}.${params.language === 'typescript' ? 'ts' : 'js'}`;
    const outputs: CellOutput[] = [];
    const emit = (o: CellOutput) => {
      outputs.push(o);
      job.output(o);
    };
    const hooks: CellHooks = {
      signal: job.signal,
      progress: (done, total, message) => job.progress(done, total, message),
      display: (mime, data) => emit(this.output(mime, data)),
    };
    nb.current = { hooks, emit };
    let success = true;
    try {
      const js = params.language === 'typescript' ? await this.transpile(params.code, cellFile) : params.code;
      const { script } = transformCell(js, cellFile);
      const promise = vm.runInContext(script, nb.context, { filename: cellFile }) as Promise<unknown>;
      const value = await new Promise<unknown>((resolve, reject) => {
        const onAbort = () => reject(new CancelledError(`executeCell: ${cellFile} of ${params.notebook} was interrupted`));
        if (job.signal.aborted) onAbort();
        job.signal.addEventListener('abort', onAbort, { once: true });
        promise.then(resolve, reject).finally(() => job.signal.removeEventListener('abort', onAbort));
      });
      if (value !== undefined) emit(this.valueOutput(value));
    } catch (err) {
      if (err instanceof CancelledError) throw err;
      success = false;
      emit({ mime: ERROR_MIME, data: JSON.stringify(trimStack(err, cellFile)) });
    } finally {
      if (nb.current?.hooks === hooks) nb.current = undefined;
    }
    return { outputs: mergeText(outputs), success, executionCount: n, durationMs: Date.now() - t0 };
  }

  /** Drops the notebook's context; false when it had none. */
  reset(notebook: string): boolean {
    const nb = this.notebooks.get(notebook);
    if (!nb) return false;
    this.notebooks.delete(notebook);
    for (const key of Object.keys(nb.globals)) {
      if (nb.builtinKeys.has(key)) continue;
      try {
        this.disposeValue(nb.globals[key]);
      } catch {
        // A value whose dispose fails is garbage anyway once the context is dropped.
      }
    }
    return true;
  }

  private valueOutput(value: unknown): CellOutput {
    // `{ mime, data }` values (what sed.plot-style helpers return) render with their MIME type.
    if (value && typeof value === 'object' && typeof (value as CellOutput).mime === 'string' && 'data' in value && Object.keys(value).length === 2) {
      return this.output((value as CellOutput).mime, (value as { data: unknown }).data);
    }
    return { mime: 'text/plain', data: typeof value === 'string' ? value : util.inspect(value, { depth: 4, colors: false }) };
  }

  private async transpile(code: string, cellFile: string): Promise<string> {
    // esbuild is loaded only for TypeScript cells; it ships a native binary, so it is never bundled.
    this.esbuild ??= require('esbuild') as typeof import('esbuild');
    try {
      const out = await this.esbuild.transform(code, { loader: 'ts', target: 'es2022', sourcefile: cellFile, tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: false } } });
      return out.code;
    } catch (err) {
      const e = err as { errors?: Array<{ text: string; location?: { line: number; column: number } }> };
      const first = e.errors?.[0];
      if (!first) throw err;
      throw new SyntaxError(`${first.text} (${cellFile}${first.location ? `:${first.location.line}:${first.location.column + 1}` : ''})`);
    }
  }

  private notebookFor(notebook: string, cwd: string | undefined): NotebookContext {
    const existing = this.notebooks.get(notebook);
    if (existing) return existing;
    const nb = { executionCount: 0 } as NotebookContext;
    const out = (stream: 'stdout' | 'stderr') => (...args: unknown[]) => {
      const text = util.formatWithOptions({ colors: false, depth: 4 }, ...args);
      if (nb.current) nb.current.emit({ mime: 'text/plain', data: text, stream });
      else this.log(text);
    };
    const cellConsole = { log: out('stdout'), info: out('stdout'), debug: out('stdout'), warn: out('stderr'), error: out('stderr'), dir: out('stdout'), table: out('stdout') };
    const display = (mimeOrValue: unknown, data?: unknown) => {
      if (!nb.current) throw new Error('display() called after its cell finished');
      if (data === undefined) nb.current.emit({ mime: 'text/plain', data: typeof mimeOrValue === 'string' ? mimeOrValue : util.inspect(mimeOrValue, { depth: 4 }) });
      else nb.current.hooks.display(String(mimeOrValue), data);
    };
    const hooks = (): CellHooks => {
      if (!nb.current) throw new Error('the sed API is only usable while a cell runs (not from timers left by a finished cell)');
      return nb.current.hooks;
    };
    const base = cwd ? path.resolve(cwd) : process.cwd();
    nb.globals = {
      console: cellConsole,
      display,
      sed: this.makeSedApi(hooks),
      require: createRequire(path.join(base, 'notebook.js')),
      process,
      Buffer,
      URL,
      TextEncoder,
      TextDecoder,
      AbortController,
      AbortSignal,
      structuredClone,
      performance,
      fetch: globalThis.fetch,
      setTimeout,
      clearTimeout,
      setInterval,
      clearInterval,
      setImmediate,
      clearImmediate,
      queueMicrotask,
      // The engine's own typed arrays: tfjs checks `instanceof Float32Array`, which fails across realms.
      ArrayBuffer,
      SharedArrayBuffer,
      DataView,
      Float32Array,
      Float64Array,
      Int8Array,
      Int16Array,
      Int32Array,
      Uint8Array,
      Uint8ClampedArray,
      Uint16Array,
      Uint32Array,
      BigInt64Array,
      BigUint64Array,
    };
    nb.builtinKeys = new Set(Object.keys(nb.globals));
    nb.context = vm.createContext(nb.globals, { name: `notebook ${notebook}` });
    this.notebooks.set(notebook, nb);
    return nb;
  }
}

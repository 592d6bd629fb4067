/**
 * Turning failures into ResponseErrors a user can act on: parameter checks that name the parameter,
 * file checks that name the file, and a mapping of thrown errors onto the protocol's error codes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorCodes, ResponseError } from 'vscode-jsonrpc';
import { EngineErrorCodes } from '../protocol/protocol';

/** A bad request parameter; becomes InvalidParams. */
export class ParamError extends Error {
  constructor(method: string, param: string, problem: string) {
    super(`${method}: parameter '${param}' ${problem}`);
    this.name = 'ParamError';
  }
}

/** The job was cancelled before it produced a result. */
export class CancelledError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CancelledError';
  }
}

type Params = object | undefined | null;

function get(params: Params, name: string): unknown {
  return (params as Record<string, unknown> | undefined | null)?.[name];
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** The params object itself (JSON-RPC allows positional arrays; we only accept named params). */
export function paramsObject(method: string, params: unknown): Record<string, unknown> {
  if (params === undefined || params === null) return {};
  if (typeof params !== 'object' || Array.isArray(params)) {
    throw new ParamError(method, 'params', `must be an object with named parameters, got ${describe(params)}`);
  }
  return params as Record<string, unknown>;
}

export function requireString(method: string, params: Params, name: string): string {
  const v = get(params, name);
  if (typeof v !== 'string' || v.length === 0) throw new ParamError(method, name, v === undefined ? 'is required (a non-empty string)' : `must be a non-empty string, got ${describe(v)}`);
  return v;
}

export function optionalString(method: string, params: Params, name: string): string | undefined {
  const v = get(params, name);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ParamError(method, name, `must be a string, got ${describe(v)}`);
  return v;
}

export function optionalNumber(method: string, params: Params, name: string, range?: { min?: number; max?: number; integer?: boolean }): number | undefined {
  const v = get(params, name);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ParamError(method, name, `must be a finite number, got ${describe(v)}`);
  if (range?.integer && !Number.isInteger(v)) throw new ParamError(method, name, `must be an integer, got ${v}`);
  if (range?.min !== undefined && v < range.min) throw new ParamError(method, name, `must be ≥ ${range.min}, got ${v}`);
  if (range?.max !== undefined && v > range.max) throw new ParamError(method, name, `must be ≤ ${range.max}, got ${v}`);
  return v;
}

export function optionalBoolean(method: string, params: Params, name: string): boolean | undefined {
  const v = get(params, name);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new ParamError(method, name, `must be true or false, got ${describe(v)}`);
  return v;
}

export function requireStringArray(method: string, params: Params, name: string, opts: { nonEmpty?: boolean } = {}): string[] {
  const v = get(params, name);
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new ParamError(method, name, v === undefined ? 'is required (an array of strings)' : `must be an array of strings, got ${describe(v)}`);
  if (opts.nonEmpty && v.length === 0) throw new ParamError(method, name, 'must not be empty');
  return v as string[];
}

export function optionalNumberArray(method: string, params: Params, name: string): number[] | undefined {
  const v = get(params, name);
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'number' || !Number.isFinite(s))) throw new ParamError(method, name, `must be an array of numbers, got ${describe(v)}`);
  return v as number[];
}

/** An existing readable file (or folder with `kind: 'dir'`), resolved to an absolute path. */
export function requireExisting(method: string, param: string, file: string, kind: 'file' | 'dir' | 'any' = 'file'): string {
  const abs = path.resolve(file);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(abs);
  } catch {
    throw new ResponseError(EngineErrorCodes.FileNotFound, `${method}: ${param} '${abs}' does not exist`, { path: abs, param });
  }
  if (kind === 'file' && !stat.isFile()) throw new ParamError(method, param, `must be a file, but '${abs}' is a folder`);
  if (kind === 'dir' && !stat.isDirectory()) throw new ParamError(method, param, `must be a folder, but '${abs}' is a file`);
  return abs;
}

/** Maps anything thrown by a handler onto a ResponseError (never rethrows). */
export function toResponseError(method: string, err: unknown): ResponseError<unknown> {
  if (err instanceof ResponseError) return err;
  if (err instanceof ParamError) return new ResponseError(ErrorCodes.InvalidParams, err.message);
  if (err instanceof CancelledError) return new ResponseError(EngineErrorCodes.RequestCancelled, err.message);
  const e = err as NodeJS.ErrnoException | undefined;
  if (e && e.code === 'ENOENT' && e.path) return new ResponseError(EngineErrorCodes.FileNotFound, `${method}: '${e.path}' does not exist`, { path: e.path });
  const message = e instanceof Error ? e.message : String(err);
  return new ResponseError(EngineErrorCodes.EngineError, message.startsWith(`${method}:`) ? message : `${method}: ${message}`);
}

/**
 * The `.sednb` file format, independent of the VS Code API so it can be unit-tested in plain Node.
 *
 * Goals: human-diffable (pretty-printed, sources and text outputs as arrays of lines, JSON outputs stored
 * as JSON, keys in a stable order) and lossless (any other output is stored as base64). Example:
 *
 * {
 *   "format": "sed-notebook",
 *   "version": 1,
 *   "metadata": {},
 *   "cells": [
 *     { "kind": "markdown", "language": "markdown", "source": ["# Title"] },
 *     { "kind": "code", "language": "javascript", "source": ["await sed.info()"],
 *       "outputs": [{ "items": [{ "mime": "text/plain", "text": ["hello"] }] }] }
 *   ]
 * }
 */

export const SEDNB_FORMAT = 'sed-notebook';
export const SEDNB_VERSION = 1;

export interface SednbOutputItem {
  mime: string;
  /** Text outputs, split into lines (joined with '\n' on read). */
  text?: string[];
  /** JSON outputs (application/json and any `+json` MIME type), stored as JSON for readable diffs. */
  json?: unknown;
  /** Any other output, base64. */
  base64?: string;
}

export interface SednbOutput {
  items: SednbOutputItem[];
  metadata?: Record<string, unknown>;
}

export interface SednbCell {
  kind: 'code' | 'markdown';
  language: string;
  source: string[];
  outputs?: SednbOutput[];
  metadata?: Record<string, unknown>;
  /** Execution summary of the last run (order and success), kept so a reopened notebook shows it. */
  execution?: { order?: number; success?: boolean };
}

export interface SednbFile {
  format: typeof SEDNB_FORMAT;
  version: number;
  metadata: Record<string, unknown>;
  cells: SednbCell[];
}

/** In-memory form close to VS Code's NotebookData, with raw bytes for outputs. */
export interface RawOutputItem {
  mime: string;
  data: Uint8Array;
}
export interface RawOutput {
  items: RawOutputItem[];
  metadata?: Record<string, unknown>;
}
export interface RawCell {
  kind: 'code' | 'markdown';
  language: string;
  source: string;
  outputs: RawOutput[];
  metadata?: Record<string, unknown>;
  execution?: SednbCell['execution'];
}
export interface RawNotebook {
  metadata: Record<string, unknown>;
  cells: RawCell[];
}

export function isJsonMime(mime: string): boolean {
  return mime === 'application/json' || mime.endsWith('+json') || mime === 'application/vnd.code.notebook.error';
}

export function isTextMime(mime: string): boolean {
  return (
    mime.startsWith('text/') ||
    mime === 'application/javascript' ||
    mime === 'application/xml' ||
    mime === 'image/svg+xml' ||
    mime.startsWith('application/vnd.code.notebook.std')
  );
}

/** Recursively sorts object keys so the same data always serialises to the same bytes. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value as Record<string, unknown>).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function encodeItem(item: RawOutputItem): SednbOutputItem {
  const text = decodeUtf8(item.data);
  if (text !== undefined && isJsonMime(item.mime)) {
    try {
      return { mime: item.mime, json: sortKeys(JSON.parse(text)) };
    } catch {
      // Malformed JSON under a JSON MIME type: keep it byte-exact as text instead.
    }
  }
  if (text !== undefined && (isTextMime(item.mime) || isJsonMime(item.mime))) return { mime: item.mime, text: text.split('\n') };
  return { mime: item.mime, base64: toBase64(item.data) };
}

function decodeItem(item: SednbOutputItem, where: string): RawOutputItem {
  if (typeof item?.mime !== 'string') throw new Error(`${where}: output item has no "mime" string`);
  if (item.base64 !== undefined) return { mime: item.mime, data: new Uint8Array(Buffer.from(item.base64, 'base64')) };
  if (item.text !== undefined) {
    const text = Array.isArray(item.text) ? item.text.join('\n') : String(item.text);
    return { mime: item.mime, data: encoder.encode(text) };
  }
  if (item.json !== undefined) return { mime: item.mime, data: encoder.encode(JSON.stringify(item.json)) };
  throw new Error(`${where}: output item "${item.mime}" has none of "text", "json", "base64"`);
}

/** Serialises a notebook to the pretty-printed `.sednb` text. */
export function serializeSednb(nb: RawNotebook): string {
  const file: SednbFile = {
    format: SEDNB_FORMAT,
    version: SEDNB_VERSION,
    metadata: sortKeys(nb.metadata ?? {}) as Record<string, unknown>,
    cells: nb.cells.map((c) => {
      const cell: SednbCell = { kind: c.kind, language: c.language, source: c.source.split('\n') };
      if (c.kind === 'code') {
        cell.outputs = c.outputs.map((o) => ({
          items: o.items.map(encodeItem),
          ...(o.metadata && Object.keys(o.metadata).length ? { metadata: sortKeys(o.metadata) as Record<string, unknown> } : {}),
        }));
      }
      if (c.metadata && Object.keys(c.metadata).length) cell.metadata = sortKeys(c.metadata) as Record<string, unknown>;
      if (c.execution && Object.keys(c.execution).length) cell.execution = sortKeys(c.execution) as SednbCell['execution'];
      return cell;
    }),
  };
  return JSON.stringify(file, null, 2) + '\n';
}

/** Parses `.sednb` text; empty text is an empty notebook (VS Code creates files that way). */
export function parseSednb(text: string): RawNotebook {
  if (text.trim() === '') return { metadata: {}, cells: [] };
  let file: SednbFile;
  try {
    file = JSON.parse(text) as SednbFile;
  } catch (err) {
    throw new Error(`not a SED notebook: the file is not valid JSON (${(err as Error).message})`);
  }
  if (!file || typeof file !== 'object' || file.format !== SEDNB_FORMAT) {
    throw new Error(`not a SED notebook: "format" must be "${SEDNB_FORMAT}"`);
  }
  if (typeof file.version !== 'number' || file.version > SEDNB_VERSION) {
    throw new Error(`unsupported SED notebook version ${JSON.stringify(file.version)} (this extension reads up to ${SEDNB_VERSION})`);
  }
  if (!Array.isArray(file.cells)) throw new Error('not a SED notebook: "cells" must be an array');
  return {
    metadata: file.metadata ?? {},
    cells: file.cells.map((c, i) => {
      const where = `cell ${i + 1}`;
      if (c.kind !== 'code' && c.kind !== 'markdown') throw new Error(`${where}: "kind" must be "code" or "markdown", got ${JSON.stringify(c.kind)}`);
      const source = Array.isArray(c.source) ? c.source.join('\n') : typeof c.source === 'string' ? c.source : '';
      return {
        kind: c.kind,
        language: typeof c.language === 'string' ? c.language : c.kind === 'markdown' ? 'markdown' : 'javascript',
        source,
        outputs: (c.outputs ?? []).map((o, j) => ({
          items: (o.items ?? []).map((it, k) => decodeItem(it, `${where}, output ${j + 1}, item ${k + 1}`)),
          ...(o.metadata ? { metadata: o.metadata } : {}),
        })),
        ...(c.metadata ? { metadata: c.metadata } : {}),
        ...(c.execution ? { execution: c.execution } : {}),
      };
    }),
  };
}

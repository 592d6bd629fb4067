/**
 * Resumable, verified HTTP(S) download to a file.
 *
 * Bytes go to `<dest>.part` (with a small `<dest>.part.json` noting the URL, size and ETag); the file
 * appears at `<dest>` only after its size (Content-Length / Content-Range) and, when known, its sha256
 * have been checked — a rename, so `<dest>` is never half-written. A dropped connection is resumed
 * with an HTTP Range request (guarded by If-Range so a changed file restarts from zero), within this
 * call and across calls; servers without Range support get a fresh full download.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface DownloadOptions {
  /** Size the file must have (e.g. recorded by an earlier download); checked before any byte is kept. */
  expectedBytes?: number;
  /** sha256 (hex) the file must have. */
  expectedSha256?: string;
  /** Called as bytes arrive; `total` is undefined when the server does not say. */
  onProgress?: (received: number, total: number | undefined) => void;
  /** Notes such as "connection lost, resuming" (the CLI prints them on stderr). */
  log?: (message: string) => void;
  /** Connection attempts before giving up (each resumes where the last stopped). Default 5. */
  maxAttempts?: number;
  /** Pause before retrying a request that failed to connect, times the attempt number. Default 500 ms. */
  retryDelayMs?: number;
  signal?: AbortSignal;
}

export interface DownloadResult {
  file: string;
  bytes: number;
  sha256: string;
  /** Some bytes came from an earlier, interrupted attempt (this call's or a previous one's). */
  resumed: boolean;
  attempts: number;
}

interface PartMeta {
  url: string;
  total?: number;
  validator?: string;
}

function readMeta(file: string): PartMeta | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as PartMeta;
  } catch {
    return undefined;
  }
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

async function fileSha256(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** `bytes a-b/total` → { start: a, total } (total undefined for `*`). */
function parseContentRange(v: string | null): { start: number; total?: number } | undefined {
  const m = v ? /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(v.trim()) : null;
  if (!m) return undefined;
  return { start: Number(m[1]), total: m[3] === '*' ? undefined : Number(m[3]) };
}

function mismatch(url: string, got: number, want: number, why: string): Error {
  return new Error(`${url}: size mismatch: the server sends ${got} bytes but ${want} are expected (${why})`);
}

export async function downloadFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  const part = `${dest}.part`;
  const metaFile = `${part}.json`;
  fs.mkdirSync(path.dirname(path.resolve(dest)), { recursive: true });
  let meta = readMeta(metaFile);
  if (!meta || meta.url !== url) {
    // A partial file from another URL (or without its notes) cannot be trusted for resuming.
    fs.rmSync(part, { force: true });
    meta = { url };
  }
  const maxAttempts = opts.maxAttempts ?? 5;
  let resumed = false;
  let attempts = 0;
  let complete = false;
  const saveMeta = (): void => fs.writeFileSync(metaFile, JSON.stringify(meta));

  while (!complete && attempts < maxAttempts) {
    attempts++;
    let have = sizeOf(part);
    if (have > 0 && meta.total !== undefined && have === meta.total) {
      complete = true;
      break;
    }
    // identity: sizes and ranges must refer to the file's bytes, not a compressed transfer.
    const headers: Record<string, string> = { 'Accept-Encoding': 'identity' };
    if (have > 0) {
      headers.Range = `bytes=${have}-`;
      if (meta.validator) headers['If-Range'] = meta.validator;
    }
    let res: Response;
    try {
      res = await fetch(url, { headers, redirect: 'follow', signal: opts.signal });
    } catch (err) {
      const cause = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
      if (attempts < maxAttempts) {
        opts.log?.(`${url}: request failed (${cause}); retrying`);
        await new Promise((resolve) => setTimeout(resolve, (opts.retryDelayMs ?? 500) * attempts));
        continue;
      }
      throw new Error(`${url}: request failed (${cause})`);
    }
    if (res.status === 416 && have > 0) {
      // The range starts at or past the end: the part file is not a prefix we can extend.
      await res.body?.cancel();
      fs.rmSync(part, { force: true });
      meta = { url };
      continue;
    }
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel();
      const hint = res.status === 404 ? ' (not found: check the model name and --base-url)' : '';
      throw new Error(`${url}: HTTP ${res.status} ${res.statusText}${hint}`);
    }
    let total: number | undefined;
    let append = false;
    if (res.status === 206) {
      const range = parseContentRange(res.headers.get('content-range'));
      if (!range || range.start !== have) {
        await res.body?.cancel();
        fs.rmSync(part, { force: true });
        meta = { url };
        continue;
      }
      total = range.total;
      append = true;
      resumed = true;
    } else {
      const len = res.headers.get('content-length');
      total = len !== null ? Number(len) : undefined;
      have = 0;
    }
    if (total !== undefined && meta.total !== undefined && append && total !== meta.total) {
      await res.body?.cancel();
      throw mismatch(url, total, meta.total, 'the size changed while resuming');
    }
    if (total !== undefined && opts.expectedBytes !== undefined && total !== opts.expectedBytes) {
      await res.body?.cancel();
      throw mismatch(url, total, opts.expectedBytes, 'recorded by an earlier download');
    }
    meta = { url, total, validator: res.headers.get('etag') ?? res.headers.get('last-modified') ?? undefined };
    saveMeta();

    const fd = fs.openSync(part, append ? 'a' : 'w');
    let received = have;
    let dropped: string | undefined;
    try {
      if (!res.body) throw new Error(`${url}: empty response body`);
      opts.onProgress?.(received, total);
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        fs.writeSync(fd, chunk);
        received += chunk.length;
        opts.onProgress?.(received, total);
      }
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      dropped = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
    } finally {
      fs.fsyncSync(fd);
      fs.closeSync(fd);
    }
    if (total !== undefined && received > total) throw mismatch(url, received, total, 'Content-Length');
    if (total === undefined && dropped === undefined) {
      complete = true; // no announced size: a clean end of the body is the end of the file
      break;
    }
    if (total !== undefined && received === total) {
      complete = true;
      break;
    }
    const where = total !== undefined ? `${received} of ${total} bytes` : `${received} bytes`;
    opts.log?.(`${url}: connection lost after ${where}${dropped ? ` (${dropped})` : ''}; resuming`);
  }
  if (!complete) {
    const got = sizeOf(part);
    throw new Error(
      `${url}: download incomplete after ${attempts} attempts (${got}${meta.total !== undefined ? ` of ${meta.total}` : ''} bytes); ` +
        `run the command again to resume`,
    );
  }
  const bytes = sizeOf(part);
  if (opts.expectedBytes !== undefined && bytes !== opts.expectedBytes) {
    fs.rmSync(part, { force: true });
    fs.rmSync(metaFile, { force: true });
    throw mismatch(url, bytes, opts.expectedBytes, 'recorded by an earlier download');
  }
  const sha256 = await fileSha256(part);
  if (opts.expectedSha256 && sha256 !== opts.expectedSha256.toLowerCase()) {
    fs.rmSync(part, { force: true });
    fs.rmSync(metaFile, { force: true });
    throw new Error(`${url}: checksum mismatch: sha256 ${sha256}, expected ${opts.expectedSha256.toLowerCase()} (download removed)`);
  }
  fs.renameSync(part, dest);
  fs.rmSync(metaFile, { force: true });
  return { file: dest, bytes, sha256, resumed, attempts };
}

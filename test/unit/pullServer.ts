/**
 * Test helper: a loopback HTTP server serving files with optional Range support and scripted faults
 * (connection cut half-way, Content-Length that over-announces), recording every request.
 */
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ServedFile {
  body: Uint8Array;
  /** Requests (1-based) on which the server sends half of what it announced and then drops the connection. */
  cutOn?: number[];
  /** Announce this many extra bytes in Content-Length, send the real body, then drop the connection. */
  overAnnounce?: number;
}

export interface RequestLog {
  path: string;
  range?: string;
  ifRange?: string;
  status: number;
}

export class TestServer {
  readonly files = new Map<string, ServedFile>();
  readonly log: RequestLog[] = [];
  rangeSupport = true;
  private server = http.createServer((req, res) => this.handle(req, res));
  private count = new Map<string, number>();

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  requests(path: string): RequestLog[] {
    return this.log.filter((r) => r.path === path);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = this.files.get(path);
    const entry: RequestLog = { path, range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined, status: 0 };
    this.log.push(entry);
    if (!file) {
      entry.status = 404;
      res.writeHead(404).end('not found');
      return;
    }
    const n = (this.count.get(path) ?? 0) + 1;
    this.count.set(path, n);
    const etag = `"${crypto.createHash('sha1').update(file.body).digest('hex')}"`;
    let start = 0;
    let status = 200;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRangeOk = !req.headers['if-range'] || req.headers['if-range'] === etag;
    if (this.rangeSupport && m && ifRangeOk) {
      start = Number(m[1]);
      if (start >= file.body.length) {
        entry.status = 416;
        res.writeHead(416, { 'Content-Range': `bytes */${file.body.length}` }).end();
        return;
      }
      status = 206;
    }
    const body = file.body.subarray(start);
    const headers: Record<string, string | number> = { 'Content-Type': 'application/octet-stream', ETag: etag, 'Content-Length': body.length + (file.overAnnounce ?? 0) };
    if (this.rangeSupport) headers['Accept-Ranges'] = 'bytes';
    if (status === 206) headers['Content-Range'] = `bytes ${start}-${file.body.length - 1}/${file.body.length}`;
    entry.status = status;
    res.writeHead(status, headers);
    if (file.cutOn?.includes(n)) {
      res.write(body.subarray(0, body.length >> 1), () => res.destroy());
      return;
    }
    if (file.overAnnounce) {
      res.write(body, () => res.destroy());
      return;
    }
    res.end(body);
  }
}

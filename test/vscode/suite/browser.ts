/**
 * Requests to the runner's browser side (run.mjs): things only Playwright can do from outside the
 * extension host — screenshots of the workbench and reading the notebook renderer DOM in its webview.
 * Request/response files in $SED_TEST_IPC_DIR; under @vscode/test-electron (no runner) these are unavailable.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface FrameMatch {
  tag: string;
  text: string;
  width: number;
  height: number;
  paintedPixels?: number;
  svgMarks?: number;
  frame: string;
}

let seq = 0;

export function browserAvailable(): boolean {
  return !!process.env.SED_TEST_IPC_DIR;
}

async function request<T>(req: Record<string, unknown>, timeoutMs = 30_000): Promise<T> {
  const dir = process.env.SED_TEST_IPC_DIR;
  if (!dir) throw new Error('SED_TEST_IPC_DIR is not set: browser requests need test/vscode/run.mjs');
  const id = `${process.pid}-${Date.now()}-${seq++}`;
  const reqPath = path.join(dir, `${id}.request.json`);
  fs.writeFileSync(`${reqPath}.tmp`, JSON.stringify(req));
  fs.renameSync(`${reqPath}.tmp`, reqPath);
  const resPath = path.join(dir, `${id}.response.json`);
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(resPath)) {
    if (Date.now() > deadline) throw new Error(`runner did not answer ${JSON.stringify(req)} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const res = JSON.parse(fs.readFileSync(resPath, 'utf8')) as { ok: boolean; result?: T; error?: string };
  fs.rmSync(resPath);
  if (!res.ok) throw new Error(`runner request failed: ${res.error}`);
  return res.result as T;
}

export function screenshot(name: string): Promise<{ path: string }> {
  return request({ type: 'screenshot', name });
}

export function queryFrames(selector: string): Promise<{ matches: FrameMatch[] }> {
  return request({ type: 'queryFrames', selector });
}

/** Polls until `pred` holds for the matches of `selector` in any frame, or fails with what was seen. */
export async function waitForFrames(selector: string, pred: (m: FrameMatch[]) => boolean, timeoutMs = 60_000): Promise<FrameMatch[]> {
  const deadline = Date.now() + timeoutMs;
  let last: FrameMatch[] = [];
  while (Date.now() < deadline) {
    last = (await queryFrames(selector)).matches;
    if (pred(last)) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`no frame matched ${selector} as expected within ${timeoutMs} ms; saw ${JSON.stringify(last).slice(0, 800)}`);
}

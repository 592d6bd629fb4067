/**
 * Headless-Chromium harness for the notebook renderers. It bundles renderers/*.ts with esbuild (as the
 * build does), serves the bundles and fixtures from 127.0.0.1, and opens a page that plays VS Code's
 * part: `activate(ctx)` once per renderer, then `renderOutputItem(outputItem, element, signal)` with an
 * OutputItem built from fixture bytes, and `disposeOutputItem(id)`. The page body carries a dark VS Code
 * theme's `--vscode-*` variables so colours follow the theme path.
 */
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from '../helpers/paths';

export const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'renderers');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--autoplay-policy=no-user-gesture-required'];

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>renderer harness</title>
<style>
body { margin: 0; padding: 12px; width: 976px;
  --vscode-editor-background: #1f1f1f; --vscode-editor-foreground: #cccccc; --vscode-descriptionForeground: #9d9d9d;
  --vscode-editorWidget-border: #454545; --vscode-focusBorder: #0078d4; --vscode-errorForeground: #f85149;
  --vscode-font-family: 'DejaVu Sans', sans-serif; --vscode-font-size: 13px; --vscode-editor-font-family: 'DejaVu Sans Mono', monospace;
  --vscode-button-secondaryBackground: #313131; --vscode-button-secondaryForeground: #cccccc;
  background: var(--vscode-editor-background); color: var(--vscode-editor-foreground); }
.cell { margin-bottom: 16px; }
</style></head><body><script type="module">
const apis = new Map();
const controllers = new Map();
const msgSubs = new Map();
// Like NotebookRendererMessaging.postMessage from the extension.
window.sedSend = (name, msg) => { for (const fn of msgSubs.get(name) ?? []) fn(msg); return (msgSubs.get(name) ?? new Set()).size; };
window.sedMessages = [];
async function api(name) {
  if (!apis.has(name)) {
    const mod = await import('/r/' + name + '.js');
    const state = new Map();
    const subs = new Set();
    msgSubs.set(name, subs);
    const ctx = {
      workspace: { isTrusted: true },
      getState: () => state.get(name), setState: (v) => state.set(name, v),
      getRenderer: async () => undefined,
      postMessage: (m) => window.sedMessages.push(m),
      onDidReceiveMessage: (fn) => { subs.add(fn); return { dispose: () => subs.delete(fn) }; },
    };
    apis.set(name, await mod.activate(ctx));
  }
  return apis.get(name);
}
function outputItem(id, mime, bytes) {
  const text = () => new TextDecoder().decode(bytes);
  return { id, mime, metadata: {}, data: () => bytes, text, json: () => JSON.parse(text()), blob: () => new Blob([bytes], { type: mime }) };
}
// Render fixture 'key' (bytes served at /f/key) as output 'id' of MIME 'mime' into the cell div 'id'.
// abortNow: abort the signal right after calling renderOutputItem (a render cancelled mid-way).
window.sedRender = async (name, id, mime, key, abortNow) => {
  const bytes = new Uint8Array(await (await fetch('/f/' + key)).arrayBuffer());
  let el = document.getElementById(id);
  if (!el) { el = document.createElement('div'); el.id = id; el.className = 'cell'; document.body.append(el); }
  controllers.get(id)?.abort();
  const ac = new AbortController();
  controllers.set(id, ac);
  const t = performance.now();
  const r = await api(name);
  const done = r.renderOutputItem(outputItem(id, mime, bytes), el, ac.signal);
  if (abortNow) ac.abort();
  await done;
  return performance.now() - t;
};
window.sedDispose = async (name, id) => (await api(name)).disposeOutputItem(id);
window.sedAbort = (id) => controllers.get(id)?.abort();
window.sedLive = () => { let l = 0, f = 0; for (const r of window.__sedResources ?? []) { l += r.listeners; f += r.pendingFrames; } let m = 0; for (const s of msgSubs.values()) m += s.size; return { resources: (window.__sedResources ?? new Set()).size, listeners: l + m, frames: f }; };
window.sedReady = true;
</script></body></html>`;

export interface Harness {
  page: Page;
  /** Register fixture bytes (or a JSON value) under `key`. */
  fixture(key: string, data: Uint8Array | object): void;
  /** Render fixture `key` as output `id`; resolves with the in-page render time in ms. */
  render(name: string, id: string, mime: string, key: string, abortNow?: boolean): Promise<number>;
  dispose(name: string, id: string): Promise<void>;
  live(): Promise<{ resources: number; listeners: number; frames: number }>;
  screenshot(id: string, file: string): Promise<Buffer>;
  close(): Promise<void>;
}

let bundles: Promise<Map<string, Uint8Array>> | undefined;

/** Bundle every renderers/*.ts entry (except common.ts) in memory, as esbuild.config.mjs does. */
export function buildRenderers(): Promise<Map<string, Uint8Array>> {
  bundles ??= (async () => {
    const dir = path.join(REPO_ROOT, 'renderers');
    const entries = fs.readdirSync(dir).filter((f) => /^[a-zA-Z]+\.ts$/.test(f) && f !== 'common.ts').map((f) => path.join(dir, f));
    const r = await esbuild.build({ entryPoints: entries, bundle: true, write: false, outdir: '/out', platform: 'browser', format: 'esm', target: 'es2022', logLevel: 'error' });
    return new Map(r.outputFiles.filter((f) => f.path.endsWith('.js')).map((f) => [path.basename(f.path, '.js'), f.contents]));
  })();
  return bundles;
}

let browser: Promise<Browser> | undefined;

export async function openHarness(): Promise<Harness> {
  const code = await buildRenderers();
  const fixtures = new Map<string, Uint8Array>();
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? '/').split('?')[0]);
    let body: Uint8Array | undefined;
    let type = 'application/octet-stream';
    if (url === '/') [body, type] = [Buffer.from(PAGE), 'text/html'];
    else if (url.startsWith('/r/')) [body, type] = [code.get(path.basename(url, '.js'))!, 'text/javascript'];
    else if (url.startsWith('/f/')) body = fixtures.get(url.slice(3));
    if (!body) {
      res.writeHead(404).end(`not found: ${url}`);
      return;
    }
    res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'accept-ranges': 'none' }).end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  browser ??= chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const b = await browser;
  const page = await b.newPage({ viewport: { width: 1000, height: 900 }, deviceScaleFactor: 1 });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForFunction(() => (window as unknown as { sedReady?: boolean }).sedReady === true);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const w = () => page as Page;
  return {
    page,
    fixture(key, data) {
      fixtures.set(key, data instanceof Uint8Array ? data : Buffer.from(JSON.stringify(data)));
    },
    render: (name, id, mime, key, abortNow = false) => w().evaluate(([n, i, m, k, a]) => (window as any).sedRender(n, i, m, k, a), [name, id, mime, key, abortNow] as const),
    dispose: (name, id) => w().evaluate(([n, i]) => (window as any).sedDispose(n, i), [name, id]),
    live: () => w().evaluate(() => (window as any).sedLive()),
    screenshot: (id, file) => w().locator(`#${id}`).screenshot({ path: path.join(ARTIFACTS, file) }),
    async close() {
      if (errors.length) console.warn(`page errors: ${errors.join('\n')}`);
      await page.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Close the shared browser (mocha root hook or the benchmark's end). */
export async function closeBrowser(): Promise<void> {
  if (!browser) return;
  const b = await browser;
  browser = undefined;
  await b.close();
}

/** RGBA of the page pixel at (x, y) relative to element `#id`'s top-left, read from a canvas under it. */
export async function pixelAt(page: Page, selector: string, x: number, y: number): Promise<[number, number, number, number]> {
  return page.evaluate(([sel, px, py]) => {
    const c = document.querySelector(sel as string) as HTMLCanvasElement;
    if (!c) throw new Error(`no canvas ${sel}`);
    const dpr = c.width / c.getBoundingClientRect().width;
    const d = c.getContext('2d')!.getImageData(Math.round((px as number) * dpr), Math.round((py as number) * dpr), 1, 1).data;
    return [d[0], d[1], d[2], d[3]] as [number, number, number, number];
  }, [selector, x, y] as const);
}

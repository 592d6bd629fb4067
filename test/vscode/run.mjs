#!/usr/bin/env node
// Runs the VS Code integration suite offline, inside VS Code's server build (from the `code-server` npm
// package, cached by install.mjs) driven by headless Debian Chromium through playwright-core, as in
// ../shared/recipes/vscode-integration-tests.md. Mocha's report (from the extension host, forwarded to the
// page console) goes to stdout; the exit code is mocha's (non-zero on any failure or on a timeout).
//
// The tests ask this runner for things only the browser side can do (screenshots, reading renderer DOM in
// the notebook webview) through request files in $SED_TEST_IPC_DIR; see suite/browser.ts.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import { ensureVscodeServer } from './install.mjs';
import { buildTests } from './build.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TIMEOUT_MS = Number(process.env.SED_VSCODE_TIMEOUT_MS ?? 20 * 60 * 1000);
// Messages the offline workbench logs that say nothing about the extension (no marketplace, no GitHub).
const OFFLINE_NOISE = /open-vsx\.org|api\.github\.com|No signed-in session|ENOTFOUND|getaddrinfo|\[Service Worker\]|^\[(AgentHost|AgentHost:remote|ChatModelSelection|AccountPolicyGate)\]|authentication provider 'github'|^(Resolving connection token|Resolved connection token|Creating a socket|\[reconnection-grace-time\]|Updating additional builtin extensions cache|Creation of workbench contribution|Extension host \(Remote\) is (un)?responsive)/;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function log(msg) {
  process.stderr.write(`[vscode-run] ${msg}\n`);
}

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

function startServer(node, serverMain, port, dirs, env) {
  const args = [
    serverMain, '--host', '127.0.0.1', '--port', String(port), '--without-connection-token', '--enable-smoke-test-driver',
    '--disable-telemetry', '--disable-workspace-trust', '--user-data-dir', dirs.user, '--server-data-dir', dirs.server,
    '--extensions-dir', dirs.extensions,
  ];
  // detached: the server gets its own process group so we can stop it and its extension hosts together.
  const child = spawn(node, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const ready = new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error('VS Code server did not report "Extension host agent listening" within 60 s')), 60_000);
    const onData = (d) => {
      const s = String(d);
      if (process.env.SED_VSCODE_VERBOSE) process.stderr.write(`[server] ${s}`);
      if (s.includes('Extension host agent listening')) {
        clearTimeout(timer);
        res();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => { if (process.env.SED_VSCODE_VERBOSE) process.stderr.write(`[server] ${d}`); });
    child.once('exit', (code) => { clearTimeout(timer); rej(new Error(`VS Code server exited early with code ${code}`)); });
  });
  return { child, ready };
}

function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    child.kill('SIGTERM');
  }
  setTimeout(() => {
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
  }, 3000).unref();
}

/** Serves the suite's browser-side requests (see suite/browser.ts). */
async function serveRequest(page, req, artifactsDir) {
  if (req.type === 'screenshot') {
    const file = join(artifactsDir, `${req.name.replace(/[^\w.-]/g, '_')}.png`);
    await page.screenshot({ path: file });
    return { path: file };
  }
  if (req.type === 'queryFrames') {
    // Notebook outputs live in a webview iframe (nested); search every frame for the selector.
    const matches = [];
    for (const frame of page.frames()) {
      try {
        const found = await frame.$$eval(req.selector, (els) => els.map((e) => ({
          tag: e.tagName.toLowerCase(),
          text: (e.textContent ?? '').slice(0, 500),
          width: e.getBoundingClientRect().width,
          height: e.getBoundingClientRect().height,
          // For canvases: how many pixels are not fully transparent (proves something was drawn).
          paintedPixels: e instanceof HTMLCanvasElement && e.width > 0 && e.height > 0 ? (() => {
            const ctx = e.getContext('2d');
            if (!ctx) return -1;
            const d = ctx.getImageData(0, 0, e.width, e.height).data;
            let n = 0;
            for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
            return n;
          })() : undefined,
          svgMarks: e instanceof SVGElement || e.querySelector?.('svg') ? e.querySelectorAll('path, rect, circle, line').length : undefined,
        })));
        matches.push(...found.map((m) => ({ ...m, frame: frame.url().slice(0, 120) })));
      } catch {
        // Frames that navigate or detach while we look are skipped.
      }
    }
    return { matches };
  }
  throw new Error(`unknown request type ${JSON.stringify(req.type)}`);
}

async function main() {
  const started = Date.now();
  const { node, serverMain } = ensureVscodeServer();
  await buildTests(root);

  const scratch = mkdtempSync(join(tmpdir(), 'sed-vscode-'));
  const dirs = { user: join(scratch, 'user'), server: join(scratch, 'server'), extensions: join(scratch, 'ext'), workspace: join(scratch, 'workspace'), ipc: join(scratch, 'ipc') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  // Quiet workbench: no chat side bar or welcome page in the screenshots, no update or telemetry calls.
  mkdirSync(join(dirs.user, 'User'), { recursive: true });
  writeFileSync(join(dirs.user, 'User', 'settings.json'), JSON.stringify({
    'chat.disableAIFeatures': true,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'workbench.startupEditor': 'none',
    'update.mode': 'none',
    'telemetry.telemetryLevel': 'off',
    // Notebooks the tests executed are dirty when the run ends: no save attempts after the extension host stops.
    'files.autoSave': 'off',
    'files.hotExit': 'off',
  }, null, 2));
  const artifactsDir = join(root, 'test-artifacts', 'vscode');
  mkdirSync(artifactsDir, { recursive: true });

  const port = await freePort();
  const env = {
    ...process.env,
    SED_TEST_REPO_ROOT: root,
    SED_TEST_WORKSPACE: dirs.workspace,
    SED_TEST_IPC_DIR: dirs.ipc,
    SED_TEST_ARTIFACTS: artifactsDir,
    SED_TEST_NODE: process.execPath,
    SHARED_DIR: process.env.SHARED_DIR ?? resolve(root, '..', 'shared'),
  };
  const server = startServer(node, serverMain, port, dirs, env);
  let browser;
  let exitCode = 1;
  try {
    await server.ready;
    log(`server on 127.0.0.1:${port} (pid ${server.child.pid}) after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    let resolveExit;
    const exited = new Promise((res) => { resolveExit = res; });
    await page.exposeFunction('codeAutomationExit', (code) => resolveExit(Number(code)));
    await page.exposeFunction('codeAutomationLog', (type, args) => {
      // The workbench forwards the extension host's console here as (format, ...args), mocha's report included.
      const text = Array.isArray(args) ? format(...args) : String(args);
      if (!process.env.SED_VSCODE_VERBOSE && OFFLINE_NOISE.test(text)) return;
      if (type === 'error' || type === 'warn') process.stderr.write(`[${type}] ${text}\n`);
      else process.stdout.write(`${text}\n`);
    });
    page.on('console', (msg) => {
      const text = msg.text();
      // The extension host's console (mocha's spec report included) reaches the page prefixed with this tag.
      const m = /^%c\[Extension Host\] %c(.*?)(?: %c\(at .*)?$/s.exec(text);
      if (m) process.stdout.write(`${m[1].replace(/%c/g, '')}\n`);
      else if (msg.type() === 'error' && process.env.SED_VSCODE_VERBOSE) process.stderr.write(`[page console error] ${text}\n`);
      else if (process.env.SED_VSCODE_VERBOSE) process.stderr.write(`[page:${msg.type()}] ${text}\n`);
    });
    page.on('pageerror', (err) => process.stderr.write(`[page error] ${err.message}\n`));

    const remote = (p) => `vscode-remote://127.0.0.1:${port}${p}`;
    const payload = [
      ['extensionDevelopmentPath', remote(root)],
      ['extensionTestsPath', remote(join(root, 'out', 'test', 'vscode', 'suite'))],
      ['skipWelcome', 'true'],
    ];
    const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(dirs.workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
    await page.goto(url);

    // Serve the suite's requests until mocha reports its exit code.
    let done = false;
    const timeout = setTimeout(() => { log(`timed out after ${TIMEOUT_MS / 1000} s`); resolveExit(124); }, TIMEOUT_MS);
    exited.then(() => { done = true; clearTimeout(timeout); });
    while (!done) {
      for (const f of readdirSync(dirs.ipc).filter((n) => n.endsWith('.request.json'))) {
        const reqPath = join(dirs.ipc, f);
        const req = JSON.parse(readFileSync(reqPath, 'utf8'));
        rmSync(reqPath);
        let response;
        try {
          response = { ok: true, result: await serveRequest(page, req, artifactsDir) };
        } catch (err) {
          response = { ok: false, error: String(err?.message ?? err) };
        }
        const out = join(dirs.ipc, f.replace('.request.json', '.response.json'));
        writeFileSync(`${out}.tmp`, JSON.stringify(response));
        renameSync(`${out}.tmp`, out);
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 100))]);
    }
    exitCode = await exited;
    if (exitCode !== 0) await page.screenshot({ path: join(artifactsDir, 'final-state.png') }).catch(() => {});
  } catch (err) {
    process.stderr.write(`[vscode-run] ${err?.stack ?? err}\n`);
    exitCode = 1;
  } finally {
    if (browser) await browser.close().catch(() => {});
    stopServer(server.child);
    rmSync(scratch, { recursive: true, force: true, maxRetries: 3 });
  }
  log(`finished with exit code ${exitCode} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exit(exitCode);
}

main();

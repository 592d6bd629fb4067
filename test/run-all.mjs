#!/usr/bin/env node
// The whole test suite (`npm test`): type-check, build, the mocha suites (unit, parity, PSDS, engine
// server, renderers in headless Chromium) and the VS Code integration suite. Each stage's pass/fail
// counts are summed into the closing line `N passed, N failed`.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';

const stages = [
  { name: 'typecheck', cmd: ['npx', 'tsc', '--noEmit', '-p', '.'], counts: 'exit' },
  { name: 'build', cmd: ['node', 'esbuild.config.mjs'], counts: 'exit' },
  { name: 'mocha', cmd: ['npx', 'mocha', 'test/unit/**/*.test.ts', 'test/parity/**/*.test.ts', 'test/psds/**/*.test.ts', 'test/server/**/*.test.ts', 'test/renderers/**/*.test.ts'], counts: 'mocha' },
  fs.existsSync('test/vscode/run.mjs') && { name: 'vscode-integration', cmd: ['node', 'test/vscode/run.mjs'], counts: 'mocha' },
].filter(Boolean);

function run(stage) {
  return new Promise((resolve) => {
    let out = '';
    const child = spawn(stage.cmd[0], stage.cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => { process.stdout.write(d); out += d; });
    child.stderr.on('data', (d) => { process.stderr.write(d); out += d; });
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

let passed = 0;
let failed = 0;
for (const stage of stages) {
  console.log(`\n=== ${stage.name} ===`);
  const { code, out } = await run(stage);
  if (stage.counts === 'exit') {
    code === 0 ? passed++ : failed++;
    continue;
  }
  // mocha's spec reporter: "N passing", "N failing" (the last occurrence wins for nested runs)
  const p = [...out.matchAll(/(\d+) passing/g)].pop();
  const f = [...out.matchAll(/(\d+) failing/g)].pop();
  passed += p ? Number(p[1]) : 0;
  failed += f ? Number(f[1]) : 0;
  if (code !== 0 && !f) failed++; // crashed before reporting
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

/**
 * Entry of the integration suite inside the extension host (the @vscode/test-electron pattern: the
 * workbench calls `run()` and reports its outcome as the exit code). Used by run.mjs (VS Code server +
 * headless Chromium) and runElectron.mjs (desktop VS Code via @vscode/test-electron).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  // Colours off: the report travels through the page console as plain text.
  // SED_VSCODE_GREP narrows the run while developing (passed through the server's environment).
  const grep = process.env.SED_VSCODE_GREP;
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 300_000, reporter: 'spec', ...(grep ? { grep } : {}) });
  // Order matters: activation laziness is checked before anything starts the engine.
  const order = ['activation', 'notebook', 'detect', 'renderers'];
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.test.js'))
    .sort((a, b) => rank(a, order) - rank(b, order) || a.localeCompare(b));
  for (const f of files) mocha.addFile(path.join(__dirname, f));
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} tests failed.`)) : resolve()));
  });
}

function rank(file: string, order: string[]): number {
  const i = order.findIndex((o) => file.startsWith(o));
  return i < 0 ? order.length : i;
}

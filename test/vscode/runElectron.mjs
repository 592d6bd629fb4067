#!/usr/bin/env node
// Runs the same integration suite in desktop VS Code through @vscode/test-electron, for machines that
// can download VS Code (this one cannot: use run.mjs). The browser-only checks (renderer DOM, screenshots)
// need run.mjs's Chromium driver; under Electron the suite checks the renderer outputs' MIME types instead.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTests } from '@vscode/test-electron';
import { buildTests } from './build.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
await buildTests(root);
const workspace = mkdtempSync(join(tmpdir(), 'sed-vscode-electron-'));
try {
  await runTests({
    version: process.env.SED_VSCODE_VERSION ?? 'stable',
    extensionDevelopmentPath: root,
    extensionTestsPath: join(root, 'out', 'test', 'vscode', 'suite'),
    launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome'],
    extensionTestsEnv: {
      SED_TEST_REPO_ROOT: root,
      SED_TEST_WORKSPACE: workspace,
      SED_TEST_ARTIFACTS: join(root, 'test-artifacts', 'vscode'),
      SHARED_DIR: process.env.SHARED_DIR ?? resolve(root, '..', 'shared'),
    },
  });
} catch (err) {
  console.error(`[vscode-electron] ${err?.message ?? err}`);
  process.exitCode = 1;
} finally {
  rmSync(workspace, { recursive: true, force: true });
}

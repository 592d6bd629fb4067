/** Activation is lazy and fast: no engine process and no tfjs until a command or a cell needs them. */
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { api, childProcesses, EXTENSION_ID, repoRoot } from './helpers';

suite('activation', () => {
  test('is not active before a SED command or notebook is used', () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is not loaded`);
    assert.strictEqual(ext.isActive, false, 'the extension activated eagerly (check activationEvents)');
    const events: string[] = ext.packageJSON.activationEvents;
    assert.ok(!events.includes('*') && !events.some((e) => e.startsWith('onStartupFinished')), `eager activation event in ${events}`);
  });

  test('activates quickly without starting the engine or loading tfjs', async () => {
    const t0 = performance.now();
    const sed = await api();
    const wall = performance.now() - t0;
    console.log(`      activate(): ${sed.activationMs.toFixed(1)} ms inside, ${wall.toFixed(0)} ms wall`);
    assert.ok(sed.activationMs < 250, `activate() took ${sed.activationMs} ms`);
    assert.ok(wall < 5000, `activation took ${wall} ms wall time`);
    assert.strictEqual(sed.engine.state, 'stopped');
    assert.strictEqual(sed.engine.pid, undefined);
    assert.deepStrictEqual(childProcesses(/engine\.js/), [], 'an engine process was started by activation');
    const tfjs = Object.keys(require.cache).filter((m) => m.includes('@tensorflow'));
    assert.deepStrictEqual(tfjs, [], 'tfjs was loaded into the extension host');
  });

  test('contributes every command, the notebook type, snippets and the settings with defaults', async () => {
    await api();
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package.json'), 'utf8'));
    const all = await vscode.commands.getCommands(true);
    const ids: string[] = pkg.contributes.commands.map((c: { command: string }) => c.command);
    for (const id of ['sedStudio.detect', 'sedStudio.selectBackend', 'sedStudio.showEngineInfo', 'sedStudio.pullModel', 'sedStudio.profileModels', 'sedStudio.openTradeoffChart', 'sedStudio.restartEngine', 'sedStudio.restartKernel']) {
      assert.ok(ids.includes(id), `${id} missing from contributes.commands`);
    }
    for (const id of ids) assert.ok(all.includes(id), `${id} is contributed but not registered`);
    assert.strictEqual(pkg.contributes.notebooks[0].type, 'sed-notebook');
    const cfg = vscode.workspace.getConfiguration('sedStudio');
    assert.strictEqual(cfg.get('backend'), 'auto');
    assert.deepStrictEqual(cfg.get('thresholds'), [0.1, 0.2, 0.5]);
    assert.strictEqual(cfg.get('medianWindow'), 9);
    for (const key of ['nodePath', 'backend', 'defaultModel', 'thresholds', 'medianWindow', 'cacheFolder']) {
      const schema = pkg.contributes.configuration.properties[`sedStudio.${key}`];
      assert.ok(schema && (schema.description || schema.markdownDescription) && 'default' in schema, `sedStudio.${key} needs a description and a default`);
    }
    assert.deepStrictEqual(pkg.contributes.configuration.properties['sedStudio.backend'].enum, ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu']);
    // The engine still has not started: reading contributions must not need it.
    assert.deepStrictEqual(childProcesses(/engine\.js/), []);
  });

  test('snippets parse as notebook cell code', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package.json'), 'utf8'));
    const files = new Set<string>(pkg.contributes.snippets.map((s: { path: string }) => s.path));
    const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (...args: string[]) => unknown;
    let count = 0;
    for (const f of files) {
      const snippets = JSON.parse(fs.readFileSync(path.join(repoRoot(), f), 'utf8')) as Record<string, { prefix: string; body: string[]; description: string }>;
      for (const [name, s] of Object.entries(snippets)) {
        assert.ok(s.prefix && Array.isArray(s.body) && s.description, `snippet "${name}" needs prefix, body and description`);
        // Placeholders ${1:default} → default, $0 → nothing: what the user gets after tabbing through.
        const code = s.body.join('\n').replace(/\$\{\d+:([^}]*)\}/g, '$1').replace(/\$\{\d+\|([^,|]*)[^}]*\}/g, '$1').replace(/\$\d+/g, '').replace(/\\\$/g, '$');
        assert.doesNotThrow(() => new AsyncFunction('sed', 'display', code), `snippet "${name}" is not valid JavaScript:\n${code}`);
        count++;
      }
    }
    assert.ok(count >= 5, `expected at least 5 snippets, found ${count}`);
  });
});

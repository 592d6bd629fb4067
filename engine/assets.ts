/**
 * Where the engine's shipped assets (the bundled default model) live: `engine/assets/` beside this
 * file in the source tree (tsx, tests) and `dist/assets/` beside the bundle (esbuild copies it there).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export function assetsDir(): string {
  return path.join(__dirname, 'assets');
}

/** The bundled default model's checkpoint folder; an error if the installation lacks it. */
export function defaultModelDir(): string {
  const dir = path.join(assetsDir(), 'default-model');
  if (!fs.existsSync(path.join(dir, 'config.json'))) throw new Error(`the bundled default model is missing (${dir}); reinstall, or run \`npm run build\` in a source checkout`);
  return dir;
}

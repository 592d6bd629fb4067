/** The script a worker thread of the engine runs: the engine bundle, whose modules start their worker loops from `workerData`. */
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The engine bundle (`dist/engine.js`). From TypeScript sources (tsx) it is the built bundle, since tsx's
 * loader does not reach worker threads on Node 20; undefined when there is none (then work stays on one thread).
 */
export function workerEntry(): string | undefined {
  if (!__filename.endsWith('.ts')) return __filename;
  const built = path.resolve(__dirname, '..', 'dist', 'engine.js');
  return fs.existsSync(built) ? built : undefined;
}

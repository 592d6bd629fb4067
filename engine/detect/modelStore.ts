/**
 * The models a user can detect with: the bundled default, reference checkpoints pulled into the cache
 * (`sed pull`), and user checkpoint folders. Resolves a model spec to a checkpoint folder and keeps the
 * last loaded models in memory so repeated requests do not reload weights.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assetsDir, defaultModelDir } from '../assets';
import { CONFIG_FILE, loadCheckpoint, readCheckpointConfig, type LoadedCheckpoint } from '../checkpoint/index';
import { defaultCacheDir, listPulledModels } from '../checkpoint/pull';

export interface ModelEntry {
  /** What to pass as `--model` / `modelSpec`. */
  id: string;
  source: 'bundled' | 'pulled' | 'user';
  /** Canonical architecture name, e.g. `fmn04+tf:64`. */
  model: string;
  numClasses: number;
  dir: string;
}

export interface ModelStoreOptions {
  cacheDir?: string;
  /** Extra folders holding user checkpoints (each checkpoint is a sub-folder with config.json). */
  userDirs?: string[];
}

function entryOf(id: string, source: ModelEntry['source'], dir: string): ModelEntry | undefined {
  try {
    const config = readCheckpointConfig(dir);
    return { id, source, model: config.model, numClasses: config.classes.length, dir: path.resolve(dir) };
  } catch {
    return undefined;
  }
}

/** All models available to detect with, bundled default first. */
export function listModels(opts: ModelStoreOptions = {}): ModelEntry[] {
  const out: ModelEntry[] = [];
  const bundled = entryOf('default', 'bundled', path.join(assetsDir(), 'default-model'));
  if (bundled) out.push(bundled);
  for (const pulled of listPulledModels(opts.cacheDir ?? defaultCacheDir())) {
    out.push({ id: pulled.release, source: 'pulled', model: pulled.model, numClasses: pulled.numClasses, dir: pulled.dir });
  }
  for (const root of opts.userDirs ?? []) {
    if (!fs.existsSync(root)) continue;
    const dirs = fs.existsSync(path.join(root, CONFIG_FILE)) ? [root] : fs.readdirSync(root).map((d) => path.join(root, d));
    for (const dir of dirs) {
      const entry = entryOf(dir, 'user', dir);
      if (entry) out.push(entry);
    }
  }
  return out;
}

/**
 * Resolves `spec` (undefined/`default`, a checkpoint folder path, or a pulled release/model name) to a
 * checkpoint folder; unknown specs list what is available.
 */
export function resolveModelDir(spec: string | undefined, opts: ModelStoreOptions = {}): string {
  if (!spec || spec === 'default') return defaultModelDir();
  if (fs.existsSync(spec)) {
    if (spec.endsWith('.pt')) throw new Error(`${spec}: a PyTorch checkpoint; convert it first with \`sed convert ${spec} --model <name> --out <dir>\``);
    return spec;
  }
  const pulled = listPulledModels(opts.cacheDir ?? defaultCacheDir());
  const hit = pulled.find((m) => m.release === spec || m.model === spec.toLowerCase());
  if (hit) return hit.dir;
  const available = listModels(opts).map((m) => m.id);
  throw new Error(`Unknown model '${spec}': not a checkpoint folder and not a pulled model. Available: ${available.join(', ') || '(none)'}; pull reference models with \`sed pull <name>\`.`);
}

const cache = new Map<string, { mtimeMs: number; loaded: LoadedCheckpoint }>();
const CACHE_LIMIT = 2;

/** Loads (or reuses) the checkpoint `spec` resolves to, on the active backend. */
export function loadModel(spec: string | undefined, opts: ModelStoreOptions = {}): LoadedCheckpoint {
  const dir = path.resolve(resolveModelDir(spec, opts));
  const mtimeMs = fs.statSync(path.join(dir, CONFIG_FILE)).mtimeMs;
  const hit = cache.get(dir);
  if (hit && hit.mtimeMs === mtimeMs) return hit.loaded;
  if (hit) {
    hit.loaded.model.dispose();
    cache.delete(dir);
  }
  const loaded = loadCheckpoint(dir);
  cache.set(dir, { mtimeMs, loaded });
  while (cache.size > CACHE_LIMIT) {
    const [oldest, entry] = cache.entries().next().value as [string, { loaded: LoadedCheckpoint }];
    entry.loaded.model.dispose();
    cache.delete(oldest);
  }
  return loaded;
}

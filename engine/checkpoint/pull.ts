/**
 * `sed pull`: download a released EfficientSED checkpoint into the model cache and convert it to our
 * checkpoint format.
 *
 * Cache layout (default `$SED_CACHE_DIR`, else `~/.cache/sed-studio/models`):
 *   index.json                 — one entry per pulled release: model, url, bytes, sha256, when
 *   downloads/<release>.pt     — the original file (kept so a conversion can be redone offline)
 *   <release>/                 — our checkpoint folder (config.json + model.safetensors)
 * A release whose sha256 is already in the index must match it on any later download.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../io/atomicWrite';
import { parseModelName } from '../models/index';
import { CONFIG_FILE } from './format';
import { readCheckpointConfig, writeCheckpoint } from './index';
import { downloadFile } from './download';
import { RELEASE_BASE_URL, releaseUrl, resolveRelease, type ReleaseInfo } from './releases';
import { readTorchCheckpointTensors } from './torchImport';

export const INDEX_FILE = 'index.json';

export interface PulledModel {
  /** Release name, e.g. `fmn10+tf-256_strong`. */
  release: string;
  /** Our canonical model name, e.g. `fmn10+tf:256`. */
  model: string;
  /** The checkpoint folder (absolute). */
  dir: string;
  numClasses: number;
  url: string;
  bytes: number;
  sha256: string;
  pulledAt: string;
}

interface CacheIndex {
  version: 1;
  models: Record<string, Omit<PulledModel, 'dir'> & { dir: string }>;
}

export interface PullOptions {
  cacheDir?: string;
  baseUrl?: string;
  /** Download and convert again even if the cache has the model. */
  force?: boolean;
  /** sha256 the download must have (else the one recorded in the index, if any). */
  sha256?: string;
  /** Class names for the converted checkpoint (default: AudioSet-Strong for 447 classes). */
  classes?: string[];
  onProgress?: (received: number, total: number | undefined) => void;
  log?: (message: string) => void;
  maxAttempts?: number;
}

export function defaultCacheDir(): string {
  return process.env.SED_CACHE_DIR || path.join(os.homedir(), '.cache', 'sed-studio', 'models');
}

function canonicalName(model: string): string | null {
  try {
    return parseModelName(model).name;
  } catch {
    return null;
  }
}

/** Resolves a release name (or one of our model names) to its release entry. */
export function findRelease(name: string): ReleaseInfo {
  return resolveRelease(name, canonicalName);
}

function readIndex(cacheDir: string): CacheIndex {
  const file = path.join(cacheDir, INDEX_FILE);
  if (!fs.existsSync(file)) return { version: 1, models: {} };
  try {
    const idx = JSON.parse(fs.readFileSync(file, 'utf8')) as CacheIndex;
    if (idx && typeof idx.models === 'object' && idx.models !== null) return idx;
  } catch {
    // fall through to the error below
  }
  throw new Error(`${file}: corrupt model cache index (delete it and pull again)`);
}

function writeIndex(cacheDir: string, idx: CacheIndex): void {
  writeFileAtomic(path.join(cacheDir, INDEX_FILE), JSON.stringify(idx, null, 1) + '\n');
}

function entryToModel(cacheDir: string, e: CacheIndex['models'][string]): PulledModel {
  return { ...e, dir: path.resolve(cacheDir, e.dir) };
}

/** The models in the cache whose checkpoint folder is present and readable, sorted by release name. */
export function listPulledModels(cacheDir = defaultCacheDir()): PulledModel[] {
  const idx = readIndex(cacheDir);
  const out: PulledModel[] = [];
  for (const e of Object.values(idx.models)) {
    const m = entryToModel(cacheDir, e);
    if (!fs.existsSync(path.join(m.dir, CONFIG_FILE))) continue;
    try {
      readCheckpointConfig(m.dir);
    } catch {
      continue;
    }
    out.push(m);
  }
  return out.sort((a, b) => a.release.localeCompare(b.release));
}

/** Downloads (resuming a partial download), verifies and converts one release into the cache. */
export async function pullModel(name: string, opts: PullOptions = {}): Promise<PulledModel> {
  const rel = findRelease(name);
  const cacheDir = path.resolve(opts.cacheDir ?? defaultCacheDir());
  const model = canonicalName(rel.model) ?? rel.model;
  const url = releaseUrl(rel, opts.baseUrl ?? RELEASE_BASE_URL);
  const dir = path.join(cacheDir, rel.release);
  const idx = readIndex(cacheDir);
  const known = idx.models[rel.release];

  if (known && !opts.force && fs.existsSync(path.join(dir, CONFIG_FILE))) {
    try {
      readCheckpointConfig(dir);
      opts.log?.(`${rel.release}: already in ${cacheDir} (use --force to download again)`);
      return entryToModel(cacheDir, known);
    } catch (err) {
      opts.log?.(`${(err as Error).message}; converting again`);
    }
  }

  const pt = path.join(cacheDir, 'downloads', `${rel.release}.pt`);
  const expectedSha256 = opts.sha256 ?? known?.sha256;
  if (opts.force) fs.rmSync(pt, { force: true });
  // A file downloaded earlier but not converted (e.g. interrupted during conversion) is reused if it verifies.
  let have: { bytes: number; sha256: string } | undefined;
  if (fs.existsSync(pt)) {
    const buf = fs.readFileSync(pt);
    have = { bytes: buf.length, sha256: crypto.createHash('sha256').update(buf).digest('hex') };
    if (expectedSha256 && have.sha256 !== expectedSha256.toLowerCase()) {
      fs.rmSync(pt, { force: true });
      have = undefined;
    }
  }
  if (!have) {
    opts.log?.(`${rel.release}: downloading ${url}`);
    have = await downloadFile(url, pt, {
      expectedSha256,
      expectedBytes: known?.bytes,
      onProgress: opts.onProgress,
      log: opts.log,
      maxAttempts: opts.maxAttempts,
    });
  }
  const { bytes, sha256 } = have;

  const imported = readTorchCheckpointTensors(pt, model, { classes: opts.classes });
  if (imported.warning) opts.log?.(imported.warning);
  writeCheckpoint(dir, imported.config.name, imported.tensors, {
    classes: imported.classes,
    source: { ...imported.source, release: rel.release, url },
  });
  const entry: PulledModel = {
    release: rel.release,
    model: imported.config.name,
    dir,
    numClasses: imported.classes.length,
    url,
    bytes,
    sha256,
    pulledAt: new Date().toISOString(),
  };
  const fresh = readIndex(cacheDir); // re-read: another pull may have finished meanwhile
  fresh.models[rel.release] = { ...entry, dir: path.relative(cacheDir, dir) };
  writeIndex(cacheDir, fresh);
  return entry;
}

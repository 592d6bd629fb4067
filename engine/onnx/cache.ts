/**
 * Exported .onnx files are cached per checkpoint: `<cache>/<key>.onnx` with the key a sha256 over the
 * weights' sha256 (recorded in config.json), the model name, class count, time length, outputs and the
 * exporter version. Written atomically, so concurrent detection processes or workers never read half a
 * file. Cache folder: `$SED_ONNX_CACHE_DIR`, else `~/.cache/sed-studio/onnx`.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkpointDir, CONFIG_FILE, modelConfigOf, readCheckpointConfig, readCheckpointWeights } from '../checkpoint/index';
import { writeFileAtomic } from '../io/atomicWrite';
import { EXPORTER_VERSION, exportOnnx, type OnnxOutput } from './export';

export function onnxCacheDir(): string {
  return process.env.SED_ONNX_CACHE_DIR || path.join(os.homedir(), '.cache', 'sed-studio', 'onnx');
}

export interface CachedExportOptions {
  frames?: number;
  outputs?: OnnxOutput[];
  cacheDir?: string;
}

/**
 * The path of the exported ONNX model of the checkpoint folder `dir`, exporting (and caching) it first
 * when no up-to-date file exists. The weights are read from the checkpoint (sha256-checked), not from a
 * model in memory, so the key always describes what was exported.
 */
export function cachedOnnxModel(dir: string, opts: CachedExportOptions = {}): { file: string; exported: boolean } {
  const frames = opts.frames ?? 1000;
  const outputs = opts.outputs ?? ['strong_logits'];
  const meta = readCheckpointConfig(dir);
  const config = modelConfigOf(meta, path.join(checkpointDir(dir), CONFIG_FILE));
  const key = crypto.createHash('sha256')
    .update(JSON.stringify({ exporter: EXPORTER_VERSION, model: config.name, classes: config.numClasses, weights: meta.weights.sha256, frames, outputs }))
    .digest('hex').slice(0, 32);
  const file = path.join(opts.cacheDir ?? onnxCacheDir(), `${config.name.replace(/[^a-z0-9]+/gi, '_')}-${key}.onnx`);
  if (fs.existsSync(file)) return { file, exported: false };
  const bytes = exportOnnx(config, readCheckpointWeights(dir, meta), { frames, outputs });
  writeFileAtomic(file, bytes);
  return { file, exported: true };
}

/**
 * Detection of a 1-hour file with the bundled default model (decode, frontend, model, post-processing
 * included): wall time, the ratio to the target of 1/100 of real time (36 s), and peak memory (RSS of
 * the `sed detect` process, from /usr/bin/time when present, else the child's own high-water mark).
 * The file is 360 shared validation soundscapes concatenated into one 16 kHz WAV in the temp folder.
 * Usage: npx tsx bench/detect1h.bench.ts [--model dir] [--backend wasm]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeAudio } from '../engine/audio/index';
import { wavBytes } from '../test/helpers/wav';
import { SHARED_DIR, REPO_ROOT } from '../test/helpers/paths';
import { arg, table, writeResults } from './common';

async function makeHourFile(file: string): Promise<void> {
  if (fs.existsSync(file)) return;
  const dir = path.join(SHARED_DIR, 'data', 'dcase2016t2-soundscapes', 'audio', 'validation');
  const clips = fs.readdirSync(dir).filter((f) => f.endsWith('.flac')).sort();
  const hour = new Float32Array(3600 * 16000);
  for (let i = 0; i < 360; i++) hour.set((await decodeAudio(path.join(dir, clips[i % clips.length]))).samples.subarray(0, 160000), i * 160000);
  fs.writeFileSync(file, wavBytes([hour], 16000));
}

async function main() {
  const file = path.join(os.tmpdir(), 'sed-bench-1h-16k.wav');
  await makeHourFile(file);
  const sedArgs = [path.join(REPO_ROOT, 'bin', 'sed.js'), 'detect', file, '--format', 'json', '--out', path.join(os.tmpdir(), 'sed-bench-1h.json'), '--no-progress'];
  if (arg('model', '')) sedArgs.push('--model', arg('model', ''));
  const env = { ...process.env, SED_BACKEND: arg('backend', 'wasm') };
  const timeBin = fs.existsSync('/usr/bin/time');
  const t0 = performance.now();
  const r = timeBin
    ? spawnSync('/usr/bin/time', ['-f', 'PEAK_KB %M', process.execPath, ...sedArgs], { encoding: 'utf8', env })
    : spawnSync(process.execPath, sedArgs, { encoding: 'utf8', env });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`sed detect failed: ${r.stderr}`);
  const peakKb = Number(/PEAK_KB (\d+)/.exec(r.stderr)?.[1] ?? NaN);
  const rows = [{ file: '1 h, 16 kHz WAV', wall_s: seconds, target_s: 36, ratio_to_target: seconds / 36, real_time_factor: seconds / 3600, peak_rss_mb: peakKb / 1024 }];
  console.log(table(rows));
  console.log(r.stderr.split('\n').filter((l) => l.startsWith('model:')).join('\n'));
  console.log(`results: ${writeResults('detect1h', { rows })}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

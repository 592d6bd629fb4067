/**
 * `sed mel` end to end (run as a child process through tsx, as a user would run the CLI):
 * whole-file mel from 10 s chunks concatenated on time, metadata, --help, and errors on stderr.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../engine/backend/select';
import { melForFile } from '../../engine/frontend/fileMel';
import { computeMel } from '../../engine/frontend/mel';
import { readSafetensors } from '../../engine/io/safetensors';
import { REPO_ROOT, SHARED_DIR } from '../helpers/paths';
import { writeWav } from '../helpers/wav';

function sed(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'engine', 'main.ts'), ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, SED_BACKEND: 'wasm' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('sed mel', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sed-mel-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('--help describes the command and its options', () => {
    const r = sed('mel', '--help');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Usage: sed mel \[options\] <audio>/);
    assert.match(r.stdout, /--out <file>/);
  });

  it('writes mel [1,128,T] for a 25 s file: chunks of 1000 frames concatenated, the tail trimmed to the audio', async () => {
    const x = new Float32Array(25 * 16000);
    let s = 7;
    for (let i = 0; i < x.length; i++) {
      s = (s * 1664525 + 1013904223) >>> 0;
      x[i] = 0.1 * ((s / 2 ** 32) * 2 - 1) + 0.3 * Math.sin((2 * Math.PI * (200 + i / 400) * i) / 16000);
    }
    const wav = path.join(dir, 'sweep.wav');
    const out = path.join(dir, 'sweep.mel.safetensors');
    writeWav(wav, [x], 16000, 'float32');
    const r = sed('mel', wav, '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /mel \[1,128,2500\]/);
    const { tensors, metadata } = readSafetensors(out);
    const mel = tensors.get('mel')!;
    assert.deepEqual(mel.shape, [1, 128, 2500]);
    assert.equal(metadata.sample_rate, '16000');
    assert.equal(metadata.hop_length, '160');
    assert.equal(metadata.source_file, wav);
    assert.equal(metadata.duration_seconds, '25');

    // Chunk 3 (20–25 s, zero-padded to 10 s) must equal computeMel of that padded chunk, first 500 frames.
    await initBackend('wasm');
    const chunk = new Float32Array(160000);
    chunk.set(x.subarray(320000));
    const ref = tf.tidy(() => computeMel(tf.tensor2d(chunk, [1, 160000])).dataSync());
    const data = mel.data as Float32Array;
    let worst = 0;
    for (let m = 0; m < 128; m++) {
      for (let t = 0; t < 500; t++) worst = Math.max(worst, Math.abs(data[m * 2500 + 2000 + t] - ref[m * 1000 + t]));
    }
    assert.ok(worst < 1e-6, `last chunk differs by ${worst}`);

    // The in-memory variant gives the same spectrogram.
    const inMemory = await melForFile(wav);
    assert.equal(inMemory.frames, 2500);
    assert.equal(inMemory.durationSeconds, 25);
    let diff = 0;
    for (let i = 0; i < data.length; i++) diff = Math.max(diff, Math.abs(inMemory.data[i] - data[i]));
    assert.ok(diff < 1e-6, `melForFile differs from sed mel by ${diff}`);
  });

  it('frame count of a resampled, compressed file matches its decoded length', () => {
    const mp3 = path.join(SHARED_DIR, 'data', 'formats', 'broken_truncated.mp3');
    const out = path.join(dir, 'trunc.mel.safetensors');
    const r = sed('mel', mp3, '--out', out, '--chunk-seconds', '0.5');
    assert.equal(r.status, 0, r.stderr);
    const { tensors, metadata } = readSafetensors(out);
    // 51887 samples at 44.1 kHz → ceil(51887·16000/44100) = 18826 at 16 kHz → 2 full 0.5 s chunks (50 frames each) + ⌈2826/160⌉ = 18
    assert.deepEqual(tensors.get('mel')!.shape, [1, 128, 118]);
    assert.equal(metadata.source_sample_rate, '44100');
    assert.ok((tensors.get('mel')!.data as Float32Array).every(Number.isFinite));
  });

  it('reports a broken file on stderr with exit code 1 and writes nothing', () => {
    const bad = path.join(dir, 'bad.wav');
    fs.writeFileSync(bad, 'RIFF....WAVEjunk');
    const out = path.join(dir, 'bad.mel.safetensors');
    const r = sed('mel', bad, '--out', out);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`sed: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
    assert.equal(r.stdout, '');
    assert.ok(!fs.existsSync(out));
  });

  it('requires --out', () => {
    const r = sed('mel', path.join(dir, 'whatever.wav'));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--out/);
  });
});

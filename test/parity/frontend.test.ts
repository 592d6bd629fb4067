/**
 * Frontend parity: every safetensors file in SED_PARITY_DIR holding `input.waveform` [B,N] and
 * `output.mel` [B,1,128,T] (upstream `mel_forward`, eval) must be reproduced by computeMel on the
 * cpu, wasm and webgpu backends (webgpu: `sed train`'s and detection's mel on the GPU; a software adapter where no
 * GPU is visible) within the fixture README's tolerance (atol 2e-4 + rtol 1e-4, log domain).
 * Fixtures are found by reading each file's header, not by name.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../engine/backend/select';
import { computeMel, melFrameCount } from '../../engine/frontend/mel';
import { readSafetensors } from '../../engine/io/safetensors';
import { PARITY_DIR } from '../helpers/paths';
import { initTestWebgpu } from '../helpers/webgpuCases';

const ATOL = 2e-4;
const RTOL = 1e-4;

/** Tensor names in a safetensors file, from its JSON header only (the data is not read). */
function headerKeys(file: string): string[] {
  const fd = fs.openSync(file, 'r');
  try {
    const len = Buffer.alloc(8);
    if (fs.readSync(fd, len, 0, 8, 0) < 8) return [];
    const n = Number(len.readBigUInt64LE(0));
    if (n <= 0 || n > 100 * 1024 * 1024) return [];
    const json = Buffer.alloc(n);
    fs.readSync(fd, json, 0, n, 8);
    return Object.keys(JSON.parse(json.toString('utf8')));
  } catch {
    return [];
  } finally {
    fs.closeSync(fd);
  }
}

function frontendFixtures(): string[] {
  if (!fs.existsSync(PARITY_DIR)) return [];
  return fs
    .readdirSync(PARITY_DIR)
    .filter((f) => f.endsWith('.safetensors'))
    .map((f) => path.join(PARITY_DIR, f))
    .filter((f) => {
      const keys = headerKeys(f);
      return keys.includes('input.waveform') && keys.includes('output.mel');
    })
    .sort();
}

describe('frontend parity (computeMel vs upstream mel_forward)', () => {
  const fixtures = frontendFixtures();

  it(`finds at least one frontend fixture in ${PARITY_DIR}`, () => {
    assert.ok(fixtures.length > 0, `no safetensors with input.waveform + output.mel in ${PARITY_DIR} (set SED_PARITY_DIR)`);
  });

  for (const backend of ['cpu', 'wasm', 'webgpu']) {
    for (const file of fixtures) {
      it(`${path.basename(file)} on ${backend}`, async () => {
        if (backend === 'webgpu') await initTestWebgpu();
        else await initBackend(backend);
        assert.equal(tf.getBackend(), backend);
        const { tensors } = readSafetensors(file);
        const wave = tensors.get('input.waveform')!;
        const ref = tensors.get('output.mel')!;
        assert.equal(wave.shape.length, 2, `input.waveform must be [B,N], is [${wave.shape}]`);
        const [batch, n] = wave.shape;
        assert.deepEqual(ref.shape, [batch, 1, 128, melFrameCount(n)], 'output.mel shape');
        const ours = tf.tidy(() => {
          const mel = computeMel(tf.tensor2d(Float32Array.from(wave.data as Float32Array), [batch, n]));
          assert.deepEqual(mel.shape, [batch, 128, melFrameCount(n), 1]);
          return tf.transpose(mel, [0, 3, 1, 2]); // → upstream [B,1,128,T]
        });
        const got = (await ours.data()) as Float32Array; // webgpu has no synchronous read-back in Node
        ours.dispose();
        const want = ref.data as Float32Array;
        let maxAbs = 0;
        let worst = -1;
        let violations = 0;
        for (let i = 0; i < want.length; i++) {
          const d = Math.abs(got[i] - want[i]);
          if (!(d <= ATOL + RTOL * Math.abs(want[i]))) {
            violations++;
            if (worst < 0) worst = i;
          }
          if (!(d <= maxAbs)) maxAbs = d;
        }
        console.log(`      ${path.basename(file)} [${backend}]: max|Δ| = ${maxAbs.toExponential(2)} over ${want.length} values`);
        assert.equal(
          violations,
          0,
          `${violations} values outside atol ${ATOL} + rtol ${RTOL}; first at flat index ${worst}: ours ${got[worst]}, upstream ${want[worst]}`,
        );
      });
    }
  }
});

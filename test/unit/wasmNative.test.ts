/**
 * The native kernels' module (engine/backend/native/): the committed .wasm is what build.sh makes from
 * the C sources; it imports only a memory and owns none of it (no data segments), since it runs on
 * tfjs-backend-wasm's heap; and its accumulating kernels are right for every channel tail (C mod 4) at
 * arbitrary offsets, checked against JavaScript on a memory of its own. (clang 14's loop vectorizer once
 * miscompiled those tails depending on the pointers: build.sh turns it off.)
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NATIVE_KERNELS_WASM, type NativeKernelExports } from '../../engine/backend/wasmNative';

const NATIVE_DIR = path.dirname(NATIVE_KERNELS_WASM);

/** Section ids of a wasm binary (after the 8-byte header: id byte, LEB128 size, payload). */
function sectionIds(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at++];
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[at++];
      size |= (b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    ids.push(id);
    at += size;
  }
  return ids;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('native kernels module (sedKernels.wasm)', function () {
  this.timeout(120_000);

  it('is the build of the C sources by build.sh', () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sed-native-')), 'sedKernels.wasm');
    try {
      execFileSync('bash', [path.join(NATIVE_DIR, 'build.sh'), out], { stdio: 'pipe' });
    } catch (e) {
      throw new Error(`build.sh failed (needs clang-14 and lld-14, which .ci/setup.sh installs): ${(e as { stderr?: Buffer }).stderr ?? e}`);
    }
    assert.ok(fs.readFileSync(out).equals(fs.readFileSync(NATIVE_KERNELS_WASM)), 'the committed .wasm differs from a fresh build: run bash engine/backend/native/build.sh');
  });

  it('imports only a memory and has no data segments', () => {
    const bytes = fs.readFileSync(NATIVE_KERNELS_WASM);
    const mod = new WebAssembly.Module(bytes);
    assert.deepEqual(WebAssembly.Module.imports(mod), [{ module: 'env', name: 'memory', kind: 'memory' }]);
    assert.deepEqual(WebAssembly.Module.exports(mod).map((e) => e.name).sort(), ['bnApply', 'bnGradApply', 'bnGradSums', 'bnMoments', 'convFilterGrad', 'depthwiseConv', 'depthwiseFilterGrad', 'depthwiseInputGrad', 'dropoutMask', 'melPower', 'pointwiseFilterGrad']);
    const ids = sectionIds(bytes);
    assert.ok(!ids.includes(11) && !ids.includes(12), `data sections: ${ids}`);
  });

  it('bnMoments and bnGradSums are right for every channel tail at arbitrary offsets', () => {
    const memory = new WebAssembly.Memory({ initial: 8 });
    const k = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(NATIVE_KERNELS_WASM)), { env: { memory } }).exports as unknown as NativeKernelExports;
    const f = new Float32Array(memory.buffer);
    const r = rng(7);
    const slot = (base: number) => 4 * (base + Math.floor(r() * 1000)); // byte offset, any float alignment
    for (let C = 1; C <= 12; C++) {
      for (let trial = 0; trial < 40; trial++) {
        const rows = 1 + Math.floor(r() * 150);
        const [y, dy, out, sums, stats, acc, sum, coef] = [1000, 20000, 40000, 42000, 44000, 46000, 48000, 50000].map(slot);
        for (let i = 0; i < rows * C; i++) {
          f[y / 4 + i] = 4 * r() - 1;
          f[dy / 4 + i] = r() - 0.5;
        }
        k.bnMoments(y, rows, C, out, acc, sum);
        for (let c = 0; c < C; c++) {
          f[stats / 4 + c] = f[out / 4 + c]; // mean
          f[stats / 4 + C + c] = f[out / 4 + C + c] / Math.max(rows - 1, 1); // unbiased variance
          f[stats / 4 + 2 * C + c] = 1 + 0.1 * c; // γ
          f[stats / 4 + 3 * C + c] = 0.05 * c; // β
        }
        const varScale = Math.max(rows - 1, 1) / rows;
        k.bnGradSums(y, dy, rows, C, stats, stats + 4 * C, stats + 8 * C, stats + 12 * C, varScale, 1e-3, 0, sums, coef, acc, sum);
        for (let c = 0; c < C; c++) {
          const col = Array.from({ length: rows }, (_, i) => f[y / 4 + i * C + c]);
          const mean = col.reduce((a, v) => a + v, 0) / rows;
          const m2 = col.reduce((a, v) => a + (v - mean) ** 2, 0);
          const inv = 1 / Math.sqrt((m2 / rows) + 1e-3);
          const sumG = Array.from({ length: rows }, (_, i) => f[dy / 4 + i * C + c]).reduce((a, v) => a + v, 0);
          const sumGX = col.reduce((a, v, i) => a + f[dy / 4 + i * C + c] * (v - mean) * inv, 0);
          const at = `C ${C}, rows ${rows}, channel ${c}`;
          assert.ok(Math.abs(f[out / 4 + c] - mean) < 1e-5, `mean, ${at}`);
          assert.ok(Math.abs(f[out / 4 + C + c] - m2) < 1e-4 * Math.max(1, m2), `M2, ${at}`);
          assert.ok(Math.abs(f[sums / 4 + c] - sumG) < 1e-4 * Math.max(1, Math.abs(sumG)), `Σg, ${at}`);
          assert.ok(Math.abs(f[sums / 4 + C + c] - sumGX) < 1e-4 * Math.max(1, Math.abs(sumGX)), `Σg·x̂, ${at}`);
        }
      }
    }
  });
});

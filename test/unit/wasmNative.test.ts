/**
 * The native kernels' two builds (engine/backend/native/: plain SIMD and relaxed SIMD): the committed .wasm
 * files are what build.sh makes from the C sources; each imports only a memory and owns none of it (no data
 * segments), since it runs on tfjs-backend-wasm's heap; and the accumulating kernels of each are right for
 * every channel tail (C mod 4) at arbitrary offsets, checked against JavaScript on a memory of its own.
 * (clang 14's loop vectorizer once miscompiled those tails depending on the pointers: build.sh turns it off.)
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NATIVE_BUILDS, NATIVE_KERNELS_DIR, nativeBuild, type NativeKernelExports } from '../../engine/backend/wasmNative';
import { REPO_ROOT } from '../helpers/paths';

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

describe('native kernels modules (sedKernels.wasm, sedKernelsRelaxed.wasm)', function () {
  this.timeout(120_000);

  it('are the builds of the C sources by build.sh', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sed-native-'));
    try {
      execFileSync('bash', [path.join(NATIVE_KERNELS_DIR, 'build.sh'), dir], { stdio: 'pipe' });
    } catch (e) {
      throw new Error(`build.sh failed (needs clang-16 and lld-16, which .ci/setup.sh installs): ${(e as { stderr?: Buffer }).stderr ?? e}`);
    }
    for (const file of Object.values(NATIVE_BUILDS)) {
      assert.ok(fs.readFileSync(path.join(dir, file)).equals(fs.readFileSync(path.join(NATIVE_KERNELS_DIR, file))), `the committed ${file} differs from a fresh build: run bash engine/backend/native/build.sh`);
    }
  });

  it('runs the relaxed SIMD build on this Node (the GEMMs\' FMA); `sed info` names the build, SED_WASM_RELAXED_SIMD=0 forces the plain one', () => {
    assert.equal(nativeBuild(), 'relaxedSimd');
    const info = (env: Record<string, string>) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'engine', 'main.ts'), 'info', '--backend', 'wasm'], { encoding: 'utf8', env: { ...process.env, ...env } });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };
    assert.match(info({}), /^device: +CPU via WebAssembly \(SIMD, 1 thread; native kernels: relaxed SIMD\)$/m);
    assert.match(info({ SED_WASM_RELAXED_SIMD: '0' }), /^device: +CPU via WebAssembly \(SIMD, 1 thread; native kernels: SIMD\)$/m);
  });

  for (const file of Object.values(NATIVE_BUILDS)) {
    describe(file, () => {
      before(() => nativeBuild()); // enables relaxed SIMD in this process where Node needs the flag
      modulesChecks(file);
    });
  }
});

function modulesChecks(file: string): void {
  it('imports only a memory and has no data segments', () => {
    const bytes = fs.readFileSync(path.join(NATIVE_KERNELS_DIR, file));
    const mod = new WebAssembly.Module(bytes);
    assert.deepEqual(WebAssembly.Module.imports(mod), [{ module: 'env', name: 'memory', kind: 'memory' }]);
    assert.deepEqual(WebAssembly.Module.exports(mod).map((e) => e.name).sort(), ['bnApply', 'bnGradApply', 'bnGradSums', 'bnMoments', 'convFilterGrad', 'depthwiseConv', 'depthwiseFilterGrad', 'depthwiseInputGrad', 'dropoutMask', 'gemm', 'melPower', 'packB', 'pointwiseFilterGrad']);
    const ids = sectionIds(bytes);
    assert.ok(!ids.includes(11) && !ids.includes(12), `data sections: ${ids}`);
  });

  it('bnMoments and bnGradSums are right for every channel tail at arbitrary offsets', () => {
    const memory = new WebAssembly.Memory({ initial: 8 });
    const k = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(path.join(NATIVE_KERNELS_DIR, file))), { env: { memory } }).exports as unknown as NativeKernelExports;
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

  it('bnGradApply is right for every activation and channel tail, also where |mean| >> std', () => {
    const memory = new WebAssembly.Memory({ initial: 8 });
    const k = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(path.join(NATIVE_KERNELS_DIR, file))), { env: { memory } }).exports as unknown as NativeKernelExports;
    const f = new Float32Array(memory.buffer);
    const r = rng(13);
    const slot = (base: number) => 4 * (base + Math.floor(r() * 1000));
    const actGrad = (z: number, act: number) => (act === 1 ? (z > 0 ? 1 : 0) : act === 2 ? (Math.min(Math.max(z + 3, 0), 6) + (z + 3 > 0 && z + 3 <= 6 ? z : 0)) / 6 : 1);
    for (let C = 1; C <= 12; C++) {
      for (const act of [0, 1, 2]) {
        for (const offset of [0, 40]) {
          const rows = 1 + Math.floor(r() * 100);
          const [y, dy, dx, stats, sums, coef] = [1000, 20000, 40000, 60000, 62000, 64000].map(slot);
          for (let i = 0; i < rows * C; i++) {
            f[y / 4 + i] = offset + 4 * r() - 2;
            f[dy / 4 + i] = r() - 0.5;
          }
          const mean = Array.from({ length: C }, (_, c) => Array.from({ length: rows }, (_, i) => f[y / 4 + i * C + c]).reduce((a, v) => a + v, 0) / rows);
          const m2 = Array.from({ length: C }, (_, c) => Array.from({ length: rows }, (_, i) => (f[y / 4 + i * C + c] - mean[c]) ** 2).reduce((a, v) => a + v, 0));
          for (let c = 0; c < C; c++) {
            f[stats / 4 + c] = mean[c];
            f[stats / 4 + C + c] = m2[c] / Math.max(rows - 1, 1); // unbiased, as the op passes it
            f[stats / 4 + 2 * C + c] = 1 + 0.1 * c; // γ
            f[stats / 4 + 3 * C + c] = 0.05 * c - 0.2; // β
            f[sums / 4 + c] = r() - 0.5; // Σg
            f[sums / 4 + C + c] = r() - 0.5; // Σg·x̂
          }
          const varScale = Math.max(rows - 1, 1) / rows;
          k.bnGradApply(y, dy, rows, C, stats, stats + 4 * C, stats + 8 * C, stats + 12 * C, sums, varScale, 1e-3, act, dx, coef);
          for (let c = 0; c < C; c++) {
            const inv = 1 / Math.sqrt(m2[c] / rows + 1e-3);
            const [gamma, beta] = [1 + 0.1 * c, 0.05 * c - 0.2];
            for (let i = 0; i < rows; i++) {
              const xh = (f[y / 4 + i * C + c] - mean[c]) * inv;
              const g = f[dy / 4 + i * C + c] * actGrad(xh * gamma + beta, act);
              const want = (g - (xh * f[sums / 4 + C + c] / rows + f[sums / 4 + c] / rows)) * gamma * inv;
              const got = f[dx / 4 + i * C + c];
              assert.ok(Math.abs(got - want) < 1e-4 * Math.max(1, Math.abs(want)), `C ${C} act ${act} offset ${offset} rows ${rows}, [${i}, ${c}]: ${got} vs ${want}`);
            }
          }
        }
      }
    }
  });

  it('gemm (packB with and without transposing b, bias, ReLU) is right for every row and column tail', () => {
    const memory = new WebAssembly.Memory({ initial: 8 });
    const k = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(path.join(NATIVE_KERNELS_DIR, file))), { env: { memory } }).exports as unknown as NativeKernelExports;
    const f = new Float32Array(memory.buffer);
    const r = rng(11);
    for (let trial = 0; trial < 300; trial++) {
      const [M, N, K] = [1 + Math.floor(r() * 9), 1 + Math.floor(r() * 17), 1 + Math.floor(r() * 20)];
      const [transB, withBias, relu] = [r() < 0.5, r() < 0.5, r() < 0.5];
      const [a, b, bias, packed, c] = [1000, 20000, 40000, 42000, 80000].map((base) => 4 * (base + Math.floor(r() * 1000)));
      for (let i = 0; i < M * K; i++) f[a / 4 + i] = r() - 0.5;
      for (let i = 0; i < K * N; i++) f[b / 4 + i] = r() - 0.5;
      for (let j = 0; j < N; j++) f[bias / 4 + j] = r() - 0.5;
      f.fill(7, c / 4, c / 4 + M * N + 8); // sentinels after C must survive
      k.packB(K, N, b, transB ? K : N, transB ? 1 : 0, withBias ? bias : 0, packed);
      k.gemm(M, N, K, a, K, packed, relu ? 1 : 0, c, N);
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          let want = withBias ? f[bias / 4 + j] : 0;
          for (let q = 0; q < K; q++) want += f[a / 4 + i * K + q] * f[b / 4 + (transB ? j * K + q : q * N + j)];
          if (relu) want = Math.max(0, want);
          assert.ok(Math.abs(f[c / 4 + i * N + j] - want) < 1e-5, `M ${M} N ${N} K ${K} transB ${transB}: C[${i}, ${j}] ${f[c / 4 + i * N + j]} vs ${want}`);
        }
      }
      assert.ok(f.subarray(c / 4 + M * N, c / 4 + M * N + 8).every((v) => v === 7), `M ${M} N ${N}: wrote past C`);
    }
  });
}

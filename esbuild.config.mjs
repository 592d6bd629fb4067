// Builds the three targets: the engine (node cjs: CLI + JSON-RPC child process), the extension
// (node cjs, `vscode` external) and the notebook renderers (browser ESM, one file per renderer).
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';

const watch = process.argv.includes('--watch');
const common = { bundle: true, sourcemap: true, logLevel: 'warning', legalComments: 'none' };

// Native or optional packages stay outside the bundle and are loaded lazily at run time.
// @audio/decode registers optional codecs through dynamic imports; the ones not installed stay external,
// so opening such a format fails at run time with a clear message instead of failing the build.
const audioDecodeSrc = 'node_modules/@audio/decode/audio-decode.js';
const missingCodecs = fs.existsSync(audioDecodeSrc)
  ? [...fs.readFileSync(audioDecodeSrc, 'utf8').matchAll(/import\('(@audio\/decode-[\w-]+)'\)/g)].map((m) => m[1]).filter((p) => !fs.existsSync(`node_modules/${p}`))
  : [];
const engineExternals = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node', 'webgpu', 'onnxruntime-node', 'esbuild', ...missingCodecs];

const renderers = fs.existsSync('renderers')
  ? fs.readdirSync('renderers').filter((f) => /^[a-zA-Z]+\.ts$/.test(f) && f !== 'common.ts').map((f) => `renderers/${f}`)
  : [];

// `--gpu-pack <dir>`: a minified engine + GPU benchmark bundle for machines without Node (bench/gpu/pack.sh).
const gpuPackIndex = process.argv.indexOf('--gpu-pack');
const gpuPack = gpuPackIndex > 0 ? process.argv[gpuPackIndex + 1] : undefined;

const builds = gpuPack ? [
  { ...common, sourcemap: false, minify: process.env.SED_GPU_PACK_NAMES !== '1', minifyWhitespace: true, minifySyntax: true, entryPoints: { main: 'engine/main.ts', entry: 'bench/gpu/entry.ts' }, outdir: gpuPack, platform: 'node', format: 'cjs', target: 'node20', external: engineExternals },
] : [
  { ...common, entryPoints: { engine: 'engine/main.ts' }, outdir: 'dist', platform: 'node', format: 'cjs', target: 'node20', external: engineExternals,
    // tfjs-backend-wasm locates its .wasm files next to the bundle.
  },
  fs.existsSync('extension/extension.ts') && { ...common, entryPoints: { extension: 'extension/extension.ts' }, outdir: 'dist', platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'] },
  renderers.length && { ...common, entryPoints: renderers, outdir: 'dist/renderers', platform: 'browser', format: 'esm', target: 'es2022' },
].filter(Boolean);

const outDir = gpuPack ?? 'dist';
for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
  fs.mkdirSync(outDir, { recursive: true });
  fs.copyFileSync(`node_modules/@tensorflow/tfjs-backend-wasm/dist/${f}`, `${outDir}/${f}`);
}

// The native kernels (engine/backend/wasmNative.ts loads them from native/ beside the bundle).
fs.mkdirSync(`${outDir}/native`, { recursive: true });
for (const build of ['sedKernels.wasm', 'sedKernelsRelaxed.wasm']) fs.copyFileSync(`engine/backend/native/${build}`, `${outDir}/native/${build}`);

// Shipped assets (the bundled default model) sit beside the engine bundle.
if (fs.existsSync('engine/assets')) fs.cpSync('engine/assets', `${outDir}/assets`, { recursive: true });

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}

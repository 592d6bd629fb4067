#!/usr/bin/env bash
# Builds the native kernels from the C sources here into two modules (committed: users need no compiler):
#   sedKernels.wasm         WebAssembly SIMD (every engine that runs tfjs-backend-wasm's SIMD build);
#   sedKernelsRelaxed.wasm  the same with relaxed SIMD's multiply-add (FMA), used where the engine validates it.
# A module imports tfjs-backend-wasm's memory, so it must not own any of it: no data, and a stack of size 0
# at address 0 (a function that spilled to the stack would trap out of bounds instead of writing into tfjs' heap).
# Needs clang and wasm-ld 16 (Debian: apt-get install clang-16 lld-16; .ci/setup.sh installs them for the tests):
# older clangs emit relaxed SIMD's pre-standard opcodes.
# test/unit/wasmNative.test.ts rebuilds both and checks the committed files are this build.
# Usage: bash engine/backend/native/build.sh [out-dir]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here}"
clang="$(command -v clang-16 || command -v clang)"
exports=(bnMoments bnApply bnGradSums bnGradApply depthwiseConv depthwiseInputGrad depthwiseFilterGrad pointwiseFilterGrad convFilterGrad packB gemm dropoutMask melPower)
sources=("$here/batchNorm.c" "$here/conv.c" "$here/gemm.c" "$here/dropout.c" "$here/mel.c")
# No auto-vectorisation: the SIMD is explicit, and clang 14's loop vectorizer miscompiled the scalar channel
# tails (C mod 4 = 2 or 3) of these loops for wasm32 (test/unit/wasmNative.test.ts checks every tail).
build() {
  "$clang" --target=wasm32 -O3 -fno-vectorize -fno-slp-vectorize -msimd128 "$@" -nostdlib -ffreestanding -fno-builtin \
    -Wl,--no-entry -Wl,--import-memory -Wl,--stack-first -Wl,-z,stack-size=0 -Wl,--strip-all ${exports[@]/#/-Wl,--export=} \
    "${sources[@]}"
}
build -o "$out/sedKernels.wasm"
build -mrelaxed-simd -DSED_RELAXED_SIMD -o "$out/sedKernelsRelaxed.wasm"

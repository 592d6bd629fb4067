#!/usr/bin/env bash
# Builds sedKernels.wasm from the C sources here (the .wasm is committed: users need no compiler). The module
# imports tfjs-backend-wasm's memory, so it must not own any of it: no data, and a stack of size 0 at address 0
# (a function that spilled to the stack would trap out of bounds instead of writing into tfjs' heap).
# Needs clang and wasm-ld (Debian: apt-get install clang-14 lld-14; .ci/setup.sh installs them for the tests).
# test/unit/wasmNative.test.ts rebuilds it and checks the committed file is this build.
# Usage: bash engine/backend/native/build.sh [out.wasm]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/sedKernels.wasm}"
clang="$(command -v clang-14 || command -v clang)"
exports=(bnMoments bnApply bnGradSums bnGradApply depthwiseConv depthwiseInputGrad depthwiseFilterGrad pointwiseFilterGrad convFilterGrad dropoutMask melPower)
# No auto-vectorisation: the SIMD is explicit, and clang 14's loop vectorizer miscompiled the scalar channel
# tails (C mod 4 = 2 or 3) of these loops for wasm32 (test/unit/wasmNative.test.ts checks every tail).
"$clang" --target=wasm32 -O3 -fno-vectorize -fno-slp-vectorize -msimd128 -nostdlib -ffreestanding -fno-builtin \
  -Wl,--no-entry -Wl,--import-memory -Wl,--stack-first -Wl,-z,stack-size=0 -Wl,--strip-all ${exports[@]/#/-Wl,--export=} \
  -o "$out" "$here/batchNorm.c" "$here/conv.c" "$here/dropout.c" "$here/mel.c"

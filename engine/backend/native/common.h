/*
 * What the native kernels share (see build.sh): float types, and the blocked float-then-double summation.
 * Rules that let the module share tfjs-backend-wasm's memory: no static data (no data segments to overwrite
 * tfjs' heap) and no stack (callers pass every scratch buffer).
 */
#ifndef SED_NATIVE_COMMON_H
#define SED_NATIVE_COMMON_H

#include <wasm_simd128.h>

/*
 * a * b + c per lane. The relaxed build (sedKernelsRelaxed.wasm) uses relaxed SIMD's multiply-add, which
 * engines lower to a fused FMA where the CPU has one (a different rounding, same float precision); the
 * plain build multiplies, then adds.
 */
#ifdef SED_RELAXED_SIMD
#define MADD(a, b, c) __builtin_wasm_relaxed_madd_f32x4((a), (b), (c))
#else
#define MADD(a, b, c) wasm_f32x4_add((c), wasm_f32x4_mul((a), (b)))
#endif

typedef float f32;
typedef double f64;

/* Rows summed in float before the partial sums go into the double accumulators. */
#define BLOCK 64

/* Clear the float block sums acc[0..n) and the double totals sum[0..n). */
static inline void clearSums(f32 *acc, f64 *sum, int n) {
  for (int c = 0; c < n; c++) {
    acc[c] = 0.0f;
    sum[c] = 0.0;
  }
}

/* Add the float block sums acc[0..n) into the double totals sum[0..n) and clear them. */
static inline void flush(f32 *acc, f64 *sum, int n) {
  for (int c = 0; c < n; c++) {
    sum[c] += acc[c];
    acc[c] = 0.0f;
  }
}

#endif

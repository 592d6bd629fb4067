/*
 * Matrix products of the wasm backend (engine/backend/wasmMatMul.ts decides when they run): 1x1 convs and
 * their input gradients, linear layers, attention. B is first packed into panels of 8 columns (packB), then
 * every 4 rows of A x one panel accumulate in 8 SIMD registers over the whole K (gemm). Measured on this
 * machine's wasm: 11-18 GMAC/s against XNNPACK's 7-11 (18 with the relaxed build's FMA).
 */
#include "common.h"

#define NR 8

/*
 * Bp = B (K x N) as ceil(N / 8) panels of K + 1 rows of 8 floats: Bp[p * (K + 1) * 8 + k * 8 + j] = B(k, 8p + j),
 * zero past N; the last row of a panel holds bias[8p + j] (zero without a bias). B(k, n) is B[k * ldb + n], or
 * B[n * ldb + k] when transB.
 */
void packB(int K, int N, const f32 *B, int ldb, int transB, const f32 *bias, f32 *Bp) {
  for (int j0 = 0; j0 < N; j0 += NR) {
    int nc = N - j0 < NR ? N - j0 : NR;
    f32 *P = Bp + (long)(j0 / NR) * (K + 1) * NR;
    for (int k = 0; k < K; k++)
      for (int j = 0; j < NR; j++) P[k * NR + j] = j < nc ? (transB ? B[(long)(j0 + j) * ldb + k] : B[(long)k * ldb + j0 + j]) : 0.0f;
    for (int j = 0; j < NR; j++) P[K * NR + j] = bias && j < nc ? bias[j0 + j] : 0.0f;
  }
}

/* One row of a tile: + bias, ReLU when relu, the first nc of its 8 columns stored (lane by lane at the edge: no stack). */
static inline void storeRow(f32 *c, v128_t u, v128_t v, const f32 *biasRow, int relu, int nc) {
  u = wasm_f32x4_add(u, wasm_v128_load(biasRow));
  v = wasm_f32x4_add(v, wasm_v128_load(biasRow + 4));
  if (relu) {
    u = wasm_f32x4_max(u, wasm_f32x4_splat(0.0f));
    v = wasm_f32x4_max(v, wasm_f32x4_splat(0.0f));
  }
  if (nc == NR) {
    wasm_v128_store(c, u);
    wasm_v128_store(c + 4, v);
    return;
  }
#define LANE(j, vec, l) if (nc > j) c[j] = wasm_f32x4_extract_lane(vec, l);
  LANE(0, u, 0) LANE(1, u, 1) LANE(2, u, 2) LANE(3, u, 3) LANE(4, v, 0) LANE(5, v, 1) LANE(6, v, 2)
#undef LANE
}

/*
 * Tiles of R rows x 8 columns, one function per R so that the engine keeps the 2R accumulators in registers
 * (one generic function with run-time row checks ran at a third of the speed).
 */
#define DECL(r) v128_t c##r##a = wasm_f32x4_splat(0.0f), c##r##b = c##r##a;
#define STEP(r) x = wasm_v128_load32_splat(A + (long)r * lda + k); c##r##a = MADD(x, b0, c##r##a); c##r##b = MADD(x, b1, c##r##b);
#define STORE(r) storeRow(C + (long)r * ldc, c##r##a, c##r##b, P + K * NR, relu, nc);
#define TILE(name, ROWS)                                                                                          \
  __attribute__((noinline)) static void name(int K, const f32 *A, int lda, const f32 *P, int relu, f32 *C, int ldc, int nc) { \
    ROWS(DECL)                                                                                                    \
    for (int k = 0; k < K; k++) {                                                                                 \
      v128_t b0 = wasm_v128_load(P + k * NR), b1 = wasm_v128_load(P + k * NR + 4), x;                             \
      ROWS(STEP)                                                                                                  \
    }                                                                                                             \
    ROWS(STORE)                                                                                                   \
  }
#define ROWS1(X) X(0)
#define ROWS2(X) X(0) X(1)
#define ROWS3(X) X(0) X(1) X(2)
#define ROWS4(X) X(0) X(1) X(2) X(3)
TILE(tile1, ROWS1)
TILE(tile2, ROWS2)
TILE(tile3, ROWS3)
TILE(tile4, ROWS4)

/* C (M x N, row stride ldc) = A (M x K, row stride lda) . B + bias, then ReLU when relu; Bp from packB. */
void gemm(int M, int N, int K, const f32 *A, int lda, const f32 *Bp, int relu, f32 *C, int ldc) {
  for (int j0 = 0; j0 < N; j0 += NR) {
    const f32 *P = Bp + (long)(j0 / NR) * (K + 1) * NR;
    int nc = N - j0 < NR ? N - j0 : NR;
    int i = 0;
    for (; i + 4 <= M; i += 4) tile4(K, A + (long)i * lda, lda, P, relu, C + (long)i * ldc + j0, ldc, nc);
    const f32 *a = A + (long)i * lda;
    f32 *c = C + (long)i * ldc + j0;
    if (M - i == 3) tile3(K, a, lda, P, relu, c, ldc, nc);
    else if (M - i == 2) tile2(K, a, lda, P, relu, c, ldc, nc);
    else if (M - i == 1) tile1(K, a, lda, P, relu, c, ldc, nc);
  }
}

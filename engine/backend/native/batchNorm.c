/*
 * BatchNorm with batch statistics -> activation (-> residual add) for training on the wasm backend, as
 * WebAssembly SIMD (4 float lanes) over channels-last tensors [rows, C] in tfjs-backend-wasm's heap: the
 * kernels of the fused op (engine/backend/fusedBatchNorm.ts, wasmTraining.ts), one or two passes each instead
 * of ~20 element-wise tfjs ops a layer (JavaScript loops are ~25x slower per element than SIMD code).
 * Formulas match the tfjs ops they replace (engine/models/fmn.ts batchNormTrain + the activations, and the
 * webgpu kernels in webgpuTrainingPrograms.ts): biased variance to normalise, relu'(0) = 0, hardswish'
 * through z * relu6(z + 3) / 6 with the relu6 mask 1 on 0 < z + 3 <= 6.
 */
#include "common.h"

/* act: 0 linear, 1 relu, 2 hardswish */
#define ACT_LINEAR 0
#define ACT_RELU 1
#define ACT_HARDSWISH 2

static inline v128_t act4(v128_t z, int act) {
  if (act == ACT_RELU) return wasm_f32x4_max(z, wasm_f32x4_splat(0.0f));
  if (act == ACT_HARDSWISH) {
    v128_t r6 = wasm_f32x4_min(wasm_f32x4_max(wasm_f32x4_add(z, wasm_f32x4_splat(3.0f)), wasm_f32x4_splat(0.0f)), wasm_f32x4_splat(6.0f));
    return wasm_f32x4_mul(wasm_f32x4_mul(z, r6), wasm_f32x4_splat(1.0f / 6.0f));
  }
  return z;
}

static inline f32 act1(f32 z, int act) {
  if (act == ACT_RELU) return z > 0.0f ? z : 0.0f;
  if (act == ACT_HARDSWISH) {
    f32 r6 = z + 3.0f;
    r6 = r6 < 0.0f ? 0.0f : (r6 > 6.0f ? 6.0f : r6);
    return z * r6 * (1.0f / 6.0f);
  }
  return z;
}

/* d * act'(z) */
static inline v128_t actGrad4(v128_t z, v128_t d, int act) {
  if (act == ACT_RELU) return wasm_v128_and(d, wasm_f32x4_gt(z, wasm_f32x4_splat(0.0f)));
  if (act == ACT_HARDSWISH) {
    v128_t d6 = wasm_f32x4_mul(d, wasm_f32x4_splat(1.0f / 6.0f));
    v128_t z3 = wasm_f32x4_add(z, wasm_f32x4_splat(3.0f));
    v128_t r6 = wasm_f32x4_min(wasm_f32x4_max(z3, wasm_f32x4_splat(0.0f)), wasm_f32x4_splat(6.0f));
    v128_t inside = wasm_v128_and(wasm_f32x4_gt(z3, wasm_f32x4_splat(0.0f)), wasm_f32x4_le(z3, wasm_f32x4_splat(6.0f)));
    return wasm_f32x4_add(wasm_f32x4_mul(d6, r6), wasm_v128_and(wasm_f32x4_mul(d6, z), inside));
  }
  return d;
}

static inline f32 actGrad1(f32 z, f32 d, int act) {
  if (act == ACT_RELU) return z > 0.0f ? d : 0.0f;
  if (act == ACT_HARDSWISH) {
    f32 d6 = d * (1.0f / 6.0f);
    f32 z3 = z + 3.0f;
    f32 r6 = z3 < 0.0f ? 0.0f : (z3 > 6.0f ? 6.0f : z3);
    return d6 * r6 + ((z3 > 0.0f && z3 <= 6.0f) ? d6 * z : 0.0f);
  }
  return d;
}

/*
 * Up to this many channels, the per-channel sums run down each 4-channel column of a block of rows with the
 * sums in registers (a block of rows is then at most 8 KB, in L1); wider rows go row by row, their many
 * channels giving independent sums.
 */
#define NARROW 32

/*
 * STEP(r, k) for the rows r of [r0, r1), two at a time into chains k = 0 and 1 (an odd last row into chain 0): a
 * 4-channel column's sums stay in registers as two independent chains, none through memory.
 */
#define DOWN_COLUMN(r0, r1, STEP)                                     \
  {                                                                   \
    int r_ = (r0);                                                    \
    for (; r_ + 2 <= (r1); r_ += 2) { STEP(r_, 0) STEP(r_ + 1, 1) }   \
    if (r_ < (r1)) { STEP(r_, 0) }                                    \
  }

/*
 * Per-channel sums of x (square = 0) or of (x - shift[c])^2 (square = 1) over rows of x [rows, C], into
 * out[C] (float). Scratch: acc f32[C], sum f64[C].
 */
static void channelSums(const f32 *x, int rows, int C, const f32 *shift, int square, f32 *out, f32 *acc, f64 *sum) {
  int C4 = C & ~3;
  clearSums(acc, sum, C);
  for (int r0 = 0; r0 < rows; r0 += BLOCK) {
    int r1 = r0 + BLOCK < rows ? r0 + BLOCK : rows;
    if (C <= NARROW) {
      for (int c = 0; c < C4; c += 4) {
        v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0, m = square ? wasm_v128_load(shift + c) : s0;
#define SUM_STEP(r, k) { v128_t v = wasm_f32x4_sub(wasm_v128_load(x + (long)(r) * C + c), m); s##k = square ? MADD(v, v, s##k) : wasm_f32x4_add(s##k, v); }
        DOWN_COLUMN(r0, r1, SUM_STEP)
#undef SUM_STEP
        wasm_v128_store(acc + c, wasm_f32x4_add(wasm_v128_load(acc + c), wasm_f32x4_add(s0, s1)));
      }
      for (int r = r0; r < r1; r++)
        for (int c = C4; c < C; c++) {
          f32 v = x[(long)r * C + c];
          if (square) v = (v - shift[c]) * (v - shift[c]);
          acc[c] += v;
        }
      flush(acc, sum, C);
      continue;
    }
    for (int r = r0; r < r1; r++) {
      const f32 *row = x + (long)r * C;
      int c = 0;
      for (; c < C4; c += 4) {
        v128_t v = wasm_v128_load(row + c);
        if (square) {
          v = wasm_f32x4_sub(v, wasm_v128_load(shift + c));
          v = wasm_f32x4_mul(v, v);
        }
        wasm_v128_store(acc + c, wasm_f32x4_add(wasm_v128_load(acc + c), v));
      }
      for (; c < C; c++) {
        f32 v = row[c];
        if (square) v = (v - shift[c]) * (v - shift[c]);
        acc[c] += v;
      }
    }
    flush(acc, sum, C);
  }
  for (int c = 0; c < C; c++) out[c] = (f32)sum[c];
}

/*
 * Batch moments of y [rows, C]: out[0..C) = mean, out[C..2C) = M2 = sum (y - mean)^2 (two passes; no
 * cancellation when |mean| >> std). Scratch: acc f32[C], sum f64[C] (8-byte aligned).
 */
void bnMoments(const f32 *y, int rows, int C, f32 *out, f32 *acc, f64 *sum) {
  channelSums(y, rows, C, 0, 0, out, acc, sum);
  for (int c = 0; c < C; c++) out[c] /= (f32)rows;
  channelSums(y, rows, C, out, 1, out + C, acc, sum);
}

/*
 * Per-channel affine of the normalisation: x_hat = (y - mean) * inv, z = x_hat * gamma + beta = y * a + b.
 * coef[0..C) = inv, [C..2C) = a, [2C..3C) = b. varScale turns the unbiased variance into the biased one.
 */
static void affine(int C, const f32 *mean, const f32 *var, const f32 *gamma, const f32 *beta, f32 varScale, f32 eps, f32 *coef) {
  for (int c = 0; c < C; c++) {
    f32 inv = 1.0f / __builtin_sqrtf(var[c] * varScale + eps);
    coef[c] = inv;
    coef[C + c] = gamma[c] * inv;
    coef[2 * C + c] = beta[c] - mean[c] * gamma[c] * inv;
  }
}

/* out = act(x_hat * gamma + beta) (+ res, when res is not null). Scratch: coef f32[3C]. */
void bnApply(const f32 *y, int rows, int C, const f32 *mean, const f32 *var, const f32 *gamma, const f32 *beta, const f32 *res, f32 varScale, f32 eps, int act, f32 *out, f32 *coef) {
  affine(C, mean, var, gamma, beta, varScale, eps, coef);
  const f32 *a = coef + C, *b = coef + 2 * C;
  int C4 = C & ~3;
  for (int r = 0; r < rows; r++) {
    long o = (long)r * C;
    int c = 0;
    for (; c < C4; c += 4) {
      v128_t z = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(y + o + c), wasm_v128_load(a + c)), wasm_v128_load(b + c));
      v128_t v = act4(z, act);
      if (res) v = wasm_f32x4_add(v, wasm_v128_load(res + o + c));
      wasm_v128_store(out + o + c, v);
    }
    for (; c < C; c++) {
      f32 v = act1(y[o + c] * a[c] + b[c], act);
      out[o + c] = res ? v + res[o + c] : v;
    }
  }
}

/* x_hat and g = dy * act'(z) of 4 channels from c, with z = y * a + b (the affine of affine()). */
static inline v128_t xHat4(v128_t yv, const f32 *mean, const f32 *inv, int c) {
  return wasm_f32x4_mul(wasm_f32x4_sub(yv, wasm_v128_load(mean + c)), wasm_v128_load(inv + c));
}

static inline v128_t g4(v128_t yv, v128_t dyv, const f32 *a, const f32 *b, int c, int act) {
  return actGrad4(wasm_f32x4_add(wasm_f32x4_mul(yv, wasm_v128_load(a + c)), wasm_v128_load(b + c)), dyv, act);
}

/*
 * Sums of the backward pass: with g = dy * act'(z), out[0..C) = sum g (= d beta), out[C..2C) = sum g * x_hat
 * (= d gamma). Scratch: coef f32[3C], acc f32[2C], sum f64[2C].
 */
void bnGradSums(const f32 *y, const f32 *dy, int rows, int C, const f32 *mean, const f32 *var, const f32 *gamma, const f32 *beta, f32 varScale, f32 eps, int act, f32 *out, f32 *coef, f32 *acc, f64 *sum) {
  affine(C, mean, var, gamma, beta, varScale, eps, coef);
  const f32 *inv = coef, *a = coef + C, *b = coef + 2 * C;
  int C4 = C & ~3;
  clearSums(acc, sum, 2 * C);
  for (int r0 = 0; r0 < rows; r0 += BLOCK) {
    int r1 = r0 + BLOCK < rows ? r0 + BLOCK : rows;
    if (C <= NARROW) {
      for (int c = 0; c < C4; c += 4) {
        v128_t sg0 = wasm_f32x4_splat(0.0f), sg1 = sg0, sx0 = sg0, sx1 = sg0;
#define GRAD_STEP(r, k) { long o = (long)(r) * C + c; v128_t yv = wasm_v128_load(y + o), g = g4(yv, wasm_v128_load(dy + o), a, b, c, act); \
    sg##k = wasm_f32x4_add(sg##k, g); sx##k = MADD(g, xHat4(yv, mean, inv, c), sx##k); }
        DOWN_COLUMN(r0, r1, GRAD_STEP)
#undef GRAD_STEP
        wasm_v128_store(acc + c, wasm_f32x4_add(wasm_v128_load(acc + c), wasm_f32x4_add(sg0, sg1)));
        wasm_v128_store(acc + C + c, wasm_f32x4_add(wasm_v128_load(acc + C + c), wasm_f32x4_add(sx0, sx1)));
      }
      for (int r = r0; r < r1; r++)
        for (int c = C4; c < C; c++) {
          long o = (long)r * C + c;
          f32 g = actGrad1(y[o] * a[c] + b[c], dy[o], act);
          acc[c] += g;
          acc[C + c] += g * (y[o] - mean[c]) * inv[c];
        }
      flush(acc, sum, 2 * C);
      continue;
    }
    for (int r = r0; r < r1; r++) {
      long o = (long)r * C;
      int c = 0;
      for (; c < C4; c += 4) {
        v128_t yv = wasm_v128_load(y + o + c);
        v128_t g = g4(yv, wasm_v128_load(dy + o + c), a, b, c, act);
        v128_t xh = xHat4(yv, mean, inv, c);
        wasm_v128_store(acc + c, wasm_f32x4_add(wasm_v128_load(acc + c), g));
        wasm_v128_store(acc + C + c, MADD(g, xh, wasm_v128_load(acc + C + c)));
      }
      for (; c < C; c++) {
        f32 g = actGrad1(y[o + c] * a[c] + b[c], dy[o + c], act);
        acc[c] += g;
        acc[C + c] += g * (y[o + c] - mean[c]) * inv[c];
      }
    }
    flush(acc, sum, 2 * C);
  }
  for (int c = 0; c < 2 * C; c++) out[c] = (f32)sum[c];
}

/* 6 * hardswish'(z) = relu6(z + 3) + z on 0 < z + 3 <= 6 (the 1/6 goes into the caller's coefficient). */
static inline v128_t hardswishGrad6(v128_t z) {
  v128_t z3 = wasm_f32x4_add(z, wasm_f32x4_splat(3.0f));
  v128_t r6 = wasm_f32x4_min(wasm_f32x4_max(z3, wasm_f32x4_splat(0.0f)), wasm_f32x4_splat(6.0f));
  v128_t inside = wasm_v128_and(wasm_f32x4_gt(z3, wasm_f32x4_splat(0.0f)), wasm_f32x4_le(z3, wasm_f32x4_splat(6.0f)));
  return wasm_f32x4_add(r6, wasm_v128_and(z, inside));
}

/*
 * The row loop of bnGradApply, inlined once per activation (no test of act in the loop):
 * dx = G * dy * act'(z) * k + P * (y - mean) + Q per channel, k = 6 for hardswish (its 1/6 is in G). (y - mean)
 * rather than y with the mean folded into Q: no cancellation where |mean| >> std.
 */
static inline __attribute__((always_inline)) void gradApplyRows(const f32 *y, const f32 *dy, int rows, int C, const f32 *mean, const f32 *a, const f32 *b, const f32 *G, const f32 *P, const f32 *Q, int act, f32 *dx) {
  int C4 = C & ~3;
  for (int r = 0; r < rows; r++) {
    long o = (long)r * C;
    int c = 0;
    for (; c < C4; c += 4) {
      v128_t yv = wasm_v128_load(y + o + c), d = wasm_v128_load(dy + o + c);
      v128_t z = MADD(yv, wasm_v128_load(a + c), wasm_v128_load(b + c));
      v128_t g = act == ACT_HARDSWISH ? wasm_f32x4_mul(d, hardswishGrad6(z)) : act == ACT_RELU ? wasm_v128_and(d, wasm_f32x4_gt(z, wasm_f32x4_splat(0.0f))) : d;
      v128_t centred = wasm_f32x4_sub(yv, wasm_v128_load(mean + c));
      wasm_v128_store(dx + o + c, MADD(g, wasm_v128_load(G + c), MADD(centred, wasm_v128_load(P + c), wasm_v128_load(Q + c))));
    }
    for (; c < C; c++) {
      f32 g = actGrad1(y[o + c] * a[c] + b[c], dy[o + c], act);
      dx[o + c] = g * G[c] * (act == ACT_HARDSWISH ? 6.0f : 1.0f) + (y[o + c] - mean[c]) * P[c] + Q[c];
    }
  }
}

/*
 * dx = (g - (x_hat * sumGX / rows + sumG / rows)) * gamma * inv, from the sums of bnGradSums (sums[0..C) = sum g,
 * sums[C..2C) = sum g * x_hat), with x_hat = (y - mean) * inv expanded into per-channel coefficients.
 * Scratch: coef f32[6C].
 */
void bnGradApply(const f32 *y, const f32 *dy, int rows, int C, const f32 *mean, const f32 *var, const f32 *gamma, const f32 *beta, const f32 *sums, f32 varScale, f32 eps, int act, f32 *dx, f32 *coef) {
  affine(C, mean, var, gamma, beta, varScale, eps, coef);
  const f32 *inv = coef, *a = coef + C, *b = coef + 2 * C;
  f32 *G = coef + 3 * C, *P = coef + 4 * C, *Q = coef + 5 * C;
  for (int c = 0; c < C; c++) {
    f32 gi = gamma[c] * inv[c], dBeta = sums[c] / (f32)rows, dGamma = sums[C + c] / (f32)rows;
    G[c] = act == ACT_HARDSWISH ? gi * (1.0f / 6.0f) : gi;
    P[c] = -gi * dGamma * inv[c];
    Q[c] = -gi * dBeta;
  }
  switch (act) {
    case ACT_LINEAR: gradApplyRows(y, dy, rows, C, mean, a, b, G, P, Q, ACT_LINEAR, dx); break;
    case ACT_RELU: gradApplyRows(y, dy, rows, C, mean, a, b, G, P, Q, ACT_RELU, dx); break;
    default: gradApplyRows(y, dy, rows, C, mean, a, b, G, P, Q, ACT_HARDSWISH, dx); break;
  }
}


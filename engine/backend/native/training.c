/*
 * Fused training kernels for the wasm backend, as WebAssembly SIMD (4 float lanes), over channels-last
 * tensors [rows, C] that live in tfjs-backend-wasm's own heap (this module imports that memory).
 *
 * Why native: a training step on wasm spends ~2 s a batch in the ~20 element-wise tfjs ops per BatchNorm +
 * activation (forward and backward), and 1 s in the depthwise filter gradient built from slices and
 * means. Here each is one or two passes over the data. JavaScript loops are ~25x slower per element than
 * SIMD code, so these cannot be written in TypeScript.
 *
 * Rules that let the module share tfjs' memory: no static data (no data segments to overwrite tfjs'
 * heap) and no stack (callers pass every scratch buffer); build.sh checks both in the output.
 * Formulas match the tfjs ops they replace (engine/models/fmn.ts batchNormTrain + the activations, and the
 * webgpu kernels in webgpuTrainingPrograms.ts): biased variance to normalise, relu'(0) = 0, hardswish'
 * through z * relu6(z + 3) / 6 with the relu6 mask 1 on 0 < z + 3 <= 6.
 */
#include <wasm_simd128.h>

typedef float f32;
typedef double f64;

/* act: 0 linear, 1 relu, 2 hardswish */
#define ACT_LINEAR 0
#define ACT_RELU 1
#define ACT_HARDSWISH 2

/* Rows summed in float before the partial sums go into the double accumulators. */
#define BLOCK 64

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

/* Add the float block sums acc[0..n) into the double totals sum[0..n) and clear them. */
static void flush(f32 *acc, f64 *sum, int n) {
  for (int c = 0; c < n; c++) {
    sum[c] += acc[c];
    acc[c] = 0.0f;
  }
}

/*
 * Per-channel sums of x (square = 0) or of (x - shift[c])^2 (square = 1) over rows of x [rows, C], into
 * out[C] (float). Scratch: acc f32[C], sum f64[C].
 */
static void channelSums(const f32 *x, int rows, int C, const f32 *shift, int square, f32 *out, f32 *acc, f64 *sum) {
  int C4 = C & ~3;
  for (int c = 0; c < C; c++) {
    acc[c] = 0.0f;
    sum[c] = 0.0;
  }
  for (int r0 = 0; r0 < rows; r0 += BLOCK) {
    int r1 = r0 + BLOCK < rows ? r0 + BLOCK : rows;
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
  for (int c = 0; c < 2 * C; c++) {
    acc[c] = 0.0f;
    sum[c] = 0.0;
  }
  for (int r0 = 0; r0 < rows; r0 += BLOCK) {
    int r1 = r0 + BLOCK < rows ? r0 + BLOCK : rows;
    for (int r = r0; r < r1; r++) {
      long o = (long)r * C;
      int c = 0;
      for (; c < C4; c += 4) {
        v128_t yv = wasm_v128_load(y + o + c);
        v128_t g = g4(yv, wasm_v128_load(dy + o + c), a, b, c, act);
        v128_t xh = xHat4(yv, mean, inv, c);
        wasm_v128_store(acc + c, wasm_f32x4_add(wasm_v128_load(acc + c), g));
        wasm_v128_store(acc + C + c, wasm_f32x4_add(wasm_v128_load(acc + C + c), wasm_f32x4_mul(g, xh)));
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

/*
 * dx = (g - (x_hat * sumGX / rows + sumG / rows)) * gamma * inv, from the sums of bnGradSums (sums[0..C) = sum g,
 * sums[C..2C) = sum g * x_hat). Scratch: coef f32[6C].
 */
void bnGradApply(const f32 *y, const f32 *dy, int rows, int C, const f32 *mean, const f32 *var, const f32 *gamma, const f32 *beta, const f32 *sums, f32 varScale, f32 eps, int act, f32 *dx, f32 *coef) {
  affine(C, mean, var, gamma, beta, varScale, eps, coef);
  const f32 *inv = coef, *a = coef + C, *b = coef + 2 * C;
  f32 *gi = coef + 3 * C, *dBeta = coef + 4 * C, *dGamma = coef + 5 * C;
  for (int c = 0; c < C; c++) {
    gi[c] = gamma[c] * inv[c];
    dBeta[c] = sums[c] / (f32)rows;
    dGamma[c] = sums[C + c] / (f32)rows;
  }
  int C4 = C & ~3;
  for (int r = 0; r < rows; r++) {
    long o = (long)r * C;
    int c = 0;
    for (; c < C4; c += 4) {
      v128_t yv = wasm_v128_load(y + o + c);
      v128_t g = g4(yv, wasm_v128_load(dy + o + c), a, b, c, act);
      v128_t xh = xHat4(yv, mean, inv, c);
      v128_t centred = wasm_f32x4_sub(g, wasm_f32x4_add(wasm_f32x4_mul(xh, wasm_v128_load(dGamma + c)), wasm_v128_load(dBeta + c)));
      wasm_v128_store(dx + o + c, wasm_f32x4_mul(centred, wasm_v128_load(gi + c)));
    }
    for (; c < C; c++) {
      f32 g = actGrad1(y[o + c] * a[c] + b[c], dy[o + c], act);
      f32 xh = (y[o + c] - mean[c]) * inv[c];
      dx[o + c] = (g - (xh * dGamma[c] + dBeta[c])) * gi[c];
    }
  }
}

/* y[c..C) of one output pixel: sum over taps (i, j) in [i0, i1) x [j0, j1) of x[ih, iw, c] * w[i, j, c] (scalar). */
static void depthwisePixelTail(const f32 *x, const f32 *w, int W, int C, int KW, int sw, int left, int ohBase, int ow, int i0, int i1, int j0, int j1, int c, f32 *y) {
  for (; c < C; c++) {
    f32 a = 0.0f;
    for (int i = i0; i < i1; i++)
      for (int j = j0; j < j1; j++) a += x[((long)(ohBase + i) * W + ow * sw + j - left) * C + c] * w[(i * KW + j) * C + c];
    y[c] = a;
  }
}

/*
 * Depthwise conv (channel multiplier 1): y[b, oh, ow, c] = sum over taps of x[b, oh * sh + i - top, ow * sw + j - left, c] *
 * w[i, j, c], x [B, H, W, C], w [KH, KW, C], y [B, OH, OW, C]. Taps that fall in the padding are skipped, not
 * multiplied by zero (the 5x5 convs of the last fmn blocks run on 2 or 1 rows with 2 rows of padding: 3/5
 * or 4/5 of their taps). Inside the row, 4 outputs at a time share each weight load.
 */
void depthwiseConv(const f32 *x, const f32 *w, int B, int H, int W, int C, int OH, int OW, int KH, int KW, int sh, int sw, int top, int left, f32 *y) {
  int C4 = C & ~3;
  /* ow whose taps all lie inside the row: ow * sw - left >= 0 and ow * sw - left + KW <= W */
  int owIn0 = (left + sw - 1) / sw, owIn1 = W - KW + left >= 0 ? (W - KW + left) / sw + 1 : 0;
  if (owIn1 > OW) owIn1 = OW;
  if (owIn0 > owIn1) owIn0 = owIn1;
  for (int b = 0; b < B; b++) {
    const f32 *xb = x + (long)b * H * W * C;
    for (int oh = 0; oh < OH; oh++) {
      int ohBase = oh * sh - top;
      int i0 = ohBase < 0 ? -ohBase : 0, i1 = H - ohBase < KH ? H - ohBase : KH;
      f32 *yRow = y + ((long)b * OH + oh) * OW * C;
      int ow = 0;
      while (ow < OW) {
        if (ow >= owIn0 && ow + 4 <= owIn1) {
          /* 4 interior outputs */
          int c = 0;
          for (; c < C4; c += 4) {
            v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
            for (int i = i0; i < i1; i++) {
              const f32 *xr = xb + ((long)(ohBase + i) * W + ow * sw - left) * C + c;
              const f32 *wr = w + i * KW * C + c;
              for (int j = 0; j < KW; j++) {
                v128_t wv = wasm_v128_load(wr + j * C);
                const f32 *xp = xr + (long)j * C;
                a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load(xp), wv));
                a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wasm_v128_load(xp + (long)sw * C), wv));
                a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load(xp + (long)2 * sw * C), wv));
                a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(wasm_v128_load(xp + (long)3 * sw * C), wv));
              }
            }
            f32 *yp = yRow + (long)ow * C + c;
            wasm_v128_store(yp, a0);
            wasm_v128_store(yp + C, a1);
            wasm_v128_store(yp + 2 * C, a2);
            wasm_v128_store(yp + 3 * C, a3);
          }
          for (int k = 0; k < 4; k++) depthwisePixelTail(xb, w, W, C, KW, sw, left, ohBase, ow + k, i0, i1, 0, KW, C4, yRow + (long)(ow + k) * C);
          ow += 4;
        } else {
          /* one output, only the taps inside the row */
          int base = ow * sw - left;
          int j0 = base < 0 ? -base : 0, j1 = W - base < KW ? W - base : KW;
          int c = 0;
          for (; c < C4; c += 4) {
            v128_t a = wasm_f32x4_splat(0.0f);
            for (int i = i0; i < i1; i++)
              for (int j = j0; j < j1; j++)
                a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(xb + ((long)(ohBase + i) * W + base + j) * C + c), wasm_v128_load(w + (i * KW + j) * C + c)));
            wasm_v128_store(yRow + (long)ow * C + c, a);
          }
          depthwisePixelTail(xb, w, W, C, KW, sw, left, ohBase, ow, i0, i1, j0, j1, C4, yRow + (long)ow * C);
          ow += 1;
        }
      }
    }
  }
}

/*
 * Input gradient of depthwiseConv: dx[b, ih, iw, c] = sum over taps (i, j) with ih = oh * sh + i - top and
 * iw = ow * sw + j - left of dy[b, oh, ow, c] * w[i, j, c]. Only the taps that land on an output are visited
 * (with stride 2, 3/4 of the taps of a zero-dilated dy would multiply zeros).
 */
void depthwiseInputGrad(const f32 *dy, const f32 *w, int B, int H, int W, int C, int OH, int OW, int KH, int KW, int sh, int sw, int top, int left, f32 *dx) {
  int C4 = C & ~3;
  for (int b = 0; b < B; b++) {
    const f32 *dyb = dy + (long)b * OH * OW * C;
    for (int ih = 0; ih < H; ih++) {
      f32 *dxRow = dx + ((long)b * H + ih) * W * C;
      for (int iw = 0; iw < W; iw++) {
        f32 *out = dxRow + (long)iw * C;
        int c = 0;
        for (; c < C4; c += 4) {
          v128_t a = wasm_f32x4_splat(0.0f);
          for (int i = (ih + top) % sh; i < KH; i += sh) {
            int oh = (ih + top - i) / sh;
            if (ih + top - i < 0 || oh >= OH) continue;
            for (int j = (iw + left) % sw; j < KW; j += sw) {
              int ow = (iw + left - j) / sw;
              if (iw + left - j < 0 || ow >= OW) continue;
              a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(dyb + ((long)oh * OW + ow) * C + c), wasm_v128_load(w + (i * KW + j) * C + c)));
            }
          }
          wasm_v128_store(out + c, a);
        }
        for (; c < C; c++) {
          f32 a = 0.0f;
          for (int i = (ih + top) % sh; i < KH; i += sh) {
            int oh = (ih + top - i) / sh;
            if (ih + top - i < 0 || oh >= OH) continue;
            for (int j = (iw + left) % sw; j < KW; j += sw) {
              int ow = (iw + left - j) / sw;
              if (iw + left - j < 0 || ow >= OW) continue;
              a += dyb[((long)oh * OW + ow) * C + c] * w[(i * KW + j) * C + c];
            }
          }
          out[c] = a;
        }
      }
    }
  }
}

/* dw[ci * Co + co] += sum over rows r0..r1 of x[r, ci] * dy[r, co], scalar (the channel edges of the tiles). */
static void pointwiseEdge(const f32 *x, const f32 *dy, int r0, int r1, int Ci, int Co, int ci0, int ci1, int co0, int co1, f64 *sum) {
  for (int ci = ci0; ci < ci1; ci++) {
    for (int co = co0; co < co1; co++) {
      f32 a = 0.0f;
      for (int r = r0; r < r1; r++) a += x[(long)r * Ci + ci] * dy[(long)r * Co + co];
      sum[ci * Co + co] += a;
    }
  }
}

#define ADD_LANES(acc, row, col)                                    \
  do {                                                           \
    f64 *s_ = sum + (row) * Co + (col);                          \
    s_[0] += wasm_f32x4_extract_lane(acc, 0);                    \
    s_[1] += wasm_f32x4_extract_lane(acc, 1);                    \
    s_[2] += wasm_f32x4_extract_lane(acc, 2);                    \
    s_[3] += wasm_f32x4_extract_lane(acc, 3);                    \
  } while (0)

/*
 * 1x1 conv filter gradient dw[ci, co] = sum over rows r of x[r, ci] * dy[r, co], x [rows, Ci] and dy [rows, Co]
 * row-major as the activations are (no transposes): tiles of 4 input x 8 output channels kept in 8 vector
 * registers while the rows stream by. For few channels and many rows (the early fmn blocks) this beats a
 * transpose + GEMM; tfjs' GEMM stays the faster one for wide layers. Blocks of BLOCK rows are summed in
 * float, then into the double totals. Scratch: sum f64[Ci * Co].
 */
void pointwiseFilterGrad(const f32 *x, const f32 *dy, int rows, int Ci, int Co, f32 *dw, f64 *sum) {
  int Ci4 = Ci & ~3, Co8 = Co & ~7;
  for (int k = 0; k < Ci * Co; k++) sum[k] = 0.0;
  for (int r0 = 0; r0 < rows; r0 += 4 * BLOCK) {
    int r1 = r0 + 4 * BLOCK < rows ? r0 + 4 * BLOCK : rows;
    for (int ci = 0; ci < Ci4; ci += 4) {
      for (int co = 0; co < Co8; co += 8) {
        v128_t a00 = wasm_f32x4_splat(0.0f), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        for (int r = r0; r < r1; r++) {
          const f32 *xr = x + (long)r * Ci + ci;
          const f32 *dr = dy + (long)r * Co + co;
          v128_t d0 = wasm_v128_load(dr), d1 = wasm_v128_load(dr + 4);
          v128_t x0 = wasm_f32x4_splat(xr[0]), x1 = wasm_f32x4_splat(xr[1]), x2 = wasm_f32x4_splat(xr[2]), x3 = wasm_f32x4_splat(xr[3]);
          a00 = wasm_f32x4_add(a00, wasm_f32x4_mul(x0, d0));
          a01 = wasm_f32x4_add(a01, wasm_f32x4_mul(x0, d1));
          a10 = wasm_f32x4_add(a10, wasm_f32x4_mul(x1, d0));
          a11 = wasm_f32x4_add(a11, wasm_f32x4_mul(x1, d1));
          a20 = wasm_f32x4_add(a20, wasm_f32x4_mul(x2, d0));
          a21 = wasm_f32x4_add(a21, wasm_f32x4_mul(x2, d1));
          a30 = wasm_f32x4_add(a30, wasm_f32x4_mul(x3, d0));
          a31 = wasm_f32x4_add(a31, wasm_f32x4_mul(x3, d1));
        }
        ADD_LANES(a00, ci, co);
        ADD_LANES(a01, ci, co + 4);
        ADD_LANES(a10, ci + 1, co);
        ADD_LANES(a11, ci + 1, co + 4);
        ADD_LANES(a20, ci + 2, co);
        ADD_LANES(a21, ci + 2, co + 4);
        ADD_LANES(a30, ci + 3, co);
        ADD_LANES(a31, ci + 3, co + 4);
      }
    }
    pointwiseEdge(x, dy, r0, r1, Ci, Co, Ci4, Ci, 0, Co, sum);
    pointwiseEdge(x, dy, r0, r1, Ci, Co, 0, Ci4, Co8, Co, sum);
  }
  for (int k = 0; k < Ci * Co; k++) dw[k] = (f32)sum[k];
}

/*
 * Conv filter gradients, the taps in the padding skipped: dw[i, j, ci, co] = sum over b, oh, ow of
 * x[b, oh * sh + i - top, ow * sw + j - left, ci] * dy[b, oh, ow, co], x [B, H, W, Ci], dy [B, OH, OW, Co],
 * dw [KH, KW, Ci, Co]; depthwise (channel multiplier 1): only ci = co, dw [KH, KW, Co]. Each output row's
 * products are summed in float (acc), then added into the double totals.
 */
static void filterGrad(const f32 *x, const f32 *dy, int B, int H, int W, int Ci, int OH, int OW, int Co, int KH, int KW, int sh, int sw, int top, int left, int depthwise, f32 *dw, f32 *acc, f64 *sum) {
  int perTap = depthwise ? Co : Ci * Co;
  int K = KH * KW * perTap;
  int Co4 = Co & ~3;
  for (int k = 0; k < K; k++) {
    acc[k] = 0.0f;
    sum[k] = 0.0;
  }
  for (int b = 0; b < B; b++) {
    for (int oh = 0; oh < OH; oh++) {
      const f32 *dyRow = dy + ((long)b * OH + oh) * OW * Co;
      for (int i = 0; i < KH; i++) {
        int ih = oh * sh + i - top;
        if (ih < 0 || ih >= H) continue;
        const f32 *xRow = x + ((long)b * H + ih) * W * Ci;
        for (int j = 0; j < KW; j++) {
          /* ow with 0 <= ow * sw + j - left < W */
          int owFirst = left - j > 0 ? (left - j + sw - 1) / sw : 0;
          int owLast = (W - 1 + left - j) / sw + 1;
          if (owLast > OW) owLast = OW;
          f32 *t = acc + (i * KW + j) * perTap;
          for (int ow = owFirst; ow < owLast; ow++) {
            const f32 *xp = xRow + (long)(ow * sw + j - left) * Ci;
            const f32 *dp = dyRow + (long)ow * Co;
            if (depthwise) {
              int c = 0;
              for (; c < Co4; c += 4) wasm_v128_store(t + c, wasm_f32x4_add(wasm_v128_load(t + c), wasm_f32x4_mul(wasm_v128_load(xp + c), wasm_v128_load(dp + c))));
              for (; c < Co; c++) t[c] += xp[c] * dp[c];
            } else {
              for (int ci = 0; ci < Ci; ci++) {
                v128_t xv = wasm_f32x4_splat(xp[ci]);
                f32 *tc = t + ci * Co;
                for (int co = 0; co < Co4; co += 4) wasm_v128_store(tc + co, wasm_f32x4_add(wasm_v128_load(tc + co), wasm_f32x4_mul(xv, wasm_v128_load(dp + co))));
                for (int co = Co4; co < Co; co++) tc[co] += xp[ci] * dp[co];
              }
            }
          }
        }
      }
      flush(acc, sum, K);
    }
  }
  for (int k = 0; k < K; k++) dw[k] = (f32)sum[k];
}

/* Depthwise conv filter gradient, dw [KH, KW, C]. Scratch: acc f32[KH * KW * C], sum f64[KH * KW * C]. */
void depthwiseFilterGrad(const f32 *x, const f32 *dy, int B, int H, int W, int C, int OH, int OW, int KH, int KW, int sh, int sw, int top, int left, f32 *dw, f32 *acc, f64 *sum) {
  filterGrad(x, dy, B, H, W, C, OH, OW, C, KH, KW, sh, sw, top, left, 1, dw, acc, sum);
}

/*
 * Conv filter gradient for small filters (the stem: 3x3, 1 -> 8 channels, stride 2), dw [KH, KW, Ci, Co].
 * Scratch: acc f32[KH * KW * Ci * Co], sum f64[KH * KW * Ci * Co].
 */
void convFilterGrad(const f32 *x, const f32 *dy, int B, int H, int W, int Ci, int OH, int OW, int Co, int KH, int KW, int sh, int sw, int top, int left, f32 *dw, f32 *acc, f64 *sum) {
  filterGrad(x, dy, B, H, W, Ci, OH, OW, Co, KH, KW, sh, sw, top, left, 0, dw, acc, sum);
}

/*
 * Inverted dropout mask: out[i] = scale when the PCG hash of (pcg(i) ^ seed), top 24 bits as [0, 1), is at
 * least rate, else 0 (the same stream as the webgpu kernel and dropoutMask.ts).
 */
static inline unsigned pcg(unsigned v) {
  unsigned state = v * 747796405u + 2891336453u;
  unsigned word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

static inline v128_t pcg4(v128_t v) {
  v128_t state = wasm_i32x4_add(wasm_i32x4_mul(v, wasm_i32x4_splat(747796405)), wasm_i32x4_splat((int)2891336453u));
  v128_t shift = wasm_u32x4_shr(state, 28);
  /* per-lane variable shift (state >> (state >> 28) + 4): no SIMD instruction for it, so lane by lane */
  v128_t shifted = wasm_i32x4_make((int)((unsigned)wasm_i32x4_extract_lane(state, 0) >> ((unsigned)wasm_i32x4_extract_lane(shift, 0) + 4u)),
                                   (int)((unsigned)wasm_i32x4_extract_lane(state, 1) >> ((unsigned)wasm_i32x4_extract_lane(shift, 1) + 4u)),
                                   (int)((unsigned)wasm_i32x4_extract_lane(state, 2) >> ((unsigned)wasm_i32x4_extract_lane(shift, 2) + 4u)),
                                   (int)((unsigned)wasm_i32x4_extract_lane(state, 3) >> ((unsigned)wasm_i32x4_extract_lane(shift, 3) + 4u)));
  v128_t word = wasm_i32x4_mul(wasm_v128_xor(shifted, state), wasm_i32x4_splat(277803737));
  return wasm_v128_xor(wasm_u32x4_shr(word, 22), word);
}

void dropoutMask(f32 *out, int n, unsigned seed, f32 rate, f32 scale) {
  int n4 = n & ~3;
  v128_t index = wasm_i32x4_make(0, 1, 2, 3);
  for (int i = 0; i < n4; i += 4) {
    v128_t h = pcg4(wasm_v128_xor(pcg4(index), wasm_i32x4_splat((int)seed)));
    v128_t u = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(wasm_u32x4_shr(h, 8)), wasm_f32x4_splat(1.0f / 16777216.0f));
    wasm_v128_store(out + i, wasm_v128_and(wasm_f32x4_splat(scale), wasm_f32x4_ge(u, wasm_f32x4_splat(rate))));
    index = wasm_i32x4_add(index, wasm_i32x4_splat(4));
  }
  for (int i = n4; i < n; i++) out[i] = (f32)(pcg(pcg((unsigned)i) ^ seed) >> 8) * (1.0f / 16777216.0f) >= rate ? scale : 0.0f;
}

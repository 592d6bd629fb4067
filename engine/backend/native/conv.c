/*
 * Convolution kernels of the wasm backend's training (and inference) path, as WebAssembly SIMD over
 * channels-last tensors in tfjs-backend-wasm's heap (engine/backend/wasmTraining.ts decides when they run):
 * depthwise convs that skip padded taps and their input gradients, and the filter gradients (depthwise,
 * 1x1, small k x k) without im2col or transposes.
 */
#include "common.h"

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
                a0 = MADD(wasm_v128_load(xp), wv, a0);
                a1 = MADD(wasm_v128_load(xp + (long)sw * C), wv, a1);
                a2 = MADD(wasm_v128_load(xp + (long)2 * sw * C), wv, a2);
                a3 = MADD(wasm_v128_load(xp + (long)3 * sw * C), wv, a3);
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
                a = MADD(wasm_v128_load(xb + ((long)(ohBase + i) * W + base + j) * C + c), wasm_v128_load(w + (i * KW + j) * C + c), a);
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
        for (int c = 0; c < C; c++) out[c] = 0.0f;
        for (int i = (ih + top) % sh; i < KH; i += sh) {
          int oh = (ih + top - i) / sh;
          if (ih + top - i < 0 || oh >= OH) continue;
          for (int j = (iw + left) % sw; j < KW; j += sw) {
            int ow = (iw + left - j) / sw;
            if (iw + left - j < 0 || ow >= OW) continue;
            const f32 *d = dyb + ((long)oh * OW + ow) * C, *wt = w + (i * KW + j) * C;
            int c = 0;
            for (; c < C4; c += 4) wasm_v128_store(out + c, MADD(wasm_v128_load(d + c), wasm_v128_load(wt + c), wasm_v128_load(out + c)));
            for (; c < C; c++) out[c] += d[c] * wt[c];
          }
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
          a00 = MADD(x0, d0, a00);
          a01 = MADD(x0, d1, a01);
          a10 = MADD(x1, d0, a10);
          a11 = MADD(x1, d1, a11);
          a20 = MADD(x2, d0, a20);
          a21 = MADD(x2, d1, a21);
          a30 = MADD(x3, d0, a30);
          a31 = MADD(x3, d1, a31);
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
 * sum over k < n of x[k * xs] * d[k * ds] for 4 lanes (x read as 4 lanes, or one value splat when xSplat), in
 * registers: 4 accumulators, so that the sum is not one chain through memory per product.
 */
static inline __attribute__((always_inline)) v128_t dotRun(const f32 *x, long xs, int xSplat, const f32 *d, long ds, int n) {
  v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
#define X(k) (xSplat ? wasm_v128_load32_splat(x + (k) * xs) : wasm_v128_load(x + (k) * xs))
  int k = 0;
  for (; k + 4 <= n; k += 4) {
    a0 = MADD(X(k), wasm_v128_load(d + k * ds), a0);
    a1 = MADD(X(k + 1), wasm_v128_load(d + (k + 1) * ds), a1);
    a2 = MADD(X(k + 2), wasm_v128_load(d + (k + 2) * ds), a2);
    a3 = MADD(X(k + 3), wasm_v128_load(d + (k + 3) * ds), a3);
  }
  for (; k < n; k++) a0 = MADD(X(k), wasm_v128_load(d + k * ds), a0);
#undef X
  return wasm_f32x4_add(wasm_f32x4_add(a0, a1), wasm_f32x4_add(a2, a3));
}

/* t[0..16) += sum over k < n of x[k * xs + 0..16) * d[k * ds + 0..16): 16 channels, one accumulator each 4. */
static inline void dotRun16(f32 *t, const f32 *x, long xs, const f32 *d, long ds, int n) {
  v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
  for (int k = 0; k < n; k++) {
    const f32 *xk = x + k * xs, *dk = d + k * ds;
    a0 = MADD(wasm_v128_load(xk), wasm_v128_load(dk), a0);
    a1 = MADD(wasm_v128_load(xk + 4), wasm_v128_load(dk + 4), a1);
    a2 = MADD(wasm_v128_load(xk + 8), wasm_v128_load(dk + 8), a2);
    a3 = MADD(wasm_v128_load(xk + 12), wasm_v128_load(dk + 12), a3);
  }
  wasm_v128_store(t, wasm_f32x4_add(wasm_v128_load(t), a0));
  wasm_v128_store(t + 4, wasm_f32x4_add(wasm_v128_load(t + 4), a1));
  wasm_v128_store(t + 8, wasm_f32x4_add(wasm_v128_load(t + 8), a2));
  wasm_v128_store(t + 12, wasm_f32x4_add(wasm_v128_load(t + 12), a3));
}

/* The same for one lane. */
static inline f32 dotRun1(const f32 *x, long xs, const f32 *d, long ds, int n) {
  f32 a = 0.0f;
  for (int k = 0; k < n; k++) a += x[k * xs] * d[k * ds];
  return a;
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
  clearSums(acc, sum, K);
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
          int n = owLast - owFirst;
          if (n <= 0) continue;
          const f32 *x0 = xRow + (long)(owFirst * sw + j - left) * Ci;
          const f32 *d0 = dyRow + (long)owFirst * Co;
          long xs = (long)sw * Ci;
          if (depthwise) {
            int c = 0;
            /* wide rows: 16 channels a pass (whole cache lines); narrow ones: 4 accumulators along the row */
            for (; c + 16 <= Co4 && Co >= 32; c += 16) dotRun16(t + c, x0 + c, xs, d0 + c, Co, n);
            for (; c < Co4; c += 4) wasm_v128_store(t + c, wasm_f32x4_add(wasm_v128_load(t + c), dotRun(x0 + c, xs, 0, d0 + c, Co, n)));
            for (; c < Co; c++) t[c] += dotRun1(x0 + c, xs, d0 + c, Co, n);
          } else {
            for (int ci = 0; ci < Ci; ci++) {
              f32 *tc = t + ci * Co;
              int co = 0;
              for (; co < Co4; co += 4) wasm_v128_store(tc + co, wasm_f32x4_add(wasm_v128_load(tc + co), dotRun(x0 + ci, xs, 1, d0 + co, Co, n)));
              for (; co < Co; co++) tc[co] += dotRun1(x0 + ci, xs, d0 + co, Co, n);
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
void convFilterGrad(const f32 *x, const f32 *dy, int B, int H, int W, int Ci, int OH, int OW, int KH, int KW, int sh, int sw, int top, int left, int Co, f32 *dw, f32 *acc, f64 *sum) {
  filterGrad(x, dy, B, H, W, Ci, OH, OW, Co, KH, KW, sh, sw, top, left, 0, dw, acc, sum);
}


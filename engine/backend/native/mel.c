/*
 * Mel power spectra of the log-mel frontend (engine/frontend/mel.ts) for the wasm backend: a 512-point FFT of
 * each 400-sample window instead of two [200, 256] DFT matmuls (~20x fewer multiplies), and a sparse mel
 * projection (each mel row is one short run of bins). In double precision, 2 frames in the 2 SIMD lanes: a
 * float32 FFT's rounding (~eps * log2(512) of the frame's peak) reaches the quiet bins near the log floor
 * beyond the parity tolerance with the upstream frontend. No static data (the tables come from the caller), no
 * stack (common.h).
 */
#include "common.h"

#define N_FFT 512
#define BINS 256 /* bins used: the Nyquist bin carries mel weight 0 */

/*
 * mel[f, m] = sum over k in [first[m], first[m] + count[m]) of |X_f[k]|^2 * weights[...] (row m's run, rows packed in
 * order), with X_f the 512-point DFT of window[n] * frames[f, n], n < winLength (zeros after; |X|^2 does not
 * depend on where the window sits in the 512-sample frame). frames [nFrames, winLength], out [nFrames, nMels].
 * Tables: cosT, sinT f64[256] = cos, sin(2 pi j / 512); bitrev i32[512]. Scratch: work v128[2 * 512 + 256].
 */
void melPower(const f32 *frames, int nFrames, int winLength, const f32 *window, const f64 *cosT, const f64 *sinT, const int *bitrev, int nMels,
              const int *first, const int *count, const f32 *weights, f32 *out, v128_t *work) {
  v128_t *re = work, *im = work + N_FFT, *power = work + 2 * N_FFT;
  for (int f0 = 0; f0 < nFrames; f0 += 2) {
    /* a lane past the last frame repeats it; its result is not stored */
    const f32 *p0 = frames + (long)f0 * winLength;
    const f32 *p1 = frames + (long)(f0 + 1 < nFrames ? f0 + 1 : f0) * winLength;
    for (int n = 0; n < N_FFT; n++) {
      re[n] = wasm_f64x2_splat(0.0);
      im[n] = wasm_f64x2_splat(0.0);
    }
    for (int n = 0; n < winLength; n++) re[bitrev[n]] = wasm_f64x2_mul(wasm_f64x2_make(p0[n], p1[n]), wasm_f64x2_splat(window[n]));
    /* iterative radix-2 decimation in time; twiddle e^(-2 pi i j / len) = cos - i sin */
    for (int len = 2; len <= N_FFT; len <<= 1) {
      int half = len >> 1, step = N_FFT / len;
      for (int j = 0; j < half; j++) {
        v128_t wr = wasm_f64x2_splat(cosT[j * step]), wi = wasm_f64x2_splat(-sinT[j * step]);
        for (int a = j; a < N_FFT; a += len) {
          int b = a + half;
          v128_t tr = wasm_f64x2_sub(wasm_f64x2_mul(re[b], wr), wasm_f64x2_mul(im[b], wi));
          v128_t ti = wasm_f64x2_add(wasm_f64x2_mul(re[b], wi), wasm_f64x2_mul(im[b], wr));
          re[b] = wasm_f64x2_sub(re[a], tr);
          im[b] = wasm_f64x2_sub(im[a], ti);
          re[a] = wasm_f64x2_add(re[a], tr);
          im[a] = wasm_f64x2_add(im[a], ti);
        }
      }
    }
    for (int k = 0; k < BINS; k++) power[k] = wasm_f64x2_add(wasm_f64x2_mul(re[k], re[k]), wasm_f64x2_mul(im[k], im[k]));
    const f32 *w = weights;
    for (int m = 0; m < nMels; m++) {
      v128_t acc = wasm_f64x2_splat(0.0);
      for (int t = 0; t < count[m]; t++) acc = wasm_f64x2_add(acc, wasm_f64x2_mul(power[first[m] + t], wasm_f64x2_splat(w[t])));
      w += count[m];
      f32 *o = out + (long)f0 * nMels + m;
      o[0] = (f32)wasm_f64x2_extract_lane(acc, 0);
      if (f0 + 1 < nFrames) o[nMels] = (f32)wasm_f64x2_extract_lane(acc, 1);
    }
  }
}

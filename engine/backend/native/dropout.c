/*
 * Dropout masks straight into tfjs-backend-wasm's heap (engine/backend/dropoutMask.ts), with the PCG hash
 * stream of the webgpu kernel.
 */
#include "common.h"

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

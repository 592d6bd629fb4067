/**
 * Perceptually uniform colormaps as 256-entry RGBA lookup tables packed in Uint32 (little-endian
 * ABGR, the byte order of ImageData), so painting a quantised uint8 image is one table lookup per
 * pixel. The tables come from Matt Zucker's 6th-order polynomial fits of matplotlib's viridis and
 * magma (max error about 1/255 per channel), which avoids shipping the 2×768 reference values.
 */
export type ColormapName = 'viridis' | 'magma';
export const COLORMAPS: readonly ColormapName[] = ['viridis', 'magma'];

type Vec3 = [number, number, number];
const COEFFS: Record<ColormapName, Vec3[]> = {
  viridis: [
    [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
    [0.1050930431085774, 1.404613529898575, 1.384590162594685],
    [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
    [-4.634230498983486, -5.799100973351585, -19.33244095627987],
    [6.228269936347081, 14.17993336680509, 56.69055260068105],
    [4.776384997670288, -13.74514537774601, -65.35303263337234],
    [-5.435455855934631, 4.645852612178535, 26.3124352495832],
  ],
  magma: [
    [-0.002136485053939582, -0.000749655052795221, -0.005386127855323933],
    [0.2516605407371642, 0.6775232436837668, 2.494026599312351],
    [8.353717279216625, -3.577719514958484, 0.3144679030132573],
    [-27.66873308576866, 14.26473078096533, -13.64921318813922],
    [52.17613981234068, -27.94360607168351, 12.94416944238394],
    [-50.76852536473588, 29.04658282127291, 4.23415299384598],
    [18.65570506591883, -11.48977351997711, -5.601961508734096],
  ],
};

const cache = new Map<ColormapName, { rgb: Uint8Array; packed: Uint32Array }>();

function build(name: ColormapName) {
  const c = COEFFS[name];
  const rgb = new Uint8Array(256 * 3);
  const packed = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    const px: number[] = [];
    for (let ch = 0; ch < 3; ch++) {
      let v = c[6][ch];
      for (let k = 5; k >= 0; k--) v = v * t + c[k][ch];
      px.push(Math.round(Math.min(1, Math.max(0, v)) * 255));
    }
    rgb.set(px, i * 3);
    packed[i] = (255 << 24 | px[2] << 16 | px[1] << 8 | px[0]) >>> 0;
  }
  return { rgb, packed };
}

function table(name: ColormapName) {
  if (!COEFFS[name]) throw new Error(`unknown colormap '${name}' (valid: ${COLORMAPS.join(', ')})`);
  let t = cache.get(name);
  if (!t) cache.set(name, (t = build(name)));
  return t;
}

/** 256 packed RGBA pixels (for a Uint32Array view over ImageData.data). */
export function colormapLut(name: ColormapName): Uint32Array {
  return table(name).packed;
}

/** The colour of level `v` in [0, 1] as a CSS `rgb()` string. */
export function colormapCss(name: ColormapName, v: number): string {
  const i = Math.round(Math.min(1, Math.max(0, v)) * 255) * 3;
  const rgb = table(name).rgb;
  return `rgb(${rgb[i]}, ${rgb[i + 1]}, ${rgb[i + 2]})`;
}

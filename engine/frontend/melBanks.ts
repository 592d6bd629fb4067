/**
 * Constant matrices of the log-mel frontend (MODEL_SPEC §1), built once on the host:
 * the Kaldi-style mel filterbank and the windowed DFT basis.
 */

/** Frontend constants of the reference (`AugmentMelSTFT` as configured by `FrameMNWrapper`). */
export const MEL = {
  sampleRate: 16000,
  nFft: 512,
  winLength: 400,
  hop: 160,
  nMels: 128,
  fminHz: 0,
  /** sr/2 − fmax_aug_range/2 = 8000 − 1000. */
  fmaxHz: 7000,
  preemphasis: 0.97,
  logFloor: 1e-7,
  normShift: 4.5,
  normScale: 5,
} as const;

const f32 = Math.fround;

/** HTK mel with natural log, as torchaudio's `mel_scale_scalar` (float64). */
function melScale(hz: number): number {
  return 1127.0 * Math.log(1.0 + hz / 700.0);
}

/**
 * torchaudio.compliance.kaldi.get_mel_banks(numBins, nFft, sampleRate, fmin, fmax, vtln 100/−500,
 * warp 1.0) followed by the zero Nyquist column upstream appends: returns row-major
 * [numBins, nFft/2 + 1]. Triangles are built in the mel domain with float32 arithmetic in the same
 * order as torchaudio, so the weights match its tensor bit for bit up to libm rounding.
 */
export function kaldiMelBanks(
  numBins: number = MEL.nMels,
  nFft: number = MEL.nFft,
  sampleRate: number = MEL.sampleRate,
  fminHz: number = MEL.fminHz,
  fmaxHz: number = MEL.fmaxHz,
): Float32Array {
  if (!(numBins > 3)) throw new Error(`kaldiMelBanks: numBins must be > 3, got ${numBins}`);
  if (nFft % 2 !== 0) throw new Error(`kaldiMelBanks: nFft must be even, got ${nFft}`);
  const nyquist = 0.5 * sampleRate;
  const high = fmaxHz <= 0 ? fmaxHz + nyquist : fmaxHz;
  if (!(fminHz >= 0 && fminHz < nyquist && high > fminHz && high <= nyquist)) {
    throw new Error(`kaldiMelBanks: need 0 <= fmin < fmax <= ${nyquist} Hz, got fmin ${fminHz} Hz, fmax ${fmaxHz} Hz`);
  }
  const numFftBins = nFft / 2;
  const binWidth = sampleRate / nFft;
  const melLow = melScale(fminHz);
  const delta = f32((melScale(high) - melLow) / (numBins + 1));
  const low32 = f32(melLow);
  const fftMel = new Float32Array(numFftBins);
  for (let k = 0; k < numFftBins; k++) {
    const hz = f32(binWidth * k);
    fftMel[k] = f32(1127.0 * f32(Math.log(f32(1.0 + f32(hz / 700.0)))));
  }
  const cols = numFftBins + 1;
  const out = new Float32Array(numBins * cols); // last column stays 0 (Nyquist bin)
  for (let m = 0; m < numBins; m++) {
    const left = f32(low32 + f32(m * delta));
    const center = f32(low32 + f32((m + 1) * delta));
    const right = f32(low32 + f32((m + 2) * delta));
    const upDen = f32(center - left);
    const downDen = f32(right - center);
    for (let k = 0; k < numFftBins; k++) {
      const up = f32(f32(fftMel[k] - left) / upDen);
      const down = f32(f32(right - fftMel[k]) / downDen);
      out[m * cols + k] = Math.max(0, Math.min(up, down));
    }
  }
  return out;
}

/** torch.hann_window(n, periodic=False): 0.5 − 0.5·cos(2πi/(n−1)). */
export function symmetricHann(n: number): Float32Array {
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
  return w;
}

/**
 * Half-window DFT bases for the 400 window taps folded about their centre: the window sits centred in
 * the 512-point frame (offset 56, centre 255.5), so with u = n − 199.5 a bin's DFT is a phase factor
 * times Σ x[n]·w[n]·e^(−iθu), θ = 2πk/512, whose magnitude the phase leaves alone. w and cos are even
 * in u and sin is odd, so |X_k|² = (Σ_{n<200} (x[n] + x[399−n])·c[n,k])² + (Σ_{n<200} (x[n] − x[399−n])·s[n,k])²
 * with c = w·cos(θu), s = w·sin(θu): two [200, 256] bases instead of one [400, 512], half the multiplies.
 * Returns row-major [winLength/2, bins] each. `bins` = 256: bin 256 (Nyquist) always has mel weight 0.
 */
export function foldedDftBases(winLength: number = MEL.winLength, nFft: number = MEL.nFft, bins: number = nFft / 2): { cos: Float32Array; sin: Float32Array } {
  if (winLength % 2 !== 0 || (nFft - winLength) % 2 !== 0) throw new Error(`foldedDftBases: window ${winLength} must be even and centred in ${nFft}`);
  const w = symmetricHann(winLength);
  const half = winLength / 2;
  const cos = new Float32Array(half * bins);
  const sin = new Float32Array(half * bins);
  for (let n = 0; n < half; n++) {
    for (let k = 0; k < bins; k++) {
      // θu = 2πk(2n − winLength + 1)/(2·nFft): reduce the integer numerator modulo 2·nFft so the angle is exact.
      const num = (((k * (2 * n - winLength + 1)) % (2 * nFft)) + 2 * nFft) % (2 * nFft);
      const phase = (Math.PI * num) / nFft;
      cos[n * bins + k] = w[n] * Math.cos(phase);
      sin[n * bins + k] = w[n] * Math.sin(phase);
    }
  }
  return { cos, sin };
}

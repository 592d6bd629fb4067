/**
 * Streaming sample-rate conversion with libsamplerate (via @alexanderolsen/libsamplerate-js, wasm),
 * converter SRC_SINC_BEST_QUALITY: flat to 96 % of the output Nyquist (a 7 kHz tone at 16 kHz keeps
 * its amplitude to 1e-5, which the 7 kHz-wide mel frontend needs; the medium/fast converters
 * attenuate it by 3 % / 80 %) and about 1e-7 error on a pure tone.
 *
 * libsamplerate's `full` API keeps filter state between calls and has no output delay, so feeding a
 * file block by block gives the same samples as converting it in one go. It holds back the last few
 * outputs until it sees more input; `finish()` supplies zeros for that and trims the total to
 * ceil(inputFrames · outRate / inRate), the length librosa/soxr and torchaudio produce.
 */
import { ConverterType, create } from '@alexanderolsen/libsamplerate-js';

/** Input samples handed to the converter per call (bounded so the wasm transfer buffers stay small). */
const MAX_BLOCK = 16384;

interface Converter {
  full(dataIn: Float32Array): Float32Array;
  destroy(): void;
}

export class StreamingResampler {
  private inFrames = 0;
  private outFrames = 0;

  private constructor(
    readonly inRate: number,
    readonly outRate: number,
    private readonly converter: Converter | undefined,
  ) {}

  static async create(inRate: number, outRate: number): Promise<StreamingResampler> {
    if (!(inRate > 0 && outRate > 0)) throw new Error(`invalid resampling rates ${inRate} Hz → ${outRate} Hz`);
    if (inRate === outRate) return new StreamingResampler(inRate, outRate, undefined);
    if (outRate / inRate > 256 || inRate / outRate > 256) throw new Error(`cannot resample ${inRate} Hz → ${outRate} Hz: libsamplerate supports ratios up to 256`);
    const converter = (await create(1, inRate, outRate, { converterType: ConverterType.SRC_SINC_BEST_QUALITY })) as unknown as Converter;
    return new StreamingResampler(inRate, outRate, converter);
  }

  /** Total output length for `inFrames` input frames. */
  static outputLength(inFrames: number, inRate: number, outRate: number): number {
    return inRate === outRate ? inFrames : Math.ceil((inFrames * outRate) / inRate);
  }

  /** Convert the next piece of mono input; returns whatever output is ready (possibly empty). */
  push(input: Float32Array): Float32Array {
    this.inFrames += input.length;
    if (!this.converter) {
      this.outFrames += input.length;
      return input;
    }
    const parts: Float32Array[] = [];
    for (let i = 0; i < input.length; i += MAX_BLOCK) parts.push(this.converter.full(input.subarray(i, i + MAX_BLOCK)));
    return this.collect(parts, Infinity);
  }

  /** Flush the converter after the last input; returns the remaining output and releases the converter. */
  finish(): Float32Array {
    if (!this.converter) return new Float32Array(0);
    const target = StreamingResampler.outputLength(this.inFrames, this.inRate, this.outRate);
    const zeros = new Float32Array(MAX_BLOCK);
    const parts: Float32Array[] = [];
    let produced = this.outFrames;
    // The converter's look-ahead is a few hundred input samples; 64 blocks is a generous bound.
    for (let i = 0; produced < target && i < 64; i++) {
      const out = this.converter.full(zeros);
      parts.push(out);
      produced += out.length;
    }
    this.converter.destroy();
    if (produced < target) throw new Error(`resampler did not flush: ${produced} of ${target} output samples`);
    return this.collect(parts, target - this.outFrames);
  }

  /** Release the converter without flushing (for a stream abandoned part-way). */
  dispose(): void {
    this.converter?.destroy();
  }

  private collect(parts: Float32Array[], limit: number): Float32Array {
    let n = 0;
    for (const p of parts) n += p.length;
    n = Math.min(n, limit);
    const out = new Float32Array(n);
    let o = 0;
    for (const p of parts) {
      if (o >= n) break;
      const take = Math.min(p.length, n - o);
      out.set(take === p.length ? p : p.subarray(0, take), o);
      o += take;
    }
    this.outFrames += n;
    return out;
  }
}

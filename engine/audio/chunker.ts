/**
 * Cuts a stream of samples into fixed-length chunks (the reference analyses 10 s windows),
 * zero-padding the last one. Holds at most one chunk of samples.
 */
import type { AudioChunk } from './types';

export class ChunkAssembler {
  private current: Float32Array;
  private filled = 0;
  private index = 0;

  constructor(
    readonly chunkSamples: number,
    readonly chunkSeconds: number,
  ) {
    if (!(Number.isInteger(chunkSamples) && chunkSamples > 0)) throw new Error(`chunk length must be a positive whole number of samples, got ${chunkSamples}`);
    this.current = new Float32Array(chunkSamples);
  }

  /** Add samples; returns the chunks completed by them (usually none or one). */
  push(samples: Float32Array): AudioChunk[] {
    const done: AudioChunk[] = [];
    for (let off = 0; off < samples.length; ) {
      const take = Math.min(this.chunkSamples - this.filled, samples.length - off);
      this.current.set(samples.subarray(off, off + take), this.filled);
      this.filled += take;
      off += take;
      if (this.filled === this.chunkSamples) done.push(this.emit());
    }
    return done;
  }

  /** The last, partly filled chunk (zero-padded), or undefined when the input ended on a chunk boundary. */
  finish(): AudioChunk | undefined {
    return this.filled > 0 ? this.emit() : undefined;
  }

  private emit(): AudioChunk {
    const chunk: AudioChunk = { index: this.index, samples: this.current, validSamples: this.filled, startSeconds: this.index * this.chunkSeconds };
    this.index++;
    this.current = new Float32Array(this.chunkSamples);
    this.filled = 0;
    return chunk;
  }
}

/**
 * Event decoding in the renderer, so moving the threshold slider needs no round trip to the engine:
 * a frame is active when its probability is above the threshold (strictly, as PSDS thresholds work),
 * and each run of active frames is one event. Probabilities arrive already median-filtered by the
 * engine, so this is the same decoding the engine applies after its filter.
 */
export interface RollEvent {
  cls: number;
  onset: number;
  offset: number;
  /** Highest probability inside the event (0–1). */
  peak: number;
}

/** Frames per block of the block-maximum index. */
const BLOCK = 32;

/**
 * Decodes uint8 levels (p = v / 255, classes × frames row-major) at any threshold. A per-block maximum,
 * built once, lets each decode skip every block that cannot contain an active frame, so an hour of 447
 * classes (40 M frames, mostly quiet) re-decodes in a few milliseconds instead of a full scan.
 */
export class EventDecoder {
  private blockMax: Uint8Array;
  private blocks: number;

  constructor(private levels: Uint8Array, readonly classes: number, readonly frames: number, private hop: number, private t0: number) {
    this.blocks = Math.ceil(frames / BLOCK);
    this.blockMax = new Uint8Array(classes * this.blocks);
    for (let c = 0; c < classes; c++) {
      const base = c * frames;
      for (let b = 0; b < this.blocks; b++) {
        let m = 0;
        const end = Math.min(frames, (b + 1) * BLOCK);
        for (let t = b * BLOCK; t < end; t++) if (levels[base + t] > m) m = levels[base + t];
        this.blockMax[c * this.blocks + b] = m;
      }
    }
  }

  /**
   * Events per class, in time order, or null when there would be more than `maxEvents` (a threshold
   * inside the noise floor of an hour-long file yields millions of one-frame events).
   */
  decode(threshold: number, maxEvents = Infinity): RollEvent[][] | null {
    // p > θ  ⇔  v / 255 > θ  ⇔  v > floor(255·θ) for integer v
    const q = Math.floor(threshold * 255 + 1e-9);
    const { levels, frames, hop, t0 } = this;
    const out: RollEvent[][] = [];
    let total = 0;
    for (let c = 0; c < this.classes; c++) {
      const evs: RollEvent[] = [];
      const base = c * frames;
      const bm = c * this.blocks;
      let start = -1;
      let peak = 0;
      const close = (t: number) => {
        evs.push({ cls: c, onset: t0 + start * hop, offset: t0 + t * hop, peak: peak / 255 });
        start = -1;
      };
      for (let b = 0; b < this.blocks && evs.length <= maxEvents; b++) {
        const b0 = b * BLOCK;
        if (this.blockMax[bm + b] <= q) {
          if (start >= 0) close(b0);
          continue;
        }
        const end = Math.min(frames, b0 + BLOCK);
        for (let t = b0; t < end; t++) {
          const v = levels[base + t];
          if (v > q) {
            if (start < 0) {
              start = t;
              peak = v;
            } else if (v > peak) peak = v;
          } else if (start >= 0) close(t);
        }
      }
      if (start >= 0) close(frames);
      total += evs.length;
      if (total > maxEvents) return null;
      out.push(evs);
    }
    return out;
  }
}

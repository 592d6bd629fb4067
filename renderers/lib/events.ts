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

/**
 * Decode events from uint8 levels (p = v / 255), classes × frames row-major.
 * Returns events per class, in time order.
 */
export function decodeEvents(levels: Uint8Array, classes: number, frames: number, hop: number, t0: number, threshold: number): RollEvent[][] {
  // p > θ  ⇔  v / 255 > θ  ⇔  v > 255·θ  (v integer: v > floor(255·θ))
  const q = Math.floor(threshold * 255 + 1e-9);
  const out: RollEvent[][] = [];
  for (let c = 0; c < classes; c++) {
    const evs: RollEvent[] = [];
    const base = c * frames;
    let start = -1;
    let peak = 0;
    for (let t = 0; t <= frames; t++) {
      const v = t < frames ? levels[base + t] : 0;
      if (t < frames && v > q) {
        if (start < 0) {
          start = t;
          peak = v;
        } else if (v > peak) peak = v;
      } else if (start >= 0) {
        evs.push({ cls: c, onset: t0 + start * hop, offset: t0 + t * hop, peak: peak / 255 });
        start = -1;
      }
    }
    out.push(evs);
  }
  return out;
}

/**
 * Event decoding (MODEL_SPEC §5.4): for each threshold, binarise `score > threshold` and turn each run of
 * active frames of a class into an event (dcase_util find_contiguous_regions: onset = first active frame,
 * offset = the frame after the last one), in seconds f·frameSeconds clipped to the audio duration.
 */

export interface SedEvent {
  onset: number;
  offset: number;
  label: string;
  /** highest and mean score over the event's frames */
  maxScore: number;
  meanScore: number;
  threshold: number;
}

export interface DecodeOptions {
  /** seconds per frame (default 0.04 = 4 × 160 samples at 16 kHz) */
  frameSeconds?: number;
  /** audio duration in seconds; event times are clipped to it */
  durationSeconds?: number;
}

/**
 * Events of a [frames, classes] row-major probability array for each threshold, sorted by threshold,
 * onset, then label.
 */
export function decodeEvents(probs: Float32Array | Float64Array, frames: number, classes: string[], thresholds: number[], opts: DecodeOptions = {}): SedEvent[] {
  const C = classes.length;
  if (probs.length !== frames * C) throw new Error(`decodeEvents: ${probs.length} scores for ${frames} frames × ${C} classes`);
  for (const th of thresholds) if (!Number.isFinite(th)) throw new Error(`decodeEvents: threshold ${th} is not a finite number`);
  const hop = opts.frameSeconds ?? 0.04;
  if (!(hop > 0)) throw new Error(`decodeEvents: frameSeconds must be > 0, got ${hop}`);
  const end = opts.durationSeconds ?? Infinity;
  // Times rounded to µs: f·0.04 in binary floating point is otherwise 0.12000000000000001 and the like.
  const time = (f: number) => Math.min(Math.max(Math.round(f * hop * 1e6) / 1e6, 0), end);
  const events: SedEvent[] = [];
  for (const th of [...thresholds].sort((a, b) => a - b)) {
    const start = events.length;
    for (let c = 0; c < C; c++) {
      let f = 0;
      while (f < frames) {
        if (!(probs[f * C + c] > th)) { f++; continue; }
        const s = f;
        let max = -Infinity;
        let sum = 0;
        while (f < frames && probs[f * C + c] > th) {
          const v = probs[f * C + c];
          if (v > max) max = v;
          sum += v;
          f++;
        }
        const onset = time(s);
        const offset = time(f);
        // A run starting at or beyond the clipped duration has no length left.
        if (offset > onset) events.push({ onset, offset, label: classes[c], maxScore: max, meanScore: sum / (f - s), threshold: th });
      }
    }
    const block = events.splice(start).sort((a, b) => a.onset - b.onset || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
    for (const ev of block) events.push(ev);
  }
  return events;
}

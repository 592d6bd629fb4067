/** Event decoding: strict `score > threshold`, contiguous runs, frame → seconds, clipping, statistics. */
import * as assert from 'node:assert/strict';
import { decodeEvents } from '../../engine/detect/events';

describe('decodeEvents', () => {
  // 6 frames × 2 classes, row-major [T, C].
  const probs = Float32Array.from([
    0.1, 0.9,
    0.6, 0.9,
    0.5, 0.2,
    0.7, 0.2,
    0.8, 0.6,
    0.2, 0.6,
  ]);
  const classes = ['cat', 'dog'];

  it('finds runs of score > threshold with onset = first frame, offset = frame after the last', () => {
    const ev = decodeEvents(probs, 6, classes, [0.5], { frameSeconds: 0.04 });
    assert.deepEqual(ev.map((e) => [e.label, e.onset, e.offset]), [
      ['dog', 0, 0.08],
      ['cat', 0.04, 0.08], // frame 2 is exactly 0.5: off (strict)
      ['cat', 0.12, 0.2],
      ['dog', 0.16, 0.24],
    ]);
    const cat2 = ev.find((e) => e.label === 'cat' && e.onset === 0.12)!;
    assert.equal(cat2.maxScore, Math.fround(0.8));
    assert.ok(Math.abs(cat2.meanScore - (Math.fround(0.7) + Math.fround(0.8)) / 2) < 1e-12);
    assert.equal(cat2.threshold, 0.5);
  });

  it('clips to the audio duration and drops runs that start after it', () => {
    const ev = decodeEvents(probs, 6, classes, [0.5], { frameSeconds: 0.04, durationSeconds: 0.15 });
    // dog's second run starts at 0.16, after the 0.15 s of audio.
    assert.deepEqual(ev.map((e) => [e.label, e.onset, e.offset]), [['dog', 0, 0.08], ['cat', 0.04, 0.08], ['cat', 0.12, 0.15]]);
  });

  it('decodes every threshold, ascending, with clean decimal times', () => {
    const ev = decodeEvents(probs, 6, classes, [0.65, 0.1], { frameSeconds: 0.04 });
    assert.deepEqual([...new Set(ev.map((e) => e.threshold))], [0.1, 0.65]);
    assert.deepEqual(ev.filter((e) => e.threshold === 0.65).map((e) => [e.label, e.onset, e.offset]), [['dog', 0, 0.08], ['cat', 0.12, 0.2]]);
    // 3 × 0.04 is 0.12000000000000001 in binary floating point; times are rounded to µs.
    for (const e of ev) assert.equal(e.onset, Math.round(e.onset * 1e6) / 1e6);
  });

  it('rejects inconsistent shapes and bad thresholds', () => {
    assert.throws(() => decodeEvents(probs, 5, classes, [0.5]), /12 scores for 5 frames × 2 classes/);
    assert.throws(() => decodeEvents(probs, 6, classes, [NaN]), /threshold NaN/);
    assert.throws(() => decodeEvents(probs, 6, classes, [0.5], { frameSeconds: 0 }), /frameSeconds/);
  });
});

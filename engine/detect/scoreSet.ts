/**
 * Scores audio files with a model for evaluation: one sed_scores_eval-style score table per file
 * (median-filtered probabilities at 40 ms frames) and the files' durations from the audio itself.
 */
import * as path from 'node:path';
import type { LoadedCheckpoint } from '../checkpoint/index';
import type { Durations, ScoreSet } from '../eval/scores';
import { writeScoresForAudio } from './exports';
import { audioIdOf } from './groundTruth';
import { detectFile, type ChunkScorer } from './pipeline';
import { frameTimestamps } from './scoresTsv';

export interface ScoreAudioOptions {
  medianWindow?: number;
  /** Also write `<audio id>.tsv` score files into this folder. */
  saveScoresDir?: string;
  signal?: AbortSignal;
  /** The model part on another runtime (engine/onnx); default tfjs. */
  scorer?: ChunkScorer;
  onFile?: (done: number, total: number, file: string) => void;
}

export async function scoreAudioFiles(files: string[], ckpt: LoadedCheckpoint, opts: ScoreAudioOptions = {}): Promise<{ scores: ScoreSet; durations: Durations }> {
  const scores: ScoreSet = { classes: [...ckpt.classes], files: new Map() };
  const durations: Durations = new Map();
  let done = 0;
  for (const file of files) {
    const id = audioIdOf(path.basename(file));
    if (scores.files.has(id)) throw new Error(`${file}: a second audio file with id '${id}' (ids are file names without extension and must be unique)`);
    const r = await detectFile(file, ckpt, { medianWindow: opts.medianWindow, thresholds: [0.5], signal: opts.signal, scorer: opts.scorer });
    scores.files.set(id, { timestamps: frameTimestamps(r.frames, r.frameSeconds), scores: Float64Array.from(r.scores) });
    durations.set(id, r.durationSeconds);
    if (opts.saveScoresDir) writeScoresForAudio(opts.saveScoresDir, file, r.classes, r.scores, r.frames, r.frameSeconds);
    opts.onFile?.(++done, files.length, file);
  }
  return { scores, durations };
}

/**
 * `sed/mel`: the model frontend's log-mel spectrogram of a file (or a time range of it) for display,
 * written as safetensors (`mel`: F32 [128, T]). Computed per 10 s chunk as the model sees the audio, so
 * memory stays bounded and cancellation is checked between chunks.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { DEFAULT_SAMPLE_RATE, probeAudio, streamChunks } from '../../audio/index';
import { computeMel, melFrameCount } from '../../frontend/mel';
import { writeSafetensors } from '../../io/safetensors';
import { MelRequest, type MelParams, type MelResult, type WorkDoneParams } from '../../protocol/protocol';
import { optionalNumber, optionalString, requireExisting, requireString } from '../errors';
import type { EngineServer } from '../server';
import { readBack } from '../../backend/gpuErrors';

const CHUNK_SECONDS = 10;
const HOP_SECONDS = 0.01;
const N_MELS = 128;

export function register(server: EngineServer): void {
  const m = MelRequest.method;
  server.heavy(MelRequest, 'mel', (params: MelParams & WorkDoneParams) => {
    const file = requireExisting(m, 'file', requireString(m, params, 'file'));
    const start = optionalNumber(m, params, 'start', { min: 0 }) ?? 0;
    const duration = optionalNumber(m, params, 'duration', { min: 0.05 });
    const out = optionalString(m, params, 'out');
    return {
      title: `mel ${path.basename(file)}`,
      run: async (job): Promise<MelResult> => {
        const info = await probeAudio(file);
        const end = Math.min(info.durationSeconds, duration !== undefined ? start + duration : Infinity);
        if (start >= info.durationSeconds) throw new Error(`${m}: 'start' ${start} s is past the end of '${file}' (${info.durationSeconds.toFixed(2)} s)`);
        const firstChunk = Math.floor(start / CHUNK_SECONDS);
        const lastChunk = Math.ceil(end / CHUNK_SECONDS) - 1;
        const pieces: Float32Array[] = []; // per chunk: [128, t] row-major
        const widths: number[] = [];
        for await (const chunk of streamChunks(file, { chunkSeconds: CHUNK_SECONDS, sampleRate: DEFAULT_SAMPLE_RATE })) {
          if (job.signal.aborted) throw new Error(`${m}: cancelled`);
          if (chunk.index < firstChunk) continue;
          if (chunk.index > lastChunk) break;
          const melT = tf.tidy(() => computeMel(tf.tensor2d(chunk.samples, [1, chunk.samples.length])));
          const full = await readBack(melT, `${m}: mel spectrogram`);
          const t = melT.shape[2];
          melT.dispose();
          // Frames past the real audio of the last (zero-padded) chunk are not shown.
          const valid = Math.min(t, melFrameCount(Math.max(chunk.validSamples, 1)));
          const piece = new Float32Array(N_MELS * valid);
          for (let f = 0; f < N_MELS; f++) piece.set(full.subarray(f * t, f * t + valid), f * valid);
          pieces.push(piece);
          widths.push(valid);
          job.progress(chunk.index - firstChunk + 1, lastChunk - firstChunk + 1);
        }
        // Crop to [start, end) in frames, counted from the first chunk kept.
        const offset = Math.round((start - firstChunk * CHUNK_SECONDS) / HOP_SECONDS);
        const total = widths.reduce((a, b) => a + b, 0);
        const T = Math.max(1, Math.min(total - offset, Math.round((end - start) / HOP_SECONDS)));
        const mel = new Float32Array(N_MELS * T);
        let min = Infinity;
        let max = -Infinity;
        let col = 0;
        for (const [i, piece] of pieces.entries()) {
          const w = widths[i];
          for (let j = 0; j < w; j++, col++) {
            const dst = col - offset;
            if (dst < 0 || dst >= T) continue;
            for (let f = 0; f < N_MELS; f++) {
              const v = piece[f * w + j];
              mel[f * T + dst] = v;
              if (v < min) min = v;
              if (v > max) max = v;
            }
          }
        }
        const target = out ? path.resolve(out) : server.resultPath(`mel-${path.basename(file)}`, '.safetensors');
        const meta = { file, start: String(start), hopSeconds: String(HOP_SECONDS), sampleRate: String(DEFAULT_SAMPLE_RATE), audioDuration: String(info.durationSeconds) };
        writeSafetensors(target, new Map([['mel', { shape: [N_MELS, T], data: mel }]]), meta);
        return { file: target, shape: [N_MELS, T], hopSeconds: HOP_SECONDS, start, audioDuration: info.durationSeconds, sampleRate: DEFAULT_SAMPLE_RATE, min, max };
      },
    };
  });
}

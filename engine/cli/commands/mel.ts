/** `sed mel <audio> --out mel.safetensors`: the model's log-mel input for a whole file. */
import * as path from 'node:path';
import type { Command } from 'commander';
import { initBackend } from '../../backend/select';
import { writeMelFile } from '../../frontend/fileMel';
import { MEL } from '../../frontend/mel';

export function register(program: Command): void {
  program
    .command('mel <audio>')
    .description(
      'compute the log-mel spectrogram the models see (16 kHz mono, 10 s chunks, 128 Kaldi mel bins to 7 kHz, hop 10 ms) ' +
        'for a whole audio file and write it as safetensors: tensor "mel" [1,128,T] plus metadata',
    )
    .requiredOption('--out <file>', 'output .safetensors file')
    .option('--chunk-seconds <s>', 'analysis chunk length in seconds (the reference uses 10)', '10')
    .action(async (audio: string, opts: { out: string; chunkSeconds: string }) => {
      const chunkSeconds = Number(opts.chunkSeconds);
      if (!(chunkSeconds * MEL.sampleRate >= MEL.nFft)) throw new Error(`--chunk-seconds: expected a number of seconds >= ${MEL.nFft / MEL.sampleRate}, got '${opts.chunkSeconds}'`);
      const backend = await initBackend(process.env.SED_BACKEND || 'auto');
      const t0 = performance.now();
      const result = await writeMelFile(audio, opts.out, {
        chunkSeconds,
        onWarning: (w) => process.stderr.write(`sed mel: warning: ${w}\n`),
        metadataFor: (info, frames) => ({
          layout: '[batch, mel_bin, frame]',
          source_file: path.resolve(audio),
          source_format: info.format,
          source_codec: info.codec,
          source_sample_rate: String(info.sampleRate),
          source_channels: String(info.channels),
          duration_seconds: String(info.durationSeconds),
          sample_rate: String(MEL.sampleRate),
          hop_length: String(MEL.hop),
          win_length: String(MEL.winLength),
          n_fft: String(MEL.nFft),
          n_mels: String(MEL.nMels),
          fmin_hz: String(MEL.fminHz),
          fmax_hz: String(MEL.fmaxHz),
          chunk_seconds: String(chunkSeconds),
          frames: String(frames),
          normalisation: '(ln(max(mel, 1e-7)) + 4.5) / 5',
          backend: backend.backend,
        }),
      });
      const seconds = (performance.now() - t0) / 1000;
      process.stdout.write(
        `wrote ${opts.out}: mel [1,${MEL.nMels},${result.frames}] for ${result.durationSeconds.toFixed(3)} s of ${result.info.format} audio ` +
          `(${result.info.sampleRate} Hz, ${result.info.channels} ch) in ${seconds.toFixed(2)} s on ${backend.backend}\n`,
      );
    });
}

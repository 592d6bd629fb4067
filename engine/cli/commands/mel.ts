/** `sed mel <audio> --out mel.safetensors`: the model's log-mel input for a whole file. */
import * as path from 'node:path';
import type { Command } from 'commander';
import { initBackend } from '../../backend/select';
import { melForFile } from '../../frontend/fileMel';
import { MEL } from '../../frontend/mel';
import { writeSafetensors } from '../../io/safetensors';

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
      if (!(chunkSeconds > 0)) throw new Error(`--chunk-seconds: expected a positive number of seconds, got '${opts.chunkSeconds}'`);
      const backend = await initBackend(process.env.SED_BACKEND || 'auto');
      const t0 = performance.now();
      const mel = await melForFile(audio, { chunkSeconds, onWarning: (w) => process.stderr.write(`sed mel: warning: ${w}\n`) });
      const seconds = (performance.now() - t0) / 1000;
      const metadata: Record<string, string> = {
        layout: '[batch, mel_bin, frame]',
        source_file: path.resolve(audio),
        source_format: mel.info.format,
        source_codec: mel.info.codec,
        source_sample_rate: String(mel.info.sampleRate),
        source_channels: String(mel.info.channels),
        duration_seconds: String(mel.durationSeconds),
        sample_rate: String(MEL.sampleRate),
        hop_length: String(MEL.hop),
        win_length: String(MEL.winLength),
        n_fft: String(MEL.nFft),
        n_mels: String(MEL.nMels),
        fmin_hz: String(MEL.fminHz),
        fmax_hz: String(MEL.fmaxHz),
        chunk_seconds: String(chunkSeconds),
        frames: String(mel.frames),
        normalisation: '(ln(max(mel, 1e-7)) + 4.5) / 5',
        backend: backend.backend,
      };
      try {
        writeSafetensors(opts.out, new Map([['mel', { shape: [1, MEL.nMels, mel.frames], data: mel.data }]]), metadata);
      } catch (err) {
        throw new Error(`${opts.out}: cannot write (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
      process.stdout.write(
        `wrote ${opts.out}: mel [1,${MEL.nMels},${mel.frames}] for ${mel.durationSeconds.toFixed(3)} s of ${mel.info.format} audio ` +
          `(${mel.info.sampleRate} Hz, ${mel.info.channels} ch) in ${seconds.toFixed(2)} s on ${backend.backend}\n`,
      );
    });
}

/**
 * Audio input behaviour on synthetic files: resampling quality, mono mixing, 10 s chunking,
 * RIFF edge cases and error messages.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AudioDecodeError, decodeAudio, mixToMono, probeAudio, StreamingResampler, streamChunks } from '../../engine/audio';
import { sine, wavBytes, writeWav } from '../helpers/wav';

/** Amplitude and phase-free frequency check: least-squares fit of a sine at `hz` over the middle. */
function toneAmplitude(x: Float32Array, hz: number, sampleRate: number): number {
  let s = 0;
  let c = 0;
  const from = Math.floor(x.length * 0.1);
  const to = Math.floor(x.length * 0.9);
  for (let i = from; i < to; i++) {
    s += x[i] * Math.sin((2 * Math.PI * hz * i) / sampleRate);
    c += x[i] * Math.cos((2 * Math.PI * hz * i) / sampleRate);
  }
  return (2 * Math.hypot(s, c)) / (to - from);
}

/** Zero crossings per second → frequency of a clean sine. */
function zeroCrossingHz(x: Float32Array, sampleRate: number): number {
  let crossings = 0;
  for (let i = 1; i < x.length; i++) if ((x[i - 1] < 0) !== (x[i] < 0)) crossings++;
  return crossings / 2 / (x.length / sampleRate);
}

describe('audio input', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sed-audio-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('resampling (libsamplerate, best sinc)', () => {
    it('a 1 kHz sine at 44.1 kHz keeps its frequency and amplitude at 16 kHz', async () => {
      const file = path.join(dir, 'sine1k_44k1.wav');
      writeWav(file, [sine(1000, 44100, 2, 0.5)], 44100, 'float32');
      const { samples, sampleRate, durationSeconds } = await decodeAudio(file);
      assert.equal(sampleRate, 16000);
      assert.equal(samples.length, 32000);
      assert.equal(durationSeconds, 2);
      assert.ok(Math.abs(toneAmplitude(samples, 1000, 16000) - 0.5) < 1e-4, `amplitude ${toneAmplitude(samples, 1000, 16000)}`);
      assert.ok(Math.abs(zeroCrossingHz(samples, 16000) - 1000) < 2, `frequency ${zeroCrossingHz(samples, 16000)} Hz`);
      // Phase is preserved too (the converter adds no delay): compare against the ideal 16 kHz sine.
      const ideal = sine(1000, 16000, 2, 0.5);
      let maxErr = 0;
      for (let i = 100; i < samples.length - 100; i++) maxErr = Math.max(maxErr, Math.abs(samples[i] - ideal[i]));
      assert.ok(maxErr < 1e-4, `max deviation from the ideal sine ${maxErr}`);
    });

    it('keeps a 7 kHz tone (the mel frontend top) and removes a 12 kHz tone (above the new Nyquist)', async () => {
      const x = sine(7000, 48000, 1, 0.5);
      const y = sine(12000, 48000, 1, 0.5);
      const r1 = await StreamingResampler.create(48000, 16000);
      const a = new Float32Array([...r1.push(x), ...r1.finish()]);
      const r2 = await StreamingResampler.create(48000, 16000);
      const b = new Float32Array([...r2.push(y), ...r2.finish()]);
      assert.ok(Math.abs(toneAmplitude(a, 7000, 16000) - 0.5) < 1e-3, `7 kHz amplitude ${toneAmplitude(a, 7000, 16000)}`);
      const rms = Math.sqrt(b.slice(200, -200).reduce((s, v) => s + v * v, 0) / (b.length - 400));
      assert.ok(rms < 1e-4, `12 kHz alias rms ${rms}`);
    });

    it('streaming in uneven blocks gives exactly the one-shot output and ceil(N·out/in) samples', async () => {
      const x = sine(440, 22050, 3, 0.3);
      const whole = await StreamingResampler.create(22050, 16000);
      const one = new Float32Array([...whole.push(x), ...whole.finish()]);
      const r = await StreamingResampler.create(22050, 16000);
      const parts: number[] = [];
      for (let i = 0, step = 1; i < x.length; i += step, step = (step * 7 + 3) % 5000 + 1) parts.push(...r.push(x.subarray(i, i + step)));
      parts.push(...r.finish());
      assert.equal(one.length, Math.ceil((x.length * 16000) / 22050));
      assert.equal(parts.length, one.length);
      for (let i = 0; i < one.length; i++) assert.equal(parts[i], one[i], `sample ${i}`);
    });

    it('passes 16 kHz input through untouched', async () => {
      const file = path.join(dir, 'sine_16k.wav');
      const x = sine(300, 16000, 1, 0.25);
      writeWav(file, [x], 16000, 'float32');
      const { samples } = await decodeAudio(file);
      assert.deepEqual(samples, x);
    });
  });

  describe('mono mixing', () => {
    it('averages the channels (librosa mono=True)', async () => {
      const left = sine(500, 16000, 1, 0.5);
      const right = new Float32Array(left.length).fill(0.25);
      const file = path.join(dir, 'stereo.wav');
      writeWav(file, [left, right], 16000, 'float32');
      const info = await probeAudio(file);
      assert.equal(info.channels, 2);
      const { samples } = await decodeAudio(file);
      for (let i = 0; i < samples.length; i += 97) assert.ok(Math.abs(samples[i] - (left[i] + 0.25) / 2) < 1e-7, `sample ${i}`);
    });

    it('mixToMono of opposite channels is silence and of one channel is that channel', () => {
      const a = new Float32Array([0.5, -0.25, 1]);
      assert.deepEqual(mixToMono([a, a.map((v) => -v)]), new Float32Array(3));
      assert.equal(mixToMono([a]), a);
      assert.deepEqual(mixToMono([a, a, new Float32Array([0, 0, 0])]), new Float32Array([1 / 3, -1 / 6, 2 / 3]));
    });
  });

  describe('10 s chunk streaming', () => {
    it('a 25 s file gives 3 chunks of 160000 samples, the last zero-padded with 80000 valid', async () => {
      const file = path.join(dir, 'ramp25.wav');
      // A signal that differs everywhere, at 16 kHz so chunk contents can be checked exactly.
      const x = new Float32Array(25 * 16000);
      for (let i = 0; i < x.length; i++) x[i] = ((i % 1000) - 500) / 1000;
      writeWav(file, [x], 16000, 'float32');
      const chunks = [];
      let info;
      for await (const c of streamChunks(file, { onInfo: (i) => (info = i) })) chunks.push(c);
      assert.equal(chunks.length, 3);
      assert.deepEqual(chunks.map((c) => c.index), [0, 1, 2]);
      assert.deepEqual(chunks.map((c) => c.startSeconds), [0, 10, 20]);
      assert.deepEqual(chunks.map((c) => c.validSamples), [160000, 160000, 80000]);
      for (const c of chunks) assert.equal(c.samples.length, 160000);
      assert.deepEqual(chunks[1].samples, x.subarray(160000, 320000));
      assert.deepEqual(chunks[2].samples.subarray(0, 80000), x.subarray(320000));
      assert.ok(chunks[2].samples.subarray(80000).every((v) => v === 0), 'padding is zeros');
      assert.equal(info!.durationSeconds, 25);
    });

    it('resampled streams chunk on the 16 kHz timeline (a 25 s 44.1 kHz file → 400000 samples)', async () => {
      const file = path.join(dir, 'sine25_44k1.wav');
      writeWav(file, [sine(1000, 44100, 25, 0.5)], 44100);
      const valid = [];
      for await (const c of streamChunks(file)) valid.push(c.validSamples);
      assert.deepEqual(valid, [160000, 160000, 80000]);
    });

    it('honours chunkSeconds and sampleRate, and a file ending on a chunk boundary has no empty chunk', async () => {
      const file = path.join(dir, 'four_s.wav');
      writeWav(file, [sine(200, 8000, 4, 0.5)], 8000);
      const got = [];
      for await (const c of streamChunks(file, { chunkSeconds: 2, sampleRate: 8000 })) got.push([c.index, c.samples.length, c.validSamples, c.startSeconds]);
      assert.deepEqual(got, [
        [0, 16000, 16000, 0],
        [1, 16000, 16000, 2],
      ]);
    });

    it('a file with no samples yields no chunks', async () => {
      const file = path.join(dir, 'empty_data.wav');
      writeWav(file, [new Float32Array(0)], 16000);
      const chunks = [];
      for await (const c of streamChunks(file)) chunks.push(c);
      assert.equal(chunks.length, 0);
    });
  });

  describe('RIFF details', () => {
    it('skips odd-sized unknown chunks (with their pad byte) before fmt and data', async () => {
      const plain = wavBytes([sine(440, 16000, 0.5, 0.5)], 16000);
      const junk = Buffer.concat([Buffer.from('JUNK'), Buffer.from([3, 0, 0, 0]), Buffer.from([1, 2, 3, 0])]);
      const file = path.join(dir, 'junk.wav');
      fs.writeFileSync(file, Buffer.concat([plain.subarray(0, 12), junk, plain.subarray(12)]));
      const a = await decodeAudio(file);
      assert.equal(a.samples.length, 8000);
      const plainFile = path.join(dir, 'plain.wav');
      fs.writeFileSync(plainFile, plain);
      assert.deepEqual(a.samples, (await decodeAudio(plainFile)).samples);
    });

    it('reads to the end of the file when the data size is the streaming placeholder 0xFFFFFFFF', async () => {
      const bytes = wavBytes([sine(440, 16000, 1, 0.5)], 16000);
      bytes.writeUInt32LE(0xffffffff, 40);
      const file = path.join(dir, 'streamed.wav');
      fs.writeFileSync(file, bytes);
      const info = await probeAudio(file);
      assert.equal(info.frames, 16000);
      assert.deepEqual(info.warnings, []);
    });

    it('decodes content regardless of the extension (an MP3-free WAV named .mp3)', async () => {
      const file = path.join(dir, 'actually_wav.mp3');
      writeWav(file, [sine(440, 16000, 0.5)], 16000);
      assert.equal((await probeAudio(file)).format, 'wav');
    });
  });

  describe('errors', () => {
    it('a corrupt file raises AudioDecodeError whose message names the file and the problem', async () => {
      const file = path.join(dir, 'corrupt.wav');
      const bytes = wavBytes([sine(440, 16000, 1)], 16000);
      bytes.writeUInt16LE(0, 22); // channel count 0
      fs.writeFileSync(file, bytes);
      const err = await decodeAudio(file).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof AudioDecodeError);
      assert.equal(err.file, file);
      assert.equal(err.message, `${file}: 'fmt ' chunk declares 0 channels`);
    });

    it('a missing file, a directory and a non-audio file are AudioDecodeErrors', async () => {
      const text = path.join(dir, 'notes.txt');
      fs.writeFileSync(text, 'hello, this is not audio at all');
      const cases: [string, RegExp][] = [
        [path.join(dir, 'missing.wav'), /file not found/],
        [dir, /is a directory/],
        [text, /not a recognised audio file \(starts with 'hell'\); supported: WAV/],
      ];
      for (const [file, problem] of cases) {
        await assert.rejects(probeAudio(file), (e: unknown) => e instanceof AudioDecodeError && e.file === file && problem.test(e.problem));
      }
    });

    it('a compressed stream that decodes to nothing is an error, not an empty result', async () => {
      // A FLAC signature followed by garbage: the sniffer says flac, the decoder finds no frame.
      const file = path.join(dir, 'fake.flac');
      const junk = Buffer.alloc(4096);
      for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919) & 0xff;
      fs.writeFileSync(file, Buffer.concat([Buffer.from('fLaC'), junk]));
      await assert.rejects(decodeAudio(file), (e: unknown) => e instanceof AudioDecodeError && /flac/.test(e.problem) && e.file === file);
    });

    it('rejects an invalid target sample rate and chunk length, naming the option', async () => {
      const file = path.join(dir, 'ok.wav');
      writeWav(file, [sine(440, 16000, 0.2)], 16000);
      await assert.rejects(decodeAudio(file, { sampleRate: 0 }), /invalid target sample rate 0/);
      await assert.rejects(streamChunks(file, { chunkSeconds: -1 }).next(), /invalid chunk length -1 s/);
    });
  });
});

/**
 * Walks ../shared/data/formats driven by its manifest.tsv: every `ok` file decodes with the listed
 * sample rate, channels and duration and sounds like the reference soundscape (no silent garbage);
 * every `error` file raises an AudioDecodeError naming the file and the problem; `partial-or-error`
 * files either fail that way or decode to an exact prefix of the intact file they were cut from.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AudioDecodeError, decodeAudio, probeAudio, streamChunks } from '../../engine/audio';
import { SHARED_DIR } from '../helpers/paths';

const DIR = path.join(SHARED_DIR, 'data', 'formats');
const REFERENCE = 'ref_44k1_s16_mono.wav';
/** Lossy codecs: ffprobe counts encoder delay/padding (MP3 ~31 ms, Opus pre-skip 6.5 ms) that decoders trim. */
const LOSSY_DURATION_TOL_S = 0.05;

interface Row {
  file: string;
  codec: string;
  sampleRate: number;
  channels: number;
  duration: number | undefined;
  expected: 'ok' | 'error' | 'partial-or-error';
  notes: string;
}

function readManifest(): Row[] {
  const lines = fs.readFileSync(path.join(DIR, 'manifest.tsv'), 'utf8').split('\n').filter((l) => l.trim());
  const head = lines[0].split('\t');
  const col = (name: string) => {
    const i = head.indexOf(name);
    if (i < 0) throw new Error(`manifest.tsv has no column '${name}' (columns: ${head.join(', ')})`);
    return i;
  };
  const [cFile, cCodec, cRate, cCh, cDur, cExp, cNotes] = ['file', 'codec_ffprobe', 'sample_rate', 'channels', 'duration_s_ffprobe', 'expected', 'notes'].map(col);
  return lines.slice(1).map((l) => {
    const f = l.split('\t');
    return {
      file: f[cFile],
      codec: f[cCodec],
      sampleRate: Number(f[cRate]),
      channels: Number(f[cCh]),
      duration: f[cDur] ? Number(f[cDur]) : undefined,
      expected: f[cExp] as Row['expected'],
      notes: f[cNotes] ?? '',
    };
  });
}

/** Problem text expected for the broken files we know; new broken files only need an AudioDecodeError. */
const KNOWN_PROBLEMS: Record<string, RegExp> = {
  'broken_zero_bytes.wav': /empty file/,
  'broken_bad_riff_magic.wav': /expected 'RIFF'.*'RIFX'/,
  'broken_header_only_claims_data.wav': /no sample data.*10\.000 s/,
  'broken_random_bytes.wav': /not a WAV file/,
  'broken_text_file.wav': /not a WAV file.*'this'/,
  'broken_truncated_header.wav': /truncated inside the 'fmt ' chunk/,
  'broken_unknown_codec.wav': /unsupported WAV codec.*0x1234/,
  'broken_zero_channels.wav': /0 channels/,
};

async function expectDecodeError(file: string, problem?: RegExp): Promise<void> {
  for (const attempt of [() => probeAudio(file), () => decodeAudio(file)]) {
    await assert.rejects(attempt(), (err: unknown) => {
      assert.ok(err instanceof AudioDecodeError, `expected AudioDecodeError, got ${String(err)}`);
      assert.equal(err.file, file);
      assert.ok(err.message.startsWith(`${file}: `), `message should start with the file: ${err.message}`);
      assert.ok(err.problem.length > 5, 'problem text is empty');
      if (problem) assert.match(err.problem, problem);
      return true;
    });
  }
}

function correlation(a: Float32Array, b: Float32Array, n: number): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

describe('audio input: ../shared/data/formats (manifest-driven)', () => {
  const rows = readManifest();
  let reference16k: Float32Array;

  before(async () => {
    reference16k = (await decodeAudio(path.join(DIR, REFERENCE))).samples;
  });

  it('every file in the folder is in the manifest and vice versa', () => {
    const onDisk = fs.readdirSync(DIR).filter((f) => f !== 'manifest.tsv' && f !== 'README.md').sort();
    assert.deepEqual(onDisk, rows.map((r) => r.file).sort());
  });

  for (const row of rows) {
    const file = path.join(DIR, row.file);

    if (row.expected === 'ok') {
      it(`${row.file}: decodes (${row.codec}, ${row.sampleRate} Hz, ${row.channels} ch, ${row.duration ?? 0} s)`, async () => {
        const info = await probeAudio(file);
        assert.equal(info.sampleRate, row.sampleRate, 'sample rate');
        // audio-decode folds MP3 stereo whose channels are identical into mono (mpg123 upmixes mono
        // MP3 to two identical channels, and the library undoes that); the mono mix is the same.
        if (info.format === 'mp3') assert.ok(info.channels === row.channels || info.channels === 1, `channels ${info.channels}`);
        else assert.equal(info.channels, row.channels, 'channels');
        const lossy = ['mp3', 'opus', 'vorbis'].includes(row.codec);
        const tol = lossy ? LOSSY_DURATION_TOL_S : 1 / row.sampleRate;
        assert.ok(Math.abs(info.durationSeconds - (row.duration ?? 0)) <= tol, `duration ${info.durationSeconds} s vs manifest ${row.duration} s`);
        assert.deepEqual(info.warnings, [], 'a valid file gives no warnings');

        const decoded = await decodeAudio(file);
        assert.equal(decoded.sampleRate, 16000);
        assert.equal(decoded.samples.length, Math.ceil((info.frames * 16000) / info.sampleRate));
        assert.ok(Math.abs(decoded.durationSeconds - info.durationSeconds) < 1 / 16000 + 1e-9);
        assert.ok(decoded.samples.every(Number.isFinite), 'finite samples');
        const n = decoded.samples.length;
        if (n === 0) return;
        const peak = decoded.samples.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        if (/digital silence/.test(row.notes)) {
          // sox leaves ±1 LSB of dither in its "silence"
          assert.ok(peak <= 2 / 32768, `digital silence decodes to (near) zeros, peak ${peak}`);
          return;
        }
        assert.ok(peak > 1e-3 && peak <= 1.01, `peak ${peak}`);
        // Every non-silent file here is the reference soundscape (or its start) in another encoding.
        const c = correlation(decoded.samples, reference16k, Math.min(n, reference16k.length));
        assert.ok(c > 0.95, `correlation with ${REFERENCE} at 16 kHz is ${c.toFixed(4)}`);
      });
    } else if (row.expected === 'error') {
      it(`${row.file}: AudioDecodeError naming the file (${row.notes})`, async () => {
        await expectDecodeError(file, KNOWN_PROBLEMS[row.file]);
      });
    } else {
      it(`${row.file}: partial decode of an exact prefix, or AudioDecodeError (${row.notes})`, async () => {
        let info;
        try {
          info = await probeAudio(file);
        } catch (err) {
          await expectDecodeError(file);
          return;
        }
        const source = /first \d+ bytes of (\S+)/.exec(row.notes)?.[1];
        assert.ok(source, `manifest note should say which file this was cut from: ${row.notes}`);
        const intactFile = path.join(DIR, source === 'ref' ? REFERENCE : source);
        const intact = await decodeAudio(intactFile, { sampleRate: info.sampleRate });
        const part = await decodeAudio(file, { sampleRate: info.sampleRate });
        assert.ok(part.samples.length > 0 && part.samples.length < intact.samples.length, `partial length ${part.samples.length}`);
        if (row.duration !== undefined) assert.ok(part.durationSeconds <= row.duration + 1e-6);
        // Compare all but the last decoded frame's worth, where a lossy decoder may differ at the cut.
        const n = Math.max(0, part.samples.length - 2304);
        let maxDiff = 0;
        for (let i = 0; i < n; i++) maxDiff = Math.max(maxDiff, Math.abs(part.samples[i] - intact.samples[i]));
        assert.ok(maxDiff < 1e-6, `partial decode differs from the intact file by ${maxDiff}`);
        // Where the container declares the full length, the cut is reported, not silent.
        if (row.codec === 'pcm_s16le' || row.codec === 'flac') assert.match(info.warnings.join('\n'), /truncated/);
      });
    }
  }

  it('streaming the reference gives the same samples as decoding it whole', async () => {
    const chunks = [];
    for await (const c of streamChunks(path.join(DIR, REFERENCE), { chunkSeconds: 3 })) chunks.push(c);
    assert.equal(chunks.length, 4);
    let i = 0;
    for (const c of chunks) {
      for (let k = 0; k < c.validSamples; k++, i++) assert.equal(c.samples[k], reference16k[i], `sample ${i}`);
    }
    assert.equal(i, reference16k.length);
  });
});

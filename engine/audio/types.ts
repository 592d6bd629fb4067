/** Shared shapes of the audio input layer (see index.ts for the public functions). */

/**
 * What a file holds, as stored (before mixing and resampling).
 * `frames` counts samples per channel; for compressed formats it is the number the decoder really
 * produces (encoder delay and padding removed), so it matches what `decodeAudio` returns.
 */
export interface AudioInfo {
  file: string;
  /** Container/codec family: `wav`, `flac`, `mp3`, `vorbis`, `opus`, or another name the decoder library knows (`aac`, `m4a`, `aiff`, …). */
  format: string;
  /** Sample encoding, e.g. `pcm_s16le`, `pcm_f32le`, `pcm_alaw`, `pcm_mulaw`, `pcm_u8`, or the codec name for compressed formats. */
  codec: string;
  sampleRate: number;
  channels: number;
  frames: number;
  durationSeconds: number;
  /** Bits per stored sample where the container says (WAV, FLAC); undefined for lossy codecs. */
  bitsPerSample?: number;
  /** Non-fatal problems, e.g. a truncated file that was decoded up to where its data ends. */
  warnings: string[];
}

/** One block of decoded PCM at the file's own rate: one Float32Array per channel, equal lengths. */
export interface PcmBlock {
  channelData: Float32Array[];
  sampleRate: number;
}

/** A fixed-length analysis chunk produced by `streamChunks`. */
export interface AudioChunk {
  /** 0-based chunk number. */
  index: number;
  /** Exactly chunkSeconds·sampleRate samples; the tail of the last chunk is zero padding. */
  samples: Float32Array;
  /** How many leading samples are real audio (< samples.length only for the last chunk). */
  validSamples: number;
  /** Start of this chunk in the file, in seconds (index · chunkSeconds). */
  startSeconds: number;
}

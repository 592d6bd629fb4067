/**
 * Audio input: decode WAV/FLAC/MP3/Ogg Vorbis/Opus (and more), mix to mono, resample to 16 kHz,
 * and stream 10 s chunks for files of any length.
 *
 * - `probeAudio(file)` → AudioInfo (format, codec, sampleRate, channels, frames, durationSeconds, warnings)
 * - `decodeAudio(file, { sampleRate })` → the whole file as mono samples
 * - `streamChunks(file, { chunkSeconds, sampleRate, onWarning })` → fixed-length chunks, bounded memory
 * - `AudioDecodeError` (message `"<file>: <problem>"`) for every unusable input
 */
export { AudioDecodeError } from './errors';
export type { AudioChunk, AudioInfo, PcmBlock } from './types';
export { DEFAULT_CHUNK_SECONDS, DEFAULT_SAMPLE_RATE, decodeAudio, probeAudio, streamChunks } from './decode';
export { mixToMono } from './mix';
export { StreamingResampler } from './resample';

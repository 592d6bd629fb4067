/** Types for `audio-type` (ships none): sniffs an audio container/codec from its first bytes. */
declare module 'audio-type' {
  /** Returns a format name ('wav', 'mp3', 'flac', 'opus', 'oga', 'm4a', …) or undefined when unknown. */
  export default function audioType(buf: Uint8Array | ArrayBuffer): string | undefined;
}

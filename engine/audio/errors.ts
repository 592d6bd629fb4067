/**
 * The one error type audio input raises for anything wrong with a file: unreadable, not audio,
 * unsupported codec, corrupt or empty stream. The message always starts with the file name so a
 * user who passed many files sees which one failed.
 */
export class AudioDecodeError extends Error {
  readonly file: string;
  readonly problem: string;

  constructor(file: string, problem: string, options?: { cause?: unknown }) {
    super(`${file}: ${problem}`, options);
    this.name = 'AudioDecodeError';
    this.file = file;
    this.problem = problem;
  }
}

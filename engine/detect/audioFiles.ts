/** Expands the audio files and folders given on the command line into a sorted list of audio files. */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const AUDIO_EXTENSIONS = ['.wav', '.flac', '.mp3', '.ogg', '.oga', '.opus'];

export function collectAudioFiles(inputs: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (AUDIO_EXTENSIONS.includes(path.extname(entry.name).toLowerCase())) out.push(p);
    }
  };
  for (const input of inputs) {
    if (!fs.existsSync(input)) throw new Error(`${input}: no such file or folder`);
    if (fs.statSync(input).isDirectory()) walk(input);
    else out.push(input);
  }
  return out;
}

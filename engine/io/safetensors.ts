/**
 * safetensors files on disk. The format itself (parse/serialise, browser-safe) is in safetensorsFormat.ts,
 * re-exported here so existing imports keep working.
 */
import * as fs from 'node:fs';
import { writeFileAtomic } from './atomicWrite';
import { parseSafetensors, serializeSafetensors, type HostTensor, type SafetensorsFile } from './safetensorsFormat';

export { parseSafetensors, serializeSafetensors };
export type { HostTensor, SafetensorsDtype, SafetensorsFile } from './safetensorsFormat';

export function readSafetensors(file: string): SafetensorsFile {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    throw new Error(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseSafetensors(buf, file);
}

/** Write a safetensors file atomically. */
export function writeSafetensors(file: string, tensors: Map<string, { shape: number[]; data: HostTensor['data'] }>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(file, serializeSafetensors(tensors, metadata));
}

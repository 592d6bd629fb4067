/**
 * Class-name lists for checkpoints. The released strong checkpoints predict the 447 AudioSet-Strong
 * training classes in the alphabetical order of upstream `as_strong_train_classes` (MODEL_SPEC §7);
 * that list ships inside the product (engine/assets, AudioSet ontology data).
 */
import * as fs from 'node:fs';
import audioset from '../assets/audioset_strong_classes.json';

/** The 447 AudioSet-Strong training classes, in strong-head output order. */
export const AUDIOSET_STRONG_CLASSES: readonly string[] = Object.freeze([...audioset.train_classes_447]);

/** The 416 AudioSet-Strong evaluation classes. */
export const AUDIOSET_STRONG_EVAL_CLASSES: readonly string[] = Object.freeze([...audioset.eval_classes_416]);

/**
 * Reads a class list: a JSON array of strings (or `{ "classes": [...] }`), or plain text with one
 * name per line (blank lines ignored). Errors name the file.
 */
export function readClassesFile(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read class list (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const trimmed = text.trim();
  let names: unknown;
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    try {
      names = JSON.parse(trimmed);
    } catch (err) {
      throw new Error(`${file}: class list is not valid JSON (${(err as Error).message})`);
    }
    if (names && typeof names === 'object' && !Array.isArray(names)) names = (names as { classes?: unknown }).classes;
    if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) {
      throw new Error(`${file}: class list must be a JSON array of strings (or {"classes": [...]})`);
    }
  } else {
    names = trimmed.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  }
  const list = names as string[];
  if (list.length === 0) throw new Error(`${file}: class list is empty`);
  const seen = new Set<string>();
  for (const n of list) {
    if (seen.has(n)) throw new Error(`${file}: class '${n}' is listed twice`);
    seen.add(n);
  }
  return list;
}

export interface ResolvedClasses {
  classes: string[];
  /** Set when placeholder names were generated (the caller prints it). */
  warning?: string;
}

/**
 * Class names for a head with `count` outputs: the given list (must match the count), else the
 * shipped AudioSet-Strong list for 447, else `class_0 … class_{count-1}` with a warning.
 */
export function resolveClasses(count: number, given: string[] | undefined, source: string): ResolvedClasses {
  if (given) {
    if (given.length !== count) {
      throw new Error(`${source}: the class list has ${given.length} names but the checkpoint's heads have ${count} outputs`);
    }
    return { classes: [...given] };
  }
  if (count === AUDIOSET_STRONG_CLASSES.length) return { classes: [...AUDIOSET_STRONG_CLASSES] };
  return {
    classes: Array.from({ length: count }, (_, i) => `class_${i}`),
    warning: `${source}: ${count} classes and no class list given; using placeholder names class_0..class_${count - 1} (pass --classes <file>)`,
  };
}

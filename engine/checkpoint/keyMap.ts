/**
 * Maps the key names of upstream release checkpoints onto our parameter names (the upstream
 * `PredictionsWrapper.state_dict()` names, MODEL_SPEC §6):
 *   backbone  `net.model.features.X` / `model.model.features.X`  →  `model.fmn.features.X`
 *   the rest  `net.K` / `model.K`                                 →  `K`
 * Keys already in our naming pass through. BatchNorm `num_batches_tracked` counters are dropped
 * (inference never uses them). TCN's weight-normed convs appear twice upstream (`conv1.*` ≡ `net.0.*`,
 * `conv2.*` ≡ `net.4.*`); `alignToExpected` keeps whichever copy the model declares.
 */
import type { HostTensor } from '../io/safetensors';

const BACKBONE_PREFIXES = ['net.model.features.', 'model.model.features.'];
const WRAPPER_PREFIXES = ['net.', 'model.'];

/** One key in our naming, or null when the key is dropped. */
export function mapUpstreamKey(key: string): string | null {
  if (key.endsWith('.num_batches_tracked')) return null;
  if (key.startsWith('model.fmn.')) return key;
  for (const p of BACKBONE_PREFIXES) if (key.startsWith(p)) return `model.fmn.features.${key.slice(p.length)}`;
  for (const p of WRAPPER_PREFIXES) if (key.startsWith(p)) return key.slice(p.length);
  return key;
}

/** Renames all keys; two source keys landing on one name (e.g. both `net.` and `model.` copies) is an error. */
export function mapUpstreamKeys(tensors: Map<string, HostTensor>, label: string): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  const from = new Map<string, string>();
  for (const [key, t] of tensors) {
    const mapped = mapUpstreamKey(key);
    if (mapped === null) continue;
    const prev = from.get(mapped);
    if (prev !== undefined) throw new Error(`${label}: keys '${prev}' and '${key}' both map to '${mapped}'`);
    from.set(mapped, key);
    out.set(mapped, t);
  }
  return out;
}

/** TCN blocks: `<prefix>.conv1.<p>` is the same module as `<prefix>.net.0.<p>`, conv2 as net.4. */
const TCN_ALIAS = /^(.*\.network\.\d+\.)(conv1|conv2|net\.0|net\.4)\.(weight_g|weight_v|bias|weight)$/;
const ALIAS_OF: Record<string, string> = { conv1: 'net.0', 'net.0': 'conv1', conv2: 'net.4', 'net.4': 'conv2' };

export function tcnAlias(key: string): string | null {
  const m = TCN_ALIAS.exec(key);
  return m ? `${m[1]}${ALIAS_OF[m[2]]}.${m[3]}` : null;
}

function sameData(a: HostTensor, b: HostTensor): boolean {
  if (a.shape.join() !== b.shape.join() || a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

/**
 * Resolves TCN duplicates against the set of keys the model declares: a declared key missing from the
 * file is taken from its alias; an undeclared alias copy is dropped. Both copies present must hold
 * identical data (they are one tensor upstream), otherwise the file is inconsistent.
 */
export function alignToExpected(tensors: Map<string, HostTensor>, expected: Iterable<string>, label: string): Map<string, HostTensor> {
  const want = new Set(expected);
  const out = new Map<string, HostTensor>();
  for (const [key, t] of tensors) {
    const alias = tcnAlias(key);
    if (alias === null) {
      out.set(key, t);
      continue;
    }
    const twin = tensors.get(alias);
    if (twin && !sameData(t, twin)) {
      throw new Error(`${label}: TCN duplicates '${key}' and '${alias}' differ (upstream stores one tensor under both names)`);
    }
    if (want.has(key)) out.set(key, t);
    if (want.has(alias) && !twin) out.set(alias, t);
    if (!want.has(key) && !want.has(alias)) out.set(key, t); // unknown to the model: let the strict load report it
  }
  return out;
}

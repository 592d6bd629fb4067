/**
 * The model name grammar used everywhere (CLI, checkpoints, server, training):
 *   `<backbone>[+<seq>:<hidden>]`, case-insensitive.
 * backbone: `fmn04|fmn06|fmn10|fmn20|fmn30` or any `fmn<width×10>` (e.g. `fmn15` → α = 1.5);
 * seq: `tf`, `att` (alias `attn`), `bigru` (alias `gru`), `tcn`, `mamba`, `hybrid`.
 * The release file names use `-` instead of `:` (`fmn10+tf-256`); both are accepted.
 */
import { BACKBONES, SEQ_MODELS, type ModelConfig, type SeqModelType } from './types';

const SEQ_ALIASES: Record<string, SeqModelType> = {
  tf: 'tf', att: 'att', attn: 'att', bigru: 'bigru', gru: 'bigru', tcn: 'tcn', mamba: 'mamba', hybrid: 'hybrid',
};

/** Upstream `seq_model_type` spellings (fixture metadata, checkpoints) → ours. */
const UPSTREAM_SEQ: Record<string, SeqModelType | null> = {
  none: null, tf: 'tf', attn: 'att', gru: 'bigru', tcn: 'tcn', mamba: 'mamba', hybrid: 'hybrid',
};

export const VALID_NAMES_HELP =
  `valid names are <backbone>[+<seq>:<hidden>] with backbone ${BACKBONES.join('|')} (or fmn<width×10>, e.g. fmn15) ` +
  `and seq ${SEQ_MODELS.join('|')} (aliases attn, gru), e.g. fmn10, fmn10+tf:256, fmn04+hybrid:104, fmn10+bigru:128`;

/** Attention heads of the TF blocks: 8, but upstream forces 4 below 128 (MODEL_SPEC §3.1). */
export function tfHeads(hidden: number): number {
  return hidden < 128 ? 4 : 8;
}

/** Mamba-2 head dimension: 32 when D == 128, else 64 (MODEL_SPEC §3.5). */
export function mambaHeadDim(hidden: number): number {
  return hidden === 128 ? 32 : 64;
}

export function backboneName(widthMult: number): string {
  const tenths = Math.round(widthMult * 10);
  return `fmn${String(tenths).padStart(2, '0')}`;
}

export function canonicalName(widthMult: number, seqType: SeqModelType | null, seqHidden: number): string {
  const bb = backboneName(widthMult);
  return seqType ? `${bb}+${seqType}:${seqHidden}` : bb;
}

/** Rejects hidden sizes the upstream modules cannot build (head splits), naming the rule. */
function checkHidden(name: string, seqType: SeqModelType, hidden: number): void {
  if (!Number.isInteger(hidden) || hidden < 1) throw new Error(`Model '${name}': hidden size must be a positive integer, got ${hidden}`);
  const divisor: Partial<Record<SeqModelType, [number, string]>> = {
    tf: [tfHeads(hidden), `${tfHeads(hidden)} heads (TF uses 8 heads, 4 below 128)`],
    att: [8, '8 heads'],
    hybrid: [8, '8 heads'],
    mamba: [mambaHeadDim(hidden) / 2, `Mamba-2 heads of ${mambaHeadDim(hidden)} channels over 2·D`],
  };
  const rule = divisor[seqType];
  if (rule && hidden % rule[0] !== 0) throw new Error(`Model '${name}': ${seqType} hidden size ${hidden} must be divisible by ${rule[0]} (${rule[1]})`);
}

export function makeConfig(widthMult: number, seqType: SeqModelType | null, seqHidden: number, numClasses: number): ModelConfig {
  if (!(widthMult > 0)) throw new Error(`Invalid backbone width multiplier ${widthMult}`);
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`Invalid class count ${numClasses}: must be a positive integer`);
  const name = canonicalName(widthMult, seqType, seqType ? seqHidden : 0);
  if (seqType) checkHidden(name, seqType, seqHidden);
  return { name, widthMult, seqType, seqHidden: seqType ? seqHidden : 0, numClasses };
}

/** Parse a model name (see the file comment). Unknown names throw an error listing what is valid. */
export function parseModelName(name: string, numClasses = 447): ModelConfig {
  const m = /^\s*fmn(\d{1,3})(?:\+([a-z]+)(?:[:\-](\d+))?)?\s*$/.exec(name.toLowerCase());
  if (!m) throw new Error(`Unknown model name '${name}': ${VALID_NAMES_HELP}`);
  const tenths = Number(m[1]);
  if (tenths < 1) throw new Error(`Unknown model name '${name}': backbone width must be > 0; ${VALID_NAMES_HELP}`);
  if (!m[2]) return makeConfig(tenths / 10, null, 0, numClasses);
  const seqType = SEQ_ALIASES[m[2]];
  if (!seqType) throw new Error(`Unknown sequence model '${m[2]}' in '${name}': ${VALID_NAMES_HELP}`);
  if (!m[3]) throw new Error(`Model '${name}': the sequence model needs a hidden size, e.g. fmn10+${seqType}:256`);
  return makeConfig(tenths / 10, seqType, Number(m[3]), numClasses);
}

/** Build the config a parity fixture's `__metadata__` describes (upstream spellings, all values strings). */
export function configFromParityMetadata(meta: Record<string, string>): ModelConfig {
  for (const k of ['width_mult', 'seq_model_type', 'n_classes']) {
    if (meta[k] === undefined) throw new Error(`fixture metadata lacks '${k}' (has: ${Object.keys(meta).join(', ')})`);
  }
  const type = meta.seq_model_type.toLowerCase();
  if (!(type in UPSTREAM_SEQ)) {
    throw new Error(`fixture metadata seq_model_type '${meta.seq_model_type}' is unknown; valid: None, ${Object.keys(UPSTREAM_SEQ).slice(1).join(', ')}`);
  }
  const seqType = UPSTREAM_SEQ[type];
  return makeConfig(Number(meta.width_mult), seqType, seqType ? Number(meta.seq_model_dim) : 0, Number(meta.n_classes));
}

/**
 * The released EfficientSED checkpoints (MODEL_SPEC §6) and how their names map to our model names.
 * Release names look like `fmn10+tf-256_strong`; ours like `fmn10+tf:256`. `*_weak` files are the
 * AudioSet-Weak (527-class) pre-trained backbones.
 */
export const RELEASE_BASE_URL = 'https://github.com/theMoro/EfficientSED/releases/download/v0.0.1';

export interface ReleaseInfo {
  /** Release file name without `.pt`. */
  release: string;
  /** Our model name (backbone + sequence model), before canonicalisation by the model registry. */
  model: string;
  /** Head size of the released weights. */
  numClasses: number;
  /** What the checkpoint was trained on. */
  kind: 'strong' | 'weak' | 'advanced-kd';
}

const BACKBONES = ['fmn04', 'fmn06', 'fmn10', 'fmn20', 'fmn30'];
const SEQ_DIMS: Record<string, number[]> = { fmn04: [104], fmn06: [160], fmn10: [128, 256, 512, 1024], fmn20: [512], fmn30: [768] };
const SEQ_TYPES: Array<[release: string, ours: string]> = [['tf', 'tf'], ['hybrid', 'hybrid'], ['gru', 'bigru']];

function buildReleases(): ReleaseInfo[] {
  const out: ReleaseInfo[] = [];
  for (const b of BACKBONES) out.push({ release: `${b}_weak`, model: b, numClasses: 527, kind: 'weak' });
  for (const b of BACKBONES) out.push({ release: `${b}_strong`, model: b, numClasses: 447, kind: 'strong' });
  for (const b of BACKBONES) {
    for (const [rel, ours] of SEQ_TYPES) {
      for (const d of SEQ_DIMS[b]) out.push({ release: `${b}+${rel}-${d}_strong`, model: `${b}+${ours}:${d}`, numClasses: 447, kind: 'strong' });
    }
  }
  out.push({ release: 'fmn10+tf-256_advanced-kd-weak-strong', model: 'fmn10+tf:256', numClasses: 447, kind: 'advanced-kd' });
  return out;
}

export const RELEASES: readonly ReleaseInfo[] = Object.freeze(buildReleases());

/**
 * Finds a release by its name (case-insensitive, `.pt` optional). Also accepts one of our model
 * names (`fmn10+tf:256`, via `canonical`) and picks that model's `_strong` release. Unknown names
 * are an error listing every valid release name.
 */
export function resolveRelease(name: string, canonical: (model: string) => string | null = (m) => m.toLowerCase()): ReleaseInfo {
  const key = name.trim().toLowerCase().replace(/\.pt$/, '');
  const byRelease = RELEASES.find((r) => r.release.toLowerCase() === key);
  if (byRelease) return byRelease;
  const wanted = canonical(key);
  if (wanted !== null) {
    const byModel = RELEASES.find((r) => r.kind === 'strong' && canonical(r.model) === wanted);
    if (byModel) return byModel;
  }
  throw new Error(`Unknown released model '${name}'. Valid names: ${RELEASES.map((r) => r.release).join(', ')}.`);
}

export function releaseUrl(release: ReleaseInfo, baseUrl = RELEASE_BASE_URL): string {
  return `${baseUrl.replace(/\/+$/, '')}/${release.release}.pt`; // names are [a-z0-9+_-] only; `+` is literal in a URL path
}

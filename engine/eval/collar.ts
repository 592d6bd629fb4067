/**
 * Collar-based matching (PSDS_SPEC §3.2): a detection hits a GT event when its onset lies within the onset
 * collar and its offset within max(offset_collar, rate·GT length); TP is the size of a maximum bipartite
 * matching along the hits (each detection and each GT event used at most once).
 */

export interface CollarParams {
  onsetCollar: number;
  offsetCollar: number;
  offsetCollarRate: number;
}

/**
 * TP count for detections [dOn[i], dOff[i]) against GT events [gOn[k], gOff[k]) (k in [k0, k1)).
 * `round` is the time rounding applied before comparing with 0.
 */
export function collarMatches(
  dOn: ArrayLike<number>, dOff: ArrayLike<number>, nDet: number,
  gOn: ArrayLike<number>, gOff: ArrayLike<number>, k0: number, k1: number,
  p: CollarParams, round: (x: number) => number,
): number {
  const nGt = k1 - k0;
  if (nDet === 0 || nGt === 0) return 0;
  const adj: number[][] = [];
  let hits = 0;
  const gtHits = new Int32Array(nGt);
  let ambiguous = false;
  for (let i = 0; i < nDet; i++) {
    const list: number[] = [];
    for (let k = 0; k < nGt; k++) {
      const on = gOn[k0 + k];
      const off = gOff[k0 + k];
      const offCollar = Math.max(p.offsetCollar, p.offsetCollarRate * (off - on));
      if (round(Math.abs(dOn[i] - on) - p.onsetCollar) <= 0 && round(Math.abs(dOff[i] - off) - offCollar) <= 0) {
        list.push(k);
        if (++gtHits[k] > 1) ambiguous = true;
      }
    }
    if (list.length > 1) ambiguous = true;
    hits += list.length;
    adj.push(list);
  }
  if (!ambiguous) return hits;
  // Kuhn's augmenting paths: the graphs are tiny, and any maximum matching has the same size.
  const gtMatch = new Int32Array(nGt).fill(-1);
  const seen = new Int32Array(nGt);
  let stamp = 0;
  const augment = (i: number): boolean => {
    for (const k of adj[i]) {
      if (seen[k] === stamp) continue;
      seen[k] = stamp;
      if (gtMatch[k] < 0 || augment(gtMatch[k])) {
        gtMatch[k] = i;
        return true;
      }
    }
    return false;
  };
  let tp = 0;
  for (let i = 0; i < nDet; i++) {
    stamp++;
    if (augment(i)) tp++;
  }
  return tp;
}

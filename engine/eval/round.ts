/**
 * numpy-compatible decimal rounding. The reference compares times after `np.round(x, decimals)`, which is
 * `rint(x * 10**d) / 10**d` with round-half-to-even; `Math.round` rounds halves up, so the .5 case is fixed.
 * Rounding both sides of a comparison is what makes e.g. an overlap of exactly 0.7·length pass despite float noise.
 */
export function roundHalfEven(y: number): number {
  const r = Math.round(y);
  // Math.round(2.5) = 3 and Math.round(-3.5) = -3: step back to the even neighbour on exact halves.
  return r - y === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** A rounding function for `decimals` digits (numpy `np.round(x, decimals)` semantics). */
export function makeRounder(decimals: number): (x: number) => number {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 15) {
    throw new Error(`time_decimals must be an integer in [0, 15], got ${decimals}`);
  }
  const f = 10 ** decimals;
  return (x: number) => roundHalfEven(x * f) / f;
}

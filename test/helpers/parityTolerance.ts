/** The parity fixtures' tolerances (fixtures/parity/README.md) and the comparison both parity suites use. */
import { strict as assert } from 'node:assert';
import type { HostTensor } from '../../engine/io/safetensors';
import type { ModelConfig } from '../../engine/models';

export interface Tolerance { atol: number; rtol: number }

/** README: fmn04-size atol/rtol 1e-4; full-size (α ≥ 1) 5e-4; GRU/minGRU outputs atol 2e-4. */
export function tolerance(config: ModelConfig): Tolerance {
  if (config.widthMult >= 1) return { atol: 5e-4, rtol: 5e-4 };
  if (config.seqType === 'bigru' || config.seqType === 'hybrid') return { atol: 2e-4, rtol: 1e-4 };
  return { atol: 1e-4, rtol: 1e-4 };
}

/** max |Δ| and the worst excess over atol + rtol·|ref| (≤ 0 means within tolerance; NaN fails). */
export function compare(actual: ArrayLike<number>, ref: HostTensor, tol: Tolerance): { maxAbs: number; excess: number } {
  const b = ref.data as Float32Array;
  assert.equal(actual.length, b.length, 'element count');
  let maxAbs = 0;
  let excess = -Infinity;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(actual[i] - b[i]);
    if (!(d <= maxAbs)) maxAbs = d; // NaN propagates
    excess = Math.max(excess, Number.isNaN(d) ? Infinity : d - (tol.atol + tol.rtol * Math.abs(b[i])));
  }
  return { maxAbs, excess };
}

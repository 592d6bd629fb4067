/** Shared assertions of the server tests. */
import * as assert from 'node:assert/strict';

/** Bulk data must not travel as JSON number arrays: no array of more than a handful of numbers anywhere. */
export function assertNoNumberArrays(value: unknown, where = 'result'): void {
  if (Array.isArray(value)) {
    assert.ok(!(value.length > 8 && value.every((v) => typeof v === 'number')), `${where} is a JSON number array of ${value.length}`);
    value.forEach((v, i) => assertNoNumberArrays(v, `${where}[${i}]`));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) assertNoNumberArrays(v, `${where}.${k}`);
  }
}

import { strict as assert } from 'node:assert';
describe('smoke', () => { it('runs ts', () => { const x: number = 1; assert.equal(x, 1); }); });

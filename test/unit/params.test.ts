/**
 * Parameter counts and MACs against anchors/upstream_params_macs.csv (all 41 configurations, 447 classes,
 * counted from shapes only), the state-dict key/shape list of the full-size fixture, and the fixtures'
 * own `n_params_total`.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { countMacs, countParams, expectedParamShapes, parseModelName } from '../../engine/models';
import { PARITY_DIR, SHARED_DIR } from '../helpers/paths';

/** The csv's our_MMACs are rounded to 0.1 M: allow the rounding plus float slack. */
const MMACS_TOLERANCE = 0.051;

const csv = fs.readFileSync(path.join(SHARED_DIR, 'anchors', 'upstream_params_macs.csv'), 'utf8').trim().split('\n');
const header = csv[0].split(',');
const rows = csv.slice(1).map((line) => Object.fromEntries(line.split(',').map((v, i) => [header[i], v])));

describe('parameter counts and MACs (anchors/upstream_params_macs.csv)', () => {
  it('has the 41 configurations', () => assert.equal(rows.length, 41));

  for (const row of rows) {
    it(`${row.config}: params_total ${row.params_total}, ~${row.our_MMACs_per_10s_clip} MMACs`, () => {
      const config = parseModelName(row.config, 447);
      assert.equal(countParams(config), Number(row.params_total));
      const mmacs = countMacs(config) / 1e6;
      assert.ok(Math.abs(mmacs - Number(row.our_MMACs_per_10s_clip)) <= MMACS_TOLERANCE, `${mmacs.toFixed(3)} MMACs vs ${row.our_MMACs_per_10s_clip}`);
    });
  }

  it('params without the weak head match params_no_weak_head', () => {
    for (const row of rows) {
      const config = parseModelName(row.config, 447);
      const shapes = expectedParamShapes(config);
      const weak = shapes.get('weak_head.weight')!.reduce((a, b) => a * b, 1) + shapes.get('weak_head.bias')![0];
      assert.equal(countParams(config) - weak, Number(row.params_no_weak_head), row.config);
    }
  });
});

describe('state-dict layout', () => {
  it('fmn10+tf:256 with 447 classes lists exactly the keys and shapes of fmn10_tf256_c447.keys.json', () => {
    const keys = JSON.parse(fs.readFileSync(path.join(PARITY_DIR, 'fmn10_tf256_c447.keys.json'), 'utf8')) as Record<string, { shape: number[] }>;
    const ours = expectedParamShapes(parseModelName('fmn10+tf:256', 447));
    assert.deepEqual([...ours.keys()], Object.keys(keys), 'same keys in the same order');
    for (const [k, v] of Object.entries(keys)) assert.deepEqual(ours.get(k), v.shape, k);
  });

  it('each fixture config reproduces its n_params_total (manifest.json)', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(PARITY_DIR, 'manifest.json'), 'utf8')) as { shared: Record<string, Record<string, unknown>> };
    let checked = 0;
    for (const [name, entry] of Object.entries(manifest.shared)) {
      if (entry.n_params_total === undefined) continue;
      const type = String(entry.seq_model_type);
      const seq = type === 'None' ? '' : `+${type}:${entry.seq_model_dim}`;
      const config = parseModelName(`fmn${String(Math.round(Number(entry.width_mult) * 10)).padStart(2, '0')}${seq}`, Number(entry.n_classes));
      assert.equal(countParams(config), Number(entry.n_params_total), name);
      checked++;
    }
    assert.ok(checked >= 6, `only ${checked} manifest entries had n_params_total`);
  });
});

/**
 * Profiling: `profileModels`, the sweep table (CSV/JSON) and the `sed profile` command.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../../engine/backend/select';
import { main } from '../../engine/cli/main';
import { PAPER_CONFIGS, profileModels, toCsv } from '../../engine/models/profile';
import { countParams, parseModelName } from '../../engine/models';
import { SHARED_DIR } from '../helpers/paths';

/** Run the CLI and capture stdout (the commands write through process.stdout.write). */
async function runCli(args: string[]): Promise<string> {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string | Uint8Array) => { chunks.push(String(s)); return true; }) as typeof process.stdout.write;
  try {
    await main(['node', 'sed', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return chunks.join('');
}

describe('model profiling', function () {
  this.timeout(300_000);
  let tmp: string;
  before(async () => {
    await initBackend('wasm');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sed-profile-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('counts without measuring when throughput is off', async () => {
    const rows = await profileModels(['FMN10+TF:256', 'fmn04'], { throughput: false });
    assert.deepEqual(rows.map((r) => r.model), ['fmn10+tf:256', 'fmn04']);
    assert.equal(rows[0].params, 5_028_286);
    assert.ok(Math.abs(rows[0].macs / 1e6 - 1495.7) < 0.06);
    assert.equal(rows[0].throughput, null);
  });

  it('measures throughput on the active backend (median of repeats, warm-up excluded)', async () => {
    const [row] = await profileModels(['fmn04'], { classes: 10, batch: 2, repeats: 2, warmup: 1 });
    assert.equal(row.backend, 'wasm');
    assert.equal(row.batch, 2);
    assert.equal(row.classes, 10);
    assert.ok(row.throughput! > 0 && Number.isFinite(row.throughput!));
    assert.ok(Math.abs(row.throughput! - 2000 / row.medianMs!) < 1e-9);
  });

  it('validates every name before measuring anything', async () => {
    await assert.rejects(profileModels(['fmn10', 'fmn10+lstm:5']), /Unknown sequence model 'lstm'/);
  });

  it('the default sweep is the paper\'s 41 configurations with the anchor parameter counts', () => {
    const csv = fs.readFileSync(path.join(SHARED_DIR, 'anchors', 'upstream_params_macs.csv'), 'utf8').trim().split('\n').slice(1);
    const anchor = new Map(csv.map((l) => l.split(',')).map((c) => [parseModelName(c[0]).name, Number(c[1])]));
    assert.equal(PAPER_CONFIGS.length, 41);
    for (const name of PAPER_CONFIGS) assert.equal(countParams(parseModelName(name)), anchor.get(parseModelName(name).name), name);
  });

  it('sed profile --json prints one object per model', async () => {
    const out = JSON.parse(await runCli(['profile', 'fmn04', 'fmn10+hybrid:128', '--no-throughput', '--json'])) as Array<Record<string, unknown>>;
    assert.equal(out.length, 2);
    assert.deepEqual(Object.keys(out[1]).slice(0, 5), ['model', 'classes', 'params', 'macs', 'throughput']);
    assert.equal(out[1].model, 'fmn10+hybrid:128');
    assert.equal(out[1].params, 3_801_806);
    assert.equal(out[1].throughput, null);
    assert.equal(typeof out[1].backend, 'string');
  });

  it('sed profile --sweep writes a CSV and a JSON table a chart can read', async () => {
    const csvFile = path.join(tmp, 'table.csv');
    await runCli(['profile', '--sweep', 'fmn04', 'fmn10+bigru:128', '--classes', '10', '--no-throughput', '--out', csvFile]);
    const lines = fs.readFileSync(csvFile, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'model,backbone,seq,hidden,classes,params,macs,mmacs,throughput,batch,backend');
    assert.equal(lines.length, 3);
    assert.match(lines[2], /^fmn10\+bigru:128,fmn10,bigru,128,10,/);
    const jsonFile = path.join(tmp, 'table.json');
    await runCli(['profile', '--sweep', 'fmn04', '--no-throughput', '--out', jsonFile]);
    const rows = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as Array<Record<string, unknown>>;
    assert.deepEqual(rows[0], { ...rows[0], model: 'fmn04', backbone: 'fmn04', seq: 'none', hidden: 0, params: 860_318, mmacs: 224 });
    assert.equal(toCsv([]).trim(), lines[0]);
  });

  it('rejects bad options with a clear message', async () => {
    await assert.rejects(runCli(['profile', '--sweep', 'fmn04', '--no-throughput', '--out', path.join(tmp, 'x.txt')]), /--out .*x\.txt: the table must be a \.csv or \.json file/);
    await assert.rejects(runCli(['profile', '--no-throughput']), /give at least one model name/);
    await assert.rejects(runCli(['profile', 'resnet', '--no-throughput']), /Unknown model name 'resnet'.*valid names/);
  });
});

/**
 * PSD-ROC, trade-off (vega-lite) and training-curve renderers in headless Chromium, fed with the
 * shared reference material: PSD-ROCs from the PSDS fixtures (the shaded area must reproduce the
 * fixture's PSDS), parameter/MAC/throughput rows from the upstream anchors, and a live training run.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MIME } from '../../renderers/lib/encode';
import { paretoFront, type TradeoffRow } from '../../renderers/lib/tradeoffData';
import { PSDS_DIR, SHARED_DIR } from '../helpers/paths';
import { closeBrowser, openHarness, type Harness } from './harness';

const expected = (c: string) => JSON.parse(fs.readFileSync(path.join(PSDS_DIR, c, 'expected.json'), 'utf8'));

/** Area under an SVG step path "M x,y H x V y …" in data units, given the axis mapping. */
function areaOfStepPath(d: string, x0: number, xPerPx: number, yBase: number, yPerPx: number): number {
  const tokens = [...d.matchAll(/([MHV])([-\d.]+)(?:,([-\d.]+))?/g)];
  let x = 0;
  let y = 0;
  let area = 0;
  for (const [, op, a, b] of tokens) {
    if (op === 'M') [x, y] = [Number(a), Number(b)];
    else if (op === 'H') {
      area += (Number(a) - x) * xPerPx * ((yBase - y) * yPerPx);
      x = Number(a);
    } else y = Number(b === undefined ? a : a);
  }
  void x0;
  return area;
}

describe('renderers: PSD-ROC, trade-off and training curves (headless Chromium)', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => { h = await openHarness(); });
  after(async () => {
    await h?.close();
    await closeBrowser();
  });

  it('PSD-ROC: one run with per-class curves; the drawn area reproduces the fixture PSDS', async () => {
    const e = expected('one_hour_100ms');
    h.fixture('roc1', { name: 'one_hour_100ms', psds1: e.psds1 });
    await h.render('psdRoc', 'roc1', MIME.psdRoc, 'roc1');
    const title = (await h.page.locator('#roc1 .sed-title').textContent())!;
    assert.match(title, new RegExp(`PSDS1 ${e.psds1.psds.toFixed(3)}`));
    assert.equal(await h.page.locator('#roc1 path.sed-roc-overall').count(), 1);
    assert.equal(await h.page.locator('#roc1 path.sed-roc-area').count(), 1);
    assert.equal(await h.page.locator('#roc1 path.sed-roc-class').count(), e.event_classes.length);
    const classLegend = (await h.page.locator('#roc1 .sed-class-legend').textContent())!;
    for (const c of e.event_classes) assert.ok(classLegend.includes(`${c} ${e.psds1.per_class_psds[c].toFixed(3)}`), classLegend);
    // Axis mapping from the plot box: x 0..100 eFPR over the box width, y 0..1 over its height.
    const geo = await h.page.evaluate(() => {
      const clip = document.querySelector('#roc1 clipPath rect')!;
      return { x: Number(clip.getAttribute('x')), y: Number(clip.getAttribute('y')) + 2, w: Number(clip.getAttribute('width')), h: Number(clip.getAttribute('height')) - 4, d: document.querySelector('#roc1 path.sed-roc-overall')!.getAttribute('d')! };
    });
    const area = areaOfStepPath(geo.d, geo.x, 100 / geo.w, geo.y + geo.h, 1 / geo.h);
    assert.ok(Math.abs(area / 100 - e.psds1.psds) < 2e-3, `area/max_efpr ${area / 100} vs PSDS ${e.psds1.psds}`);
    await h.screenshot('roc1', 'psd-roc-one-run.png');
    await h.page.locator('#roc1 .sed-legend input').last().uncheck();
    assert.equal(await h.page.locator('#roc1 path.sed-roc-class').count(), 0);
    const box = (await h.page.locator('#roc1 svg').boundingBox())!;
    await h.page.mouse.move(box.x + geo.x + geo.w * 0.5, box.y + geo.y + 20);
    assert.match((await h.page.locator('#roc1 .sed-readout').textContent())!, /eFPR 50\.\d\/h {3}eTPR 0\.462/);
  });

  it('PSD-ROC: several runs in one chart, each with its PSDS in the title and legend', async () => {
    const runs = ['one_hour_100ms', 'medium_mixed', 'dense_12_classes'].map((c) => ({ name: c, psds1: expected(c).psds1 }));
    h.fixture('roc3', { title: 'PSD-ROC comparison', runs });
    await h.render('psdRoc', 'roc3', MIME.psdRoc, 'roc3');
    assert.equal(await h.page.locator('#roc3 path.sed-roc-overall').count(), 3);
    assert.equal(await h.page.locator('#roc3 path.sed-roc-class').count(), 0, 'per-class curves start hidden with several runs');
    const title = (await h.page.locator('#roc3 .sed-title').textContent())!;
    for (const r of runs) assert.ok(title.includes(`${r.name} ${r.psds1.psds.toFixed(3)}`), title);
    const strokes = await h.page.locator('#roc3 path.sed-roc-overall').evaluateAll((ps) => ps.map((p) => p.getAttribute('stroke')));
    assert.equal(new Set(strokes).size, 3);
    await h.page.locator('#roc3 .sed-legend input[data-run="1"]').uncheck();
    assert.equal(await h.page.locator('#roc3 path.sed-roc-overall').count(), 2);
    await h.page.locator('#roc3 .sed-legend input[data-run="1"]').check();
    await h.screenshot('roc3', 'psd-roc-three-runs.png');
  });

  it('PSD-ROC: malformed payloads give a readable error', async () => {
    h.fixture('rocbad', { psds1: { psds: 0.4, psd_roc: { efpr: [0, 1, 2], etpr: [0, 0.5] } } });
    await h.render('psdRoc', 'rocbad', MIME.psdRoc, 'rocbad');
    assert.match((await h.page.locator('#rocbad .sed-error pre').textContent())!, /"efpr" and "etpr" must be non-empty and of equal length \(3 vs 2\)/);
    h.fixture('rocnone', { runs: [{ name: 'x' }] });
    await h.render('psdRoc', 'rocnone', MIME.psdRoc, 'rocnone');
    assert.match((await h.page.locator('#rocnone .sed-error pre').textContent())!, /runs\[0\]: field "psd_roc" must be an object/);
  });

  // Real complexity figures: parameters and MACs from the upstream anchors, H200 throughput. The PSDS1
  // column is NOT from the paper (no per-model table is shared): it is a deterministic function of the
  // parameter count per family, enough to exercise colours, log axes and the Pareto front.
  const tradeoffRows = (): TradeoffRow[] => {
    const csv = (f: string) => fs.readFileSync(path.join(SHARED_DIR, 'anchors', f), 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).slice(1).map((l) => l.split(','));
    const tput = new Map(csv('upstream_throughput_h200.csv').map((c) => [c[0].toLowerCase().replace('gru', 'bigru'), Number(c[2])]));
    const offset: Record<string, number> = { none: 0, TF: 0.012, ATTN: 0.008, BiGRU: 0.01, TCN: 0.002, MAMBA: 0.004, HYBRID: 0.013 };
    return csv('upstream_params_macs.csv').map((c) => {
      const seq = c[0].includes('+') ? c[0].split('+')[1].split(':')[0] : 'none';
      const params = Number(c[1]);
      return { model: c[0], seq, params, macs: Number(c[6]) * 1e6, throughput: tput.get(c[0].toLowerCase().replace('attn', 'attn')), psds1: 0.3 + 0.03 * Math.log10(params / 1e5) + offset[seq] };
    });
  };

  it('trade-off: vega-lite points per model, one colour per sequence model, the Pareto front, switchable log x', async () => {
    const rows = tradeoffRows();
    assert.equal(rows.length, 41);
    h.fixture('trade', { title: 'fmn + sequence models', rows });
    await h.render('tradeoff', 'trade', MIME.tradeoff, 'trade');
    const points = h.page.locator('#trade g.mark-symbol.role-mark path');
    assert.equal(await points.count(), rows.length);
    const fills = new Set(await points.evaluateAll((ps) => ps.map((p) => p.getAttribute('fill'))));
    assert.equal(fills.size, new Set(rows.map((r) => r.seq)).size);
    assert.equal(await h.page.locator('#trade .sed-root').getAttribute('data-pareto'), paretoFront(rows, 'params').map((r) => r.model).join(','));
    assert.ok(await h.page.locator('#trade g.mark-line.role-mark path').count() >= 2, 'family lines and the Pareto line');
    // Log axis: tick labels are SI-formatted powers (e.g. 1M, 10M).
    const ticks = await h.page.locator('#trade g.role-axis-label text').allTextContents();
    assert.ok(ticks.includes('1M') && ticks.includes('10M'), ticks.join(' '));
    await h.screenshot('trade', 'tradeoff-params.png');
    // Hover tooltip names the model.
    const first = points.first();
    await first.hover({ force: true });
    await h.page.waitForSelector('#vg-tooltip-element.visible', { timeout: 5000 });
    assert.match((await h.page.locator('#vg-tooltip-element').textContent())!, /fmn\d\d/);
    await h.page.selectOption('#trade select', 'throughput');
    await h.page.waitForFunction(() => document.querySelector<HTMLElement>('#trade .sed-root')!.dataset.x === 'throughput');
    assert.equal(await h.page.locator('#trade .sed-root').getAttribute('data-pareto'), paretoFront(rows, 'throughput').map((r) => r.model).join(','));
    assert.match((await h.page.locator('#trade g.role-axis-title text').allTextContents()).join('|'), /Throughput \(clips\/s\)/);
    await h.screenshot('trade', 'tradeoff-throughput.png');
  });

  it('trade-off: a profile without PSDS (points/name aliases, y = MACs) draws points on log-log axes and no Pareto front', async () => {
    const rows = tradeoffRows();
    h.fixture('profile', { title: 'profile', x: 'params', y: 'macs', points: rows.map((r) => ({ name: r.model, seq: r.seq, params: r.params, macs: r.macs })) });
    await h.render('tradeoff', 'profile', MIME.tradeoff, 'profile');
    assert.equal(await h.page.locator('#profile g.mark-symbol.role-mark path').count(), rows.length);
    assert.equal(await h.page.locator('#profile .sed-root').getAttribute('data-pareto'), '');
    assert.match((await h.page.locator('#profile g.role-axis-title text').allTextContents()).join('|'), /MACs per 10 s clip/);
    await h.dispose('tradeoff', 'profile');
  });

  it('trade-off: malformed rows give a readable error', async () => {
    h.fixture('tradebad', { rows: [{ model: 'fmn10', seq: 'none', params: -5, psds1: 0.4 }] });
    await h.render('tradeoff', 'tradebad', MIME.tradeoff, 'tradebad');
    assert.match((await h.page.locator('#tradebad .sed-error pre').textContent())!, /rows\[0\]: field "params" must be a positive number \(log axis\)/);
    h.fixture('tradex', { rows: [{ model: 'a', params: 5, psds1: 0.4 }], x: 'flops' });
    await h.render('tradeoff', 'tradex', MIME.tradeoff, 'tradex');
    assert.match((await h.page.locator('#tradex .sed-error pre').textContent())!, /"x" is 'flops' \(valid: params, macs, throughput\)/);
  });

  it('training curves: loss, lr and PSDS1 per epoch; live updates by re-render and by message', async () => {
    const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ epoch: i + 1, loss: 1 / (i + 2), val_loss: 1.1 / (i + 2) + 0.02, lr: 1e-3 * Math.min(1, (i + 1) / 5) * 0.5 ** Math.floor(i / 10), val_psds1: 0.1 + 0.3 * (1 - Math.exp(-i / 8)) }));
    h.fixture('train5', { title: 'fmn04+tf:64 KD', total_epochs: 30, stream: 'run-1', rows: rows(5) });
    await h.render('trainingCurves', 'train', MIME.trainingCurves, 'train5');
    assert.equal(await h.page.locator('#train .sed-curve').count(), 3);
    assert.equal(await h.page.locator('#train circle[data-series="loss"]').count(), 5);
    const rootBefore = await h.page.locator('#train .sed-root').elementHandle();
    // (1) the same output re-rendered with more rows: updated in place, same root element.
    h.fixture('train12', { title: 'fmn04+tf:64 KD', total_epochs: 30, stream: 'run-1', rows: rows(12) });
    await h.render('trainingCurves', 'train', MIME.trainingCurves, 'train12');
    assert.equal(await h.page.locator('#train circle[data-series="val_psds1"]').count(), 12);
    assert.ok(await rootBefore!.evaluate((e) => e.isConnected), 'updated in place, not remounted');
    assert.match((await h.page.locator('#train .sed-title').textContent())!, /epoch 12 \/ 30/);
    // (2) rows appended through the renderer messaging channel.
    const more = rows(15).slice(12);
    assert.equal(await h.page.evaluate((m) => (window as any).sedSend('trainingCurves', { type: 'training-curves/append', stream: 'run-1', rows: m }), more), 1);
    assert.equal(await h.page.locator('#train circle[data-series="lr"]').count(), 15);
    assert.match((await h.page.locator('#train .sed-readout').textContent())!, /best val PSDS1 0\.\d{4} @ epoch 15/);
    await h.screenshot('train', 'training-curves.png');
    h.fixture('trainbad', { rows: [{ epoch: 'one', loss: 1 }] });
    await h.render('trainingCurves', 'trainbad', MIME.trainingCurves, 'trainbad');
    assert.match((await h.page.locator('#trainbad .sed-error pre').textContent())!, /rows\[0\]: field "epoch" must be a finite number/);
  });

  it('trade-off: a render aborted while vega is still drawing is released', async () => {
    const live = await h.live();
    await h.render('tradeoff', 'aborted', MIME.tradeoff, 'trade', true);
    assert.deepEqual(await h.live(), live);
  });

  it('dispose releases every chart', async () => {
    assert.ok((await h.live()).listeners > 0);
    for (const id of ['roc1', 'roc3']) await h.dispose('psdRoc', id);
    await h.dispose('tradeoff', 'trade');
    await h.dispose('trainingCurves', 'train');
    assert.deepEqual(await h.live(), { resources: 0, listeners: 0, frames: 0 });
  });
});

/**
 * The bundled default model is what `sed detect` runs out of the box, and its model card and config.json make
 * claims about it (validation PSDS1, per-class mean, F1s, size). This scores the 100 real FLAC validation
 * soundscapes with it (tfjs on wasm, not the ONNX path the CLI may take) and checks the figures recorded in
 * config.json and the card's headline against what it really gives, so a swapped or corrupted model, or a card
 * left behind after a model change, fails here.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../../engine/backend/select';
import { defaultModelDir } from '../../engine/assets';
import { collectAudioFiles } from '../../engine/detect/audioFiles';
import { readDurationsTsv, readGroundTruthTsv } from '../../engine/detect/groundTruth';
import { loadModel } from '../../engine/detect/modelStore';
import { scoreAudioFiles } from '../../engine/detect/scoreSet';
import { evaluate } from '../../engine/eval/index';
import { countParams, parseModelName } from '../../engine/models/index';
import { SHARED_DIR } from '../helpers/paths';

const DATA = path.join(SHARED_DIR, 'data', 'dcase2016t2-soundscapes');

interface RecordedMetrics {
  psds1: number;
  psds1Macro: number;
  collarF1Macro: number;
  intersectionF1Macro: number;
  perClassPsds: Record<string, number>;
}

describe('bundled default model: its recorded validation figures hold', function () {
  this.timeout(600_000);
  const dir = defaultModelDir();
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { model: string; classes: string[]; metrics: RecordedMetrics };
  const card = fs.readFileSync(path.join(dir, 'MODEL_CARD.md'), 'utf8');

  it('is a small model (≤ 2 M parameters) for the 11 classes of the shared soundscapes', () => {
    assert.equal(config.classes.length, 11);
    assert.ok(countParams(parseModelName(config.model, config.classes.length)) <= 2_000_000);
  });

  it('gives on the FLAC validation split the PSDS1, per-class PSDS1 and F1s that config.json and the model card state', async () => {
    await initBackend('wasm');
    const files = collectAudioFiles([path.join(DATA, 'audio', 'validation')]);
    assert.equal(files.length, 100);
    const scored = await scoreAudioFiles(files, loadModel(undefined));
    const r = evaluate(scored.scores, readGroundTruthTsv(path.join(DATA, 'metadata', 'validation.tsv')),
      readDurationsTsv(path.join(DATA, 'metadata', 'validation_durations.tsv')), { mergeConnectedEvents: true });
    const m = config.metrics;
    // tfjs on wasm vs the runtime that produced the record: scores agree to ~1e-5, which can move a threshold crossing.
    const close = (got: number, want: number, what: string) => assert.ok(Math.abs(got - want) <= 2e-3, `${what}: ${got.toFixed(4)} measured, ${want} recorded`);
    close(r.psds1!.psds, m.psds1, 'PSDS1');
    close(r.psds1!.macro_psds_alpha_st0, m.psds1Macro, 'mean of per-class PSDS1');
    close(r.collar_f1!.macro.f, m.collarF1Macro, 'collar F1 (macro)');
    close(r.intersection_f1!.macro.f, m.intersectionF1Macro, 'intersection F1 (macro)');
    for (const [name, v] of Object.entries(m.perClassPsds)) close(r.psds1!.per_class_psds[name]!, v, `PSDS1 of ${name}`);
    const headline = `PSDS1 ${m.psds1.toFixed(3)}, mean of per-class PSDS1 ${m.psds1Macro.toFixed(3)}, collar F1 (macro) ${m.collarF1Macro.toFixed(3)}, intersection F1 (macro) ${m.intersectionF1Macro.toFixed(3)}`;
    assert.ok(card.includes(headline), `MODEL_CARD.md does not state the recorded figures: expected "${headline}"`);
  });
});

/** The `.sednb` format (extension/notebook/format.ts): lossless, stable, human-diffable, clear errors. */
import * as assert from 'node:assert';
import { parseSednb, serializeSednb, type RawNotebook } from '../../extension/notebook/format';

const enc = (s: string) => new TextEncoder().encode(s);

function sample(): RawNotebook {
  return {
    metadata: { z: 1, a: { y: 2, b: 3 } },
    cells: [
      { kind: 'markdown', language: 'markdown', source: '# Title\n\ntext', outputs: [] },
      {
        kind: 'code',
        language: 'typescript',
        source: 'const x = 1;\nx',
        outputs: [
          { items: [{ mime: 'application/vnd.code.notebook.stdout', data: enc('line 1\nline 2') }] },
          { items: [{ mime: 'application/vnd.sed-studio.tradeoff+json', data: enc('{"points":[{"name":"fmn10","params":1}],"title":"t"}') }] },
          { items: [{ mime: 'application/vnd.sed-studio.spectrogram', data: new Uint8Array([0, 255, 1, 2, 200]) }] },
          { items: [{ mime: 'application/json', data: enc('{not json') }] },
        ],
        execution: { order: 3, success: true },
      },
    ],
  };
}

describe('sednb format', () => {
  it('round-trips cells, outputs (text, JSON, binary) and execution state', () => {
    const nb = sample();
    const back = parseSednb(serializeSednb(nb));
    assert.strictEqual(back.cells.length, 2);
    assert.strictEqual(back.cells[1].source, nb.cells[1].source);
    assert.strictEqual(back.cells[1].language, 'typescript');
    assert.deepStrictEqual(back.cells[1].execution, { order: 3, success: true });
    const items = back.cells[1].outputs.map((o) => o.items[0]);
    assert.strictEqual(new TextDecoder().decode(items[0].data), 'line 1\nline 2');
    assert.deepStrictEqual(JSON.parse(new TextDecoder().decode(items[1].data)), { points: [{ name: 'fmn10', params: 1 }], title: 't' });
    assert.deepStrictEqual([...items[2].data], [0, 255, 1, 2, 200]);
    assert.strictEqual(new TextDecoder().decode(items[3].data), '{not json');
  });

  it('writes pretty, line-split, key-sorted JSON so diffs are readable and saves are stable', () => {
    const text = serializeSednb(sample());
    const file = JSON.parse(text);
    assert.deepStrictEqual(file.cells[1].source, ['const x = 1;', 'x']);
    assert.deepStrictEqual(file.cells[1].outputs[0].items[0].text, ['line 1', 'line 2']);
    assert.deepStrictEqual(Object.keys(file.metadata), ['a', 'z']);
    assert.deepStrictEqual(Object.keys(file.cells[1].outputs[1].items[0].json), ['points', 'title']);
    assert.strictEqual(file.cells[1].outputs[2].items[0].base64, Buffer.from([0, 255, 1, 2, 200]).toString('base64'));
    assert.ok(text.startsWith('{\n  "format": "sed-notebook",\n  "version": 1,'));
    assert.strictEqual(serializeSednb(parseSednb(text)), text, 'a second save changed the bytes');
  });

  it('reads an empty file as an empty notebook', () => {
    assert.deepStrictEqual(parseSednb(''), { metadata: {}, cells: [] });
  });

  it('rejects other files with messages that say what is wrong', () => {
    assert.throws(() => parseSednb('{'), /not a SED notebook: the file is not valid JSON/);
    assert.throws(() => parseSednb('{"cells": []}'), /"format" must be "sed-notebook"/);
    assert.throws(() => parseSednb('{"format":"sed-notebook","version":99,"cells":[]}'), /unsupported SED notebook version 99 \(this extension reads up to 1\)/);
    assert.throws(() => parseSednb('{"format":"sed-notebook","version":1,"cells":[{"kind":"raw","source":[]}]}'), /cell 1: "kind" must be "code" or "markdown", got "raw"/);
    assert.throws(
      () => parseSednb('{"format":"sed-notebook","version":1,"cells":[{"kind":"code","source":[],"outputs":[{"items":[{"mime":"text/plain"}]}]}]}'),
      /cell 1, output 1, item 1: output item "text\/plain" has none of "text", "json", "base64"/,
    );
  });
});

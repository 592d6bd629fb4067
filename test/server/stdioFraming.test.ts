/** The engine's synchronous stdio framing: split and batched frames, garbage, multi-byte text, writer output. */
import * as assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { Message } from 'vscode-jsonrpc';
import { SyncMessageReader, SyncMessageWriter } from '../../engine/server/stdioFraming';

function frame(obj: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(obj), 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]);
}

describe('server/stdio framing', () => {
  it('delivers messages split across chunks and batched in one chunk, synchronously in the data callback', () => {
    const input = new PassThrough();
    const reader = new SyncMessageReader(input);
    const got: Message[] = [];
    reader.listen((m) => got.push(m));
    const a = frame({ jsonrpc: '2.0', id: 1, method: 'x', params: { s: 'ü€😀' } });
    const b = frame({ jsonrpc: '2.0', method: 'y' });
    input.emit('data', a.subarray(0, 5));
    input.emit('data', a.subarray(5, a.length - 3));
    assert.equal(got.length, 0);
    input.emit('data', Buffer.concat([a.subarray(a.length - 3), b]));
    assert.deepEqual(got, [{ jsonrpc: '2.0', id: 1, method: 'x', params: { s: 'ü€😀' } }, { jsonrpc: '2.0', method: 'y' }]);
  });

  it('reports malformed JSON and headers without Content-Length, and keeps reading', () => {
    const input = new PassThrough();
    const reader = new SyncMessageReader(input);
    const errors: string[] = [];
    reader.onError((e) => errors.push(e.message));
    const got: Message[] = [];
    reader.listen((m) => got.push(m));
    const bad = '{"jsonrpc":"2.0","id":';
    input.emit('data', Buffer.concat([Buffer.from(`Content-Length: ${bad.length}\r\n\r\n${bad}`), Buffer.from('X-Junk: 1\r\n\r\n'), frame({ jsonrpc: '2.0', method: 'ok' })]));
    assert.deepEqual(got, [{ jsonrpc: '2.0', method: 'ok' }]);
    assert.equal(errors.length, 2);
    assert.match(errors[0], /malformed JSON message/);
    assert.match(errors[1], /without Content-Length/);
  });

  it('writer frames with the byte length of the UTF-8 body', async () => {
    const chunks: Buffer[] = [];
    const writer = new SyncMessageWriter((c) => chunks.push(c));
    await writer.write({ jsonrpc: '2.0', method: 'é' } as Message);
    const text = Buffer.concat(chunks).toString('utf8');
    const body = JSON.stringify({ jsonrpc: '2.0', method: 'é' });
    assert.equal(text, `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });
});

/**
 * Synchronous `Content-Length` framing for the engine's stdio transport. vscode-jsonrpc's stream
 * reader and writer each pass every message through a semaphore that hops over `setImmediate`, so
 * answering one request takes three event-loop turns; while a job computes synchronously between its
 * yields (one training batch, one audio chunk), each turn costs a whole batch. Here a message is
 * parsed in the stdin 'data' callback and written in the call that sends it, so a request arriving
 * during a batch is answered right after that batch.
 */
import type { Readable } from 'node:stream';
import { AbstractMessageReader, AbstractMessageWriter, type DataCallback, type Disposable, type Message, type MessageReader, type MessageWriter } from 'vscode-jsonrpc';

const HEADER_END = Buffer.from('\r\n\r\n', 'ascii');

export class SyncMessageReader extends AbstractMessageReader implements MessageReader {
  private buffer: Buffer = Buffer.alloc(0);

  constructor(private readonly input: Readable) {
    super();
    input.on('error', (err: Error) => this.fireError(err));
    input.on('close', () => this.fireClose());
    input.on('end', () => this.fireClose());
  }

  listen(callback: DataCallback): Disposable {
    const onData = (chunk: Buffer) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      for (;;) {
        const end = this.buffer.indexOf(HEADER_END);
        if (end < 0) return;
        const header = this.buffer.subarray(0, end).toString('ascii');
        const match = /(?:^|\r\n)Content-Length:\s*(\d+)/i.exec(header);
        if (!match) {
          // Unframed garbage: drop it up to the blank line and report, the connection stays usable.
          this.buffer = this.buffer.subarray(end + HEADER_END.length);
          this.fireError(new Error(`message header without Content-Length: ${JSON.stringify(header.slice(0, 200))}`));
          continue;
        }
        const length = Number(match[1]);
        const start = end + HEADER_END.length;
        if (this.buffer.length < start + length) return;
        const body = this.buffer.subarray(start, start + length).toString('utf8');
        this.buffer = this.buffer.subarray(start + length);
        let message: Message;
        try {
          message = JSON.parse(body) as Message;
        } catch (err) {
          this.fireError(new Error(`malformed JSON message (${(err as Error).message}): ${body.slice(0, 200)}`));
          continue;
        }
        callback(message);
      }
    };
    this.input.on('data', onData);
    return { dispose: () => this.input.off('data', onData) };
  }
}

export class SyncMessageWriter extends AbstractMessageWriter implements MessageWriter {
  constructor(private readonly writeChunk: (chunk: Buffer) => void) {
    super();
  }

  write(msg: Message): Promise<void> {
    try {
      const body = Buffer.from(JSON.stringify(msg), 'utf8');
      this.writeChunk(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]));
      return Promise.resolve();
    } catch (err) {
      this.fireError(err, msg);
      return Promise.reject(err);
    }
  }

  end(): void {}
}

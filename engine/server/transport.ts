/**
 * The child-process side of the connection: stdio or Node IPC framing, a stdout that only the protocol
 * writes to, and process-level guards so a failure inside one request never ends the engine.
 */
import { createMessageConnection, IPCMessageReader, IPCMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { SyncMessageReader, SyncMessageWriter } from './stdioFraming';

export type Transport = 'stdio' | 'node-ipc';

/**
 * With stdio, fd 1 carries JSON-RPC frames: a stray `console.log` or `process.stdout.write` from engine
 * code would corrupt the stream, so after this call only the returned connection writes there and
 * everything else written to stdout goes to stderr.
 */
export function createServerConnection(transport: Transport): MessageConnection {
  if (transport === 'node-ipc') {
    if (!process.send) throw new Error("sed serve --node-ipc: this process has no IPC channel (start it with stdio 'ipc', e.g. child_process.fork)");
    return createMessageConnection(new IPCMessageReader(process), new IPCMessageWriter(process));
  }
  const realWrite = process.stdout.write.bind(process.stdout) as (chunk: Uint8Array) => boolean;
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  return createMessageConnection(new SyncMessageReader(process.stdin), new SyncMessageWriter((chunk) => realWrite(chunk)));
}

const ours = new Set<(...args: any[]) => void>();

/**
 * Log-and-continue handlers for uncaught exceptions and unhandled rejections. The tfjs wasm module
 * (emscripten) installs handlers that rethrow, which would kill the engine; `reclaimProcessHandlers`
 * removes any such foreign handler (call it after anything that may initialise a backend).
 */
export function installProcessGuards(report: (what: string, err: unknown) => void): void {
  const onException = (err: unknown) => report('uncaught exception', err);
  const onRejection = (reason: unknown) => report('unhandled promise rejection', reason);
  ours.add(onException).add(onRejection);
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
}

export function reclaimProcessHandlers(): number {
  let removed = 0;
  for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
    for (const listener of process.listeners(event as 'uncaughtException')) {
      if (!ours.has(listener)) {
        process.removeListener(event, listener);
        removed++;
      }
    }
  }
  return removed;
}

/**
 * Entry of the engine's server mode (`sed serve`): builds the connection, installs the process guards,
 * registers every handler module and serves until `exit` or until the client goes away.
 */
import * as fs from 'node:fs';
import * as util from 'node:util';
import { register as registerCore } from './handlers/core';
import { register as registerDetect } from './handlers/detect';
import { register as registerEvaluate } from './handlers/evaluate';
import { register as registerKernel } from './handlers/kernel';
import { register as registerMel } from './handlers/mel';
import { register as registerProfile, registerSweep } from './handlers/profile';
import { register as registerTrain, registerPseudoLabel } from './handlers/train';
import { defaultCacheDir, EngineServer } from './server';
import { createServerConnection, installProcessGuards, type Transport } from './transport';

export { EngineServer } from './server';
export type { Transport } from './transport';

export function runServer(transport: Transport): Promise<number> {
  const connection = createServerConnection(transport);
  const server = new EngineServer(connection);
  installProcessGuards((what, err) => server.log('error', `${what} (engine keeps serving): ${(err as Error)?.stack ?? util.inspect(err)}`));
  // Engine code that prints goes to the client's log, never onto the protocol stream.
  const toLog = (level: 'info' | 'warn' | 'error' | 'debug') => (...args: unknown[]) => server.log(level, util.format(...args));
  console.log = toLog('info');
  console.info = toLog('info');
  console.debug = toLog('debug');
  console.warn = toLog('warn');
  console.error = toLog('error');

  return new Promise<number>((resolve) => {
    let ended = false;
    const end = (code: number) => {
      if (ended) return;
      ended = true;
      // The default cache folder is private to this process (results were read by the client already).
      if (server.state?.cacheDir === defaultCacheDir()) fs.rmSync(server.state.cacheDir, { recursive: true, force: true });
      resolve(code);
    };
    registerCore(server, end);
    registerKernel(server);
    registerMel(server);
    registerProfile(server);
    registerSweep(server);
    registerEvaluate(server);
    registerDetect(server);
    registerTrain(server);
    registerPseudoLabel(server);
    // The client vanished (its end of the pipe closed, or the IPC channel dropped): stop, leave no orphan.
    connection.onClose(() => end(server.shuttingDown ? 0 : 1));
    if (transport === 'node-ipc') process.on('disconnect', () => end(1));
    connection.listen();
  });
}

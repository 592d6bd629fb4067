/** Lifecycle and engine-state requests: initialize, shutdown, exit, stats, listJobs, cancelJob. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ErrorCodes, ResponseError } from 'vscode-jsonrpc';
import pkg from '../../../package.json';
import { initBackend, parseBackendName } from '../../backend/select';
import {
  CancelJobRequest,
  ExitNotification,
  InitializeRequest,
  ListJobsRequest,
  PROTOCOL_VERSION,
  ShutdownRequest,
  StatsRequest,
  type InitializeParams,
} from '../../protocol/protocol';
import { optionalNumber, optionalString, ParamError, requireStringArray } from '../errors';
import { defaultCacheDir, type EngineServer } from '../server';
import { reclaimProcessHandlers } from '../transport';

const started = Date.now();

export function register(server: EngineServer, onExit: (code: number) => void): void {
  server.light(
    InitializeRequest,
    async (params: InitializeParams) => {
      const m = InitializeRequest.method;
      const requested = optionalString(m, params, 'backend') || process.env.SED_BACKEND || 'auto';
      try {
        parseBackendName(requested);
      } catch (err) {
        throw new ParamError(m, 'backend', (err as Error).message);
      }
      const jobs = optionalNumber(m, params, 'maxConcurrentJobs', { min: 1, max: 64, integer: true });
      const cacheDir = path.resolve(optionalString(m, params, 'cacheDir') || defaultCacheDir());
      if (server.state && requested !== 'auto' && requested !== server.state.backend.backend) {
        throw new ParamError(m, 'backend', `is '${requested}' but the engine already runs '${server.state.backend.backend}'; restart the engine to switch backends`);
      }
      const backend = await initBackend(requested);
      // The wasm backend's emscripten module installs rethrowing process handlers: remove them.
      reclaimProcessHandlers();
      try {
        fs.mkdirSync(cacheDir, { recursive: true });
      } catch (err) {
        throw new ParamError(m, 'cacheDir', `'${cacheDir}' cannot be created: ${(err as Error).message}`);
      }
      if (jobs) server.queue.concurrency = jobs;
      const modelsDir = optionalString(m, params, 'modelsDir');
      const userModelDirs = params.userModelDirs === undefined ? [] : requireStringArray(m, params, 'userModelDirs');
      server.state = { backend, cacheDir, modelsDir: modelsDir ? path.resolve(modelsDir) : undefined, userModelDirs: userModelDirs.map((d) => path.resolve(d)) };
      const client = params.clientInfo ? ` for ${params.clientInfo.name}${params.clientInfo.version ? ' ' + params.clientInfo.version : ''}` : '';
      server.log('info', `engine ${pkg.version} (pid ${process.pid}) ready on ${backend.backend}: ${backend.device}${client}`);
      return {
        engineVersion: pkg.version,
        protocolVersion: PROTOCOL_VERSION,
        pid: process.pid,
        node: process.versions.node,
        backend,
        cacheDir,
        maxConcurrentJobs: server.queue.concurrency,
        requests: [...server.methods],
      };
    },
    { beforeInit: true },
  );

  let shutdownRequested = false;
  server.light(
    ShutdownRequest,
    async () => {
      shutdownRequested = true;
      server.shuttingDown = true;
      await server.queue.close();
      return null;
    },
    { beforeInit: true },
  );
  server.connection.onNotification(ExitNotification.method, () => onExit(shutdownRequested ? 0 : 1));

  server.light(StatsRequest, () => {
    const mem = tf.memory();
    const usage = process.memoryUsage();
    return { numTensors: mem.numTensors, numBytes: mem.numBytes, rss: usage.rss, heapUsed: usage.heapUsed, uptime: (Date.now() - started) / 1000, requestsServed: server.requestsServed };
  });

  server.light(ListJobsRequest, () => ({ jobs: server.queue.list() }));

  server.light(CancelJobRequest, (params) => {
    const id = params?.jobId;
    if (typeof id !== 'number' || !Number.isInteger(id)) throw new ResponseError(ErrorCodes.InvalidParams, `${CancelJobRequest.method}: parameter 'jobId' must be an integer job id (see sed/listJobs), got ${JSON.stringify(id)}`);
    return { cancelled: server.queue.cancel(id) };
  });
}

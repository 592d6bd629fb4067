/** Notebook requests: executeCell (a queued job) and resetKernel. */
import * as tf from '@tensorflow/tfjs-core';
import { writeFileAtomic } from '../../io/atomicWrite';
import { ExecuteCellRequest, ResetKernelRequest, type ExecuteCellParams } from '../../protocol/protocol';
import { optionalString, ParamError, requireString } from '../errors';
import { NotebookKernel } from '../kernel';
import { createSedApi } from '../sedApi';
import type { EngineServer } from '../server';

/** Disposes what a dropped notebook left behind: tensors, variables, models (anything with dispose()). */
function disposeValue(value: unknown): void {
  if (value instanceof tf.Tensor) {
    if (!value.isDisposed) value.dispose();
  } else if (value && typeof value === 'object' && 'params' in value && typeof (value as { dispose?: unknown }).dispose === 'function') {
    (value as unknown as { dispose(): void }).dispose();
  }
}

export function register(server: EngineServer): void {
  const saveBinary = (bytes: Uint8Array, mime: string) => {
    const file = server.resultPath(`output-${mime.replace(/^application\/(vnd\.)?/, '')}`, '.bin');
    writeFileAtomic(file, bytes);
    return file;
  };
  const env = {
    storeOptions: () => {
      const state = server.requireState('sed API');
      return { cacheDir: state.modelsDir, userDirs: state.userModelDirs };
    },
  };
  const kernel = new NotebookKernel((cell) => createSedApi(cell, env), (text) => server.log('info', `[notebook] ${text}`), disposeValue, saveBinary);
  const m = ExecuteCellRequest.method;
  server.heavy(ExecuteCellRequest, 'executeCell', (params: ExecuteCellParams) => {
    const notebook = requireString(m, params, 'notebook');
    if (typeof params.code !== 'string') throw new ParamError(m, 'code', 'is required (the cell source as a string)');
    const language = optionalString(m, params, 'language') ?? 'javascript';
    if (language !== 'javascript' && language !== 'typescript') throw new ParamError(m, 'language', `must be 'javascript' or 'typescript', got '${language}'`);
    const cwd = optionalString(m, params, 'cwd');
    const firstLine = params.code.split('\n').find((l) => l.trim()) ?? '';
    return {
      title: `cell of ${notebook.split('/').pop()}: ${firstLine.trim().slice(0, 40)}`,
      run: (job) => kernel.execute({ notebook, code: params.code, language, cwd }, job),
    };
  });
  server.light(ResetKernelRequest, (params) => {
    kernel.reset(requireString(ResetKernelRequest.method, params, 'notebook'));
    return null;
  });
}

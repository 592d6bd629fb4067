/** `sed/profile` and `sed/sweep`: parameters and MACs per architecture, optionally timed forward passes on the active backend. */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writeFileAtomic } from '../../io/atomicWrite';
import { parseModelName, type ModelConfig } from '../../models/index';
import { ProfileRequest, SweepRequest, type ProfileParams, type SweepParams, type SweepResult, type SweepRow } from '../../protocol/protocol';
import { optionalBoolean, optionalNumber, optionalNumberArray, optionalString, ParamError, requireStringArray } from '../errors';
import { profileModels } from '../profileModels';
import type { EngineServer } from '../server';

export function register(server: EngineServer): void {
  const m = ProfileRequest.method;
  server.heavy(ProfileRequest, 'profile', (params: ProfileParams) => {
    const names = requireStringArray(m, params, 'models', { nonEmpty: true });
    const time = optionalBoolean(m, params, 'time') ?? false;
    const seconds = optionalNumber(m, params, 'seconds', { min: 0.1, max: 600 }) ?? 10;
    const repeats = optionalNumber(m, params, 'repeats', { min: 1, max: 100, integer: true }) ?? 3;
    const configs = names.map((name, i) => {
      try {
        return parseModelName(name);
      } catch (err) {
        throw new ParamError(m, `models[${i}]`, (err as Error).message);
      }
    });
    return {
      title: `profile ${configs.map((c) => c.name).join(', ')}`.slice(0, 80),
      run: async (job) => ({
        rows: await profileModels(configs, { time, seconds, repeats, signal: job.signal, onProgress: (d, n, name) => job.progress(d, n, name) }),
        backend: tf.getBackend(),
      }),
    };
  });
}

/** `sed/sweep`: profile every backbone × sequence model × hidden size and write the trade-off chart JSON. */
export function registerSweep(server: EngineServer): void {
  const m = SweepRequest.method;
  server.heavy(SweepRequest, 'sweep', (params: SweepParams) => {
    const backbones = requireStringArray(m, params, 'backbones', { nonEmpty: true });
    const seqModels = requireStringArray(m, params, 'seqModels', { nonEmpty: true });
    const hidden = optionalNumberArray(m, params, 'hidden') ?? [256];
    const time = optionalBoolean(m, params, 'time') ?? false;
    const out = optionalString(m, params, 'out');
    const grid: Array<{ config: ModelConfig; seq: string }> = [];
    for (const b of backbones) {
      for (const s of seqModels) {
        for (const h of s === 'none' ? [0] : hidden) {
          const name = s === 'none' ? b : `${b}+${s}:${h}`;
          try {
            const config = parseModelName(name);
            grid.push({ config, seq: config.seqType ? config.seqType.toUpperCase() : 'none' });
          } catch (err) {
            throw new ParamError(m, 'backbones/seqModels/hidden', `give an invalid model '${name}': ${(err as Error).message}`);
          }
        }
      }
    }
    return {
      title: `sweep ${grid.length} models`,
      run: async (job): Promise<SweepResult> => {
        const profiled = await profileModels(grid.map((g) => g.config), { time, signal: job.signal, onProgress: (d, n, name) => job.progress(d, n, name) });
        const rows: SweepRow[] = profiled.map((r, i) => ({ ...r, seq: grid[i].seq, ...(r.ms ? { throughput: 1000 / r.ms } : {}) }));
        const chart = {
          title: `Sweep on ${tf.getBackend()}`,
          x: 'macs',
          y: time ? 'throughput' : 'params',
          rows: rows.map((r) => ({ model: r.name, seq: r.seq, params: r.params, macs: r.macs, ...(r.throughput ? { throughput: r.throughput } : {}) })),
        };
        const file = out ? path.resolve(out) : server.resultPath('sweep', '.json');
        writeFileAtomic(file, JSON.stringify(chart, null, 1));
        return { rows, file };
      },
    };
  });
}

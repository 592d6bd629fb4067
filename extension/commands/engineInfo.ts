/** "SED: Show Engine Info": backend, device, versions, memory and the job queue, in the output channel. */
import * as vscode from 'vscode';
import { ListJobsRequest, StatsRequest, type InitializeResult, type ListJobsResult, type StatsResult } from '../../engine/protocol/protocol';
import type { SedEngine } from '../engine';

export interface EngineInfoReport {
  info: InitializeResult;
  stats: StatsResult;
  jobs: ListJobsResult['jobs'];
  text: string;
}

const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;

export async function engineInfoCommand(engine: SedEngine, opts: { quiet?: boolean } = {}): Promise<EngineInfoReport> {
  const info = await engine.start();
  const [stats, { jobs }] = await Promise.all([engine.request(StatsRequest), engine.request(ListJobsRequest)]);
  const lines = [
    `SED engine ${info.engineVersion} (protocol ${info.protocolVersion}), pid ${info.pid}, Node ${info.node}`,
    `backend: ${info.backend.backend} — ${info.backend.device}`,
    ...Object.entries(info.backend.versions).map(([k, v]) => `  ${k}: ${v}`),
    ...Object.entries(info.backend.skipped).map(([k, v]) => `  skipped ${k}: ${v}`),
    `cache: ${info.cacheDir}`,
    `memory: ${stats.numTensors} tensors, ${mb(stats.numBytes)} tensor data, rss ${mb(stats.rss)}, heap ${mb(stats.heapUsed)}; up ${stats.uptime.toFixed(0)} s, ${stats.requestsServed} requests`,
    `jobs: ${jobs.length ? '' : 'none'}`,
    ...jobs.map((j) => `  #${j.id} ${j.state} ${j.title}${j.total ? ` ${j.done ?? 0}/${j.total}` : ''}${j.error ? ` — ${j.error}` : ''}`),
  ];
  const text = lines.join('\n');
  engine.output.appendLine(text);
  if (!opts.quiet) {
    engine.output.show(true);
    void vscode.window.showInformationMessage(`SED engine: ${info.backend.backend} on ${info.backend.device}, Node ${info.node}`);
  }
  return { info, stats, jobs, text };
}

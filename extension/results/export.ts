/**
 * Event list exports of a shown detection result: DCASE TSV, Audacity labels, JSON — formatted by the
 * engine's own exporters (engine/detect/exports.ts, pure TypeScript) so the files match `sed detect`.
 */
import * as path from 'node:path';
import { formatAudacityLabels, formatDcaseTsv, formatEventsJson } from '../../engine/detect/exports';
import type { DetectedEvent, DetectResult } from '../../engine/protocol/protocol';

export const EXPORT_FORMATS = {
  tsv: { label: 'DCASE TSV', ext: 'tsv', description: 'filename, onset, offset, event_label (tab-separated, with header)' },
  audacity: { label: 'Audacity labels', ext: 'txt', description: 'start, end, label (File > Import > Labels)' },
  json: { label: 'JSON', ext: 'json', description: 'events with their scores, model and file' },
} as const;
export type ExportFormat = keyof typeof EXPORT_FORMATS;

/** Events at one threshold, in time order. */
export function eventsAt(result: Pick<DetectResult, 'events'>, threshold: number): DetectedEvent[] {
  return result.events.filter((e) => e.threshold === threshold).sort((a, b) => a.onset - b.onset || a.label.localeCompare(b.label));
}

export function formatEvents(result: DetectResult, format: ExportFormat, threshold: number): string {
  const files = [{ filename: path.basename(result.file), events: eventsAt(result, threshold) }];
  switch (format) {
    case 'tsv':
      return formatDcaseTsv(files);
    case 'audacity':
      return formatAudacityLabels(files[0].events);
    case 'json':
      return formatEventsJson(files, { file: result.file, model: result.model, modelName: result.modelName, duration: result.duration, threshold });
    default:
      throw new Error(`unknown export format "${format as string}" (valid: ${Object.keys(EXPORT_FORMATS).join(', ')})`);
  }
}

const fmt = (t: number) => t.toFixed(3);

/** Markdown table of the events (the results view's event list). */
export function eventsMarkdown(result: DetectResult, threshold: number): string {
  const events = eventsAt(result, threshold);
  const head = `**${events.length} event${events.length === 1 ? '' : 's'}** at threshold ${threshold} in \`${path.basename(result.file)}\` (${result.duration.toFixed(2)} s, model \`${result.modelName}\`, ${result.seconds.toFixed(1)} s)`;
  if (!events.length) return `${head}\n`;
  const rows = events.map((e) => `| ${fmt(e.onset)} | ${fmt(e.offset)} | ${e.label} | ${e.maxScore.toFixed(3)} | ${e.meanScore.toFixed(3)} |`);
  return [head, '', '| onset (s) | offset (s) | label | max score | mean score |', '|---:|---:|---|---:|---:|', ...rows].join('\n') + '\n';
}

/** Event list exports: DCASE TSV, Audacity labels, JSON (pure functions; the commands write the files). */
import * as path from 'node:path';
import type { DetectedEvent, DetectResult } from '../../engine/protocol/protocol';

export const EXPORT_FORMATS = {
  tsv: { label: 'DCASE TSV', ext: 'tsv', description: 'filename, onset, offset, event_label (tab-separated, with header)' },
  audacity: { label: 'Audacity labels', ext: 'txt', description: 'onset, offset, label (File > Import > Labels)' },
  json: { label: 'JSON', ext: 'json', description: 'the full detection result' },
} as const;
export type ExportFormat = keyof typeof EXPORT_FORMATS;

function fmt(t: number): string {
  return t.toFixed(3);
}

/** Events at one threshold, in time order. */
export function eventsAt(result: Pick<DetectResult, 'events'>, threshold: number): DetectedEvent[] {
  return result.events.filter((e) => e.threshold === threshold).sort((a, b) => a.onset - b.onset || a.label.localeCompare(b.label));
}

export function formatEvents(result: DetectResult, format: ExportFormat, threshold: number): string {
  const events = eventsAt(result, threshold);
  switch (format) {
    case 'tsv':
      return ['filename\tonset\toffset\tevent_label', ...events.map((e) => `${path.basename(result.file)}\t${fmt(e.onset)}\t${fmt(e.offset)}\t${e.label}`)].join('\n') + '\n';
    case 'audacity':
      return events.map((e) => `${fmt(e.onset)}\t${fmt(e.offset)}\t${e.label}`).join('\n') + (events.length ? '\n' : '');
    case 'json':
      return JSON.stringify({ file: result.file, model: result.model, duration: result.duration, threshold, events }, null, 2) + '\n';
    default:
      throw new Error(`unknown export format "${format as string}" (valid: ${Object.keys(EXPORT_FORMATS).join(', ')})`);
  }
}

/** Markdown table of the events (the results view's event list). */
export function eventsMarkdown(result: DetectResult, threshold: number): string {
  const events = eventsAt(result, threshold);
  const head = `**${events.length} event${events.length === 1 ? '' : 's'}** at threshold ${threshold} in \`${path.basename(result.file)}\` (${result.duration.toFixed(2)} s, model \`${result.model}\`, ${result.seconds.toFixed(1)} s)`;
  if (!events.length) return `${head}\n`;
  const rows = events.map((e) => `| ${fmt(e.onset)} | ${fmt(e.offset)} | ${e.label} | ${e.score.toFixed(3)} |`);
  return [head, '', '| onset (s) | offset (s) | label | peak score |', '|---:|---:|---|---:|', ...rows].join('\n') + '\n';
}

/**
 * The detection results view: a generated SED notebook (saved in the results folder) with a short header, a code cell that reproduces
 * the run in the kernel, and its outputs — spectrogram and event roll (drawn by our renderers) and the
 * event list. Results are kept per notebook so "SED: Export Detection Results" can write them.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DetectResult, MelResult } from '../../engine/protocol/protocol';
import { eventsMarkdown } from './export';
import { openGeneratedNotebook } from './notebookFile';
import { buildDetectionPayloads, MIME } from './payloads';

export interface ShownResult {
  result: DetectResult;
  /** The threshold the view shows (the export default). */
  threshold: number;
  notebook: vscode.NotebookDocument;
}

const shown = new Map<string, ShownResult>();
let lastShown: ShownResult | undefined;

/** The result shown in `notebook`, or the most recent one. */
export function findResult(notebook?: vscode.NotebookDocument): ShownResult | undefined {
  return (notebook && shown.get(notebook.uri.toString())) ?? lastShown;
}

/** `dir`: where the results notebook is written (the engine's results folder). */
export async function showDetectionResults(dir: string, result: DetectResult, mel: MelResult | undefined, opts: { medianWindow: number; thresholds: number[] }): Promise<ShownResult> {
  // The view shows the highest threshold (fewest, most confident events); the roll's slider explores the rest.
  const threshold = Math.max(...opts.thresholds);
  const payloads = buildDetectionPayloads(result, mel, { threshold });
  const name = path.basename(result.file);
  const header = new vscode.NotebookCellData(
    vscode.NotebookCellKind.Markup,
    `# Sound events in ${name}\n\n\`${result.file}\` · model \`${result.modelName}\` (\`${result.model}\`) · thresholds ${opts.thresholds.join(', ')} · median window ${opts.medianWindow} frames`,
    'markdown',
  );
  const code = new vscode.NotebookCellData(
    vscode.NotebookCellKind.Code,
    [
      `// Re-run this detection in the kernel (the sed API runs in the engine process).`,
      `const file = ${JSON.stringify(result.file)};`,
      `const result = await sed.detect(file, { model: ${JSON.stringify(result.model)}, thresholds: ${JSON.stringify(opts.thresholds)}, medianWindow: ${opts.medianWindow} });`,
      `sed.show.spectrogram(await sed.mel(file));`,
      `sed.show.events(result, { threshold: ${threshold} });`,
      `result.events.filter((e) => e.threshold === ${threshold});`,
    ].join('\n'),
    'javascript',
  );
  const outputs: vscode.NotebookCellOutput[] = [];
  if (payloads.spectrogram) outputs.push(new vscode.NotebookCellOutput([new vscode.NotebookCellOutputItem(payloads.spectrogram, MIME.spectrogram)]));
  outputs.push(new vscode.NotebookCellOutput([new vscode.NotebookCellOutputItem(payloads.eventRoll, MIME.eventRoll)]));
  outputs.push(new vscode.NotebookCellOutput([vscode.NotebookCellOutputItem.text(eventsMarkdown(result, threshold), 'text/markdown')]));
  code.outputs = outputs;
  const data = new vscode.NotebookData([header, code]);
  data.metadata = { sedStudio: { kind: 'detection', file: result.file, model: result.model } };
  const notebook = await openGeneratedNotebook(dir, `${path.parse(name).name}.events`, data);
  const entry = { result, threshold, notebook };
  shown.set(notebook.uri.toString(), entry);
  lastShown = entry;
  return entry;
}

export function forgetResults(notebook: vscode.NotebookDocument): void {
  shown.delete(notebook.uri.toString());
  if (lastShown?.notebook === notebook) lastShown = undefined;
}

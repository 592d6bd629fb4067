/** "SED: Export Detection Results": the shown detection result as DCASE TSV, Audacity labels or JSON. */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { writeFileAtomic } from '../../engine/io/atomicWrite';
import { EXPORT_FORMATS, formatEvents, type ExportFormat } from '../results/export';
import { findResult } from '../results/view';

/** Arguments for scripts/tests: sedStudio.exportResults({ format, target, threshold }) writes without asking. */
export interface ExportArgs {
  format?: ExportFormat;
  target?: string;
  threshold?: number;
}

export async function exportResultsCommand(args: ExportArgs = {}): Promise<string | undefined> {
  const entry = findResult(vscode.window.activeNotebookEditor?.notebook);
  if (!entry) throw new Error('No detection result to export: run "SED: Detect Sound Events" first.');
  let format = args.format;
  if (format && !(format in EXPORT_FORMATS)) throw new Error(`unknown export format "${format}" (valid: ${Object.keys(EXPORT_FORMATS).join(', ')})`);
  if (!format) {
    const pick = await vscode.window.showQuickPick(
      (Object.keys(EXPORT_FORMATS) as ExportFormat[]).map((k) => ({ label: EXPORT_FORMATS[k].label, description: EXPORT_FORMATS[k].description, format: k })),
      { title: 'SED: export detected events as' },
    );
    if (!pick) return undefined;
    format = pick.format;
  }
  const { result } = entry;
  const threshold = args.threshold ?? entry.threshold;
  const ext = EXPORT_FORMATS[format].ext;
  let target = args.target;
  if (!target) {
    const base = path.join(path.dirname(result.file), `${path.parse(result.file).name}.events.${ext}`);
    const uri = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(base), filters: { [EXPORT_FORMATS[format].label]: [ext] } });
    if (!uri) return undefined;
    target = uri.fsPath;
  }
  writeFileAtomic(target, formatEvents(result, format, threshold));
  if (!args.target) void vscode.window.showInformationMessage(`SED: exported ${path.basename(target)}`);
  return target;
}

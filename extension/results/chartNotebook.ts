/** Opens a generated SED notebook showing a table and a trade-off chart (profile and sweep results). */
import * as vscode from 'vscode';
import { MIME } from '../../renderers/lib/encode';
import { openGeneratedNotebook } from './notebookFile';
import { rowsMarkdown, tradeoffPayload, type TradeoffRow } from './tradeoff';

export async function showTradeoffNotebook(dir: string, title: string, rows: TradeoffRow[], opts: { code: string; backend?: string; note?: string }): Promise<vscode.NotebookDocument> {
  const header = new vscode.NotebookCellData(vscode.NotebookCellKind.Markup, `# ${title}${opts.note ? `\n\n${opts.note}` : ''}`, 'markdown');
  const cell = new vscode.NotebookCellData(vscode.NotebookCellKind.Code, opts.code, 'javascript');
  cell.outputs = [
    new vscode.NotebookCellOutput([vscode.NotebookCellOutputItem.json(tradeoffPayload(rows, title), MIME.tradeoff)]),
    new vscode.NotebookCellOutput([vscode.NotebookCellOutputItem.text(rowsMarkdown(rows, opts.backend), 'text/markdown')]),
  ];
  return openGeneratedNotebook(dir, title, new vscode.NotebookData([header, cell]));
}

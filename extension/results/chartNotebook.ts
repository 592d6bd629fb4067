/** Opens a generated SED notebook showing a trade-off chart and its table (profile and sweep results). */
import * as vscode from 'vscode';
import { MIME } from '../../renderers/lib/encode';
import { openGeneratedNotebook } from './notebookFile';
import { rowsMarkdown, type TradeoffChart } from './tradeoff';

export async function showTradeoffNotebook(dir: string, chart: TradeoffChart, opts: { code: string; backend?: string; note?: string }): Promise<vscode.NotebookDocument> {
  const title = chart.title ?? 'Performance-complexity trade-off';
  const header = new vscode.NotebookCellData(vscode.NotebookCellKind.Markup, `# ${title}${opts.note ? `\n\n${opts.note}` : ''}`, 'markdown');
  const cell = new vscode.NotebookCellData(vscode.NotebookCellKind.Code, opts.code, 'javascript');
  cell.outputs = [
    new vscode.NotebookCellOutput([vscode.NotebookCellOutputItem.json(chart, MIME.tradeoff)]),
    new vscode.NotebookCellOutput([vscode.NotebookCellOutputItem.text(rowsMarkdown(chart, opts.backend), 'text/markdown')]),
  ];
  return openGeneratedNotebook(dir, title, new vscode.NotebookData([header, cell]));
}

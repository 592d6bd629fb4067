/** Opens an untitled SED notebook showing a table and a trade-off chart (profile and sweep results). */
import * as vscode from 'vscode';
import { MIME } from '../../renderers/lib/encode';
import { NOTEBOOK_TYPE } from '../notebook/serializer';
import { rowsMarkdown, tradeoffPayload, type TradeoffRow } from './tradeoff';

export async function showTradeoffNotebook(title: string, rows: TradeoffRow[], opts: { code: string; backend?: string; note?: string }): Promise<vscode.NotebookDocument> {
  const header = new vscode.NotebookCellData(vscode.NotebookCellKind.Markup, `# ${title}${opts.note ? `\n\n${opts.note}` : ''}`, 'markdown');
  const cell = new vscode.NotebookCellData(vscode.NotebookCellKind.Code, opts.code, 'javascript');
  cell.outputs = [
    new vscode.NotebookCellOutput([vscode.NotebookCellOutputItem.json(tradeoffPayload(rows, title), MIME.tradeoff)]),
    new vscode.NotebookCellOutput([vscode.NotebookCellOutputItem.text(rowsMarkdown(rows, opts.backend), 'text/markdown')]),
  ];
  const doc = await vscode.workspace.openNotebookDocument(NOTEBOOK_TYPE, new vscode.NotebookData([header, cell]));
  await vscode.window.showNotebookDocument(doc, { preview: false });
  return doc;
}

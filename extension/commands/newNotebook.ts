/** "New SED Notebook": an untitled notebook with a starter cell (snippets: type `sed-` in a cell). */
import * as vscode from 'vscode';
import { NOTEBOOK_TYPE } from '../notebook/serializer';

export async function newNotebookCommand(): Promise<vscode.NotebookDocument> {
  const data = new vscode.NotebookData([
    new vscode.NotebookCellData(vscode.NotebookCellKind.Markup, '# SED experiment\n\nCells run in the SED engine with `sed` in scope; type `sed-` for snippets.', 'markdown'),
    new vscode.NotebookCellData(vscode.NotebookCellKind.Code, 'sed.backend', 'javascript'),
  ]);
  const doc = await vscode.workspace.openNotebookDocument(NOTEBOOK_TYPE, data);
  await vscode.window.showNotebookDocument(doc);
  return doc;
}

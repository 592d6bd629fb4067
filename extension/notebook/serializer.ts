/**
 * The `sed-notebook` serializer: converts between VS Code's NotebookData and `.sednb` bytes (format.ts).
 * VS Code writes the returned bytes itself (with its own atomic save), so no file IO happens here.
 */
import * as vscode from 'vscode';
import { parseSednb, serializeSednb, type RawCell } from './format';

export const NOTEBOOK_TYPE = 'sed-notebook';

export class SednbSerializer implements vscode.NotebookSerializer {
  deserializeNotebook(content: Uint8Array): vscode.NotebookData {
    const nb = parseSednb(new TextDecoder().decode(content));
    const data = new vscode.NotebookData(
      nb.cells.map((c) => {
        const cell = new vscode.NotebookCellData(
          c.kind === 'code' ? vscode.NotebookCellKind.Code : vscode.NotebookCellKind.Markup,
          c.source,
          c.language,
        );
        cell.outputs = c.outputs.map(
          (o) => new vscode.NotebookCellOutput(o.items.map((it) => new vscode.NotebookCellOutputItem(it.data, it.mime)), o.metadata),
        );
        if (c.metadata) cell.metadata = c.metadata;
        if (c.execution) {
          cell.executionSummary = {
            executionOrder: c.execution.order,
            success: c.execution.success,
          };
        }
        return cell;
      }),
    );
    data.metadata = nb.metadata;
    return data;
  }

  serializeNotebook(data: vscode.NotebookData): Uint8Array {
    const cells: RawCell[] = data.cells.map((c) => {
      const s = c.executionSummary;
      const execution =
        s && (s.executionOrder !== undefined || s.success !== undefined)
          ? {
              ...(s.executionOrder !== undefined ? { order: s.executionOrder } : {}),
              ...(s.success !== undefined ? { success: s.success } : {}),
            }
          : undefined;
      return {
        kind: c.kind === vscode.NotebookCellKind.Code ? 'code' : 'markdown',
        language: c.languageId,
        source: c.value,
        outputs: (c.outputs ?? []).map((o) => ({ items: o.items.map((it) => ({ mime: it.mime, data: it.data })), metadata: o.metadata })),
        metadata: c.metadata,
        execution,
      };
    });
    return new TextEncoder().encode(serializeSednb({ metadata: data.metadata ?? {}, cells }));
  }
}

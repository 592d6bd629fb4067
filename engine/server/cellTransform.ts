/**
 * Rewrites one notebook cell so it can run as a REPL step in a persistent vm context:
 * - the body runs inside an async function, so top-level `await` works;
 * - top-level `const`/`let`/`var`/`function`/`class` declarations become assignments to context-level
 *   `var`s, so later cells see them and re-running a cell does not hit "already declared";
 * - `import` declarations become `require` calls (cells are scripts, not modules);
 * - a final expression statement becomes the cell's value (shown like a REPL result).
 * Source slices are kept verbatim and the wrapper sits on the first line, so line numbers in stack
 * traces match the cell's lines.
 */
import * as acorn from 'acorn';

export interface TransformedCell {
  /** Script text for `vm.runInContext`; evaluates to a Promise of the cell's value. */
  script: string;
  /** Names declared at the cell's top level. */
  declared: string[];
}

type Node = acorn.Node & Record<string, any>;

function patternNames(p: Node, out: string[]): void {
  switch (p.type) {
    case 'Identifier': out.push(p.name); break;
    case 'ObjectPattern': for (const prop of p.properties) patternNames(prop.type === 'RestElement' ? prop : prop.value, out); break;
    case 'ArrayPattern': for (const el of p.elements) if (el) patternNames(el, out); break;
    case 'AssignmentPattern': patternNames(p.left, out); break;
    case 'RestElement': patternNames(p.argument, out); break;
  }
}

/** `import` → `require` (default imports honour `__esModule` like bundlers do). */
function rewriteImport(node: Node, names: string[]): string {
  const req = `require(${JSON.stringify(node.source.value)})`;
  if (node.specifiers.length === 0) return `${req};`;
  const parts: string[] = [];
  const named: string[] = [];
  for (const s of node.specifiers) {
    names.push(s.local.name);
    if (s.type === 'ImportNamespaceSpecifier') parts.push(`${s.local.name} = ${req};`);
    else if (s.type === 'ImportDefaultSpecifier') parts.push(`${s.local.name} = ((m) => (m && m.__esModule ? m.default : m))(${req});`);
    else {
      const imported = s.imported.type === 'Identifier' ? s.imported.name : s.imported.value;
      named.push(`${JSON.stringify(imported)}: ${s.local.name}`);
    }
  }
  if (named.length) parts.push(`({ ${named.join(', ')} } = ${req});`);
  return parts.join(' ');
}

/** Parse and rewrite; a syntax error is thrown as a SyntaxError naming the cell line and column. */
export function transformCell(code: string, cellName: string): TransformedCell {
  let program: Node;
  try {
    program = acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'module', allowAwaitOutsideFunction: true, allowHashBang: true }) as Node;
  } catch (err) {
    const e = err as Error & { loc?: { line: number; column: number } };
    const where = e.loc ? `${cellName}:${e.loc.line}:${e.loc.column + 1}` : cellName;
    throw new SyntaxError(`${e.message.replace(/\s*\(\d+:\d+\)$/, '')} (${where})`);
  }
  const names: string[] = [];
  const src = (n: Node) => code.slice(n.start, n.end);
  // Replacements as [start, end, text], applied back to front so offsets stay valid.
  const edits: Array<[number, number, string]> = [];
  const body: Node[] = program.body;
  body.forEach((stmt, i) => {
    const isLast = i === body.length - 1;
    let node = stmt;
    if ((node.type === 'ExportNamedDeclaration' || node.type === 'ExportDefaultDeclaration') && node.declaration) {
      // `export` has no meaning in a cell; keep the declaration.
      edits.push([node.start, node.declaration.start, '']);
      node = node.declaration;
    }
    switch (node.type) {
      case 'VariableDeclaration': {
        const parts = node.declarations.map((d: Node) => {
          patternNames(d.id, names);
          return d.init ? `void (${src(d.id)} = ${src(d.init)});` : '';
        });
        edits.push([node.start, node.end, parts.join(' ')]);
        break;
      }
      case 'FunctionDeclaration':
      case 'ClassDeclaration':
        if (node.id) {
          names.push(node.id.name);
          edits.push([node.start, node.start, `${node.id.name} = `]);
          edits.push([node.end, node.end, ';']);
        }
        break;
      case 'ImportDeclaration':
        edits.push([node.start, node.end, rewriteImport(node, names)]);
        break;
      case 'ExpressionStatement':
        if (isLast) edits.push([node.start, node.end, `return (${src(node.expression)});`]);
        break;
    }
  });
  let rewritten = code;
  for (const [start, end, text] of edits.sort((a, b) => b[0] - a[0] || b[1] - a[1])) rewritten = rewritten.slice(0, start) + text + rewritten.slice(end);
  const declared = [...new Set(names)];
  const hoist = declared.length ? `var ${declared.join(', ')}; ` : '';
  // Everything added stays on line 1 (and the closing on the last line) so lines keep their numbers.
  return { script: `${hoist}(async () => { 'use strict'; ${rewritten.replace(/^#!.*/, '')}\n})()`, declared };
}

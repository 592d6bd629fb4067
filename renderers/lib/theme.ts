/**
 * Theme: everything is styled from VS Code's `--vscode-*` CSS variables (set on the output webview's
 * body), with fallbacks for other hosts (a plain browser page, the tests). Canvas drawing cannot use
 * CSS variables directly, so `themeColors` resolves them to concrete colours at draw time.
 */
const STYLE_ID = 'sed-studio-renderer-style';

const CSS = `
.sed-root {
  --sed-fg: var(--vscode-editor-foreground, #cccccc);
  --sed-bg: var(--vscode-editor-background, #1e1e1e);
  --sed-muted: var(--vscode-descriptionForeground, #9d9d9d);
  --sed-grid: var(--vscode-editorWidget-border, #454545);
  --sed-accent: var(--vscode-focusBorder, #007fd4);
  --sed-error-fg: var(--vscode-errorForeground, #f48771);
  --sed-error-bg: var(--vscode-inputValidation-errorBackground, #5a1d1d);
  --sed-cursor: var(--vscode-editorCursor-foreground, #ffffff);
  color: var(--sed-fg);
  font-family: var(--vscode-font-family, system-ui, sans-serif);
  font-size: var(--vscode-font-size, 13px);
  position: relative;
}
.sed-root .sed-title { font-weight: 600; margin: 2px 0 6px; }
.sed-root .sed-toolbar { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin: 4px 0; }
.sed-root button, .sed-root select {
  color: var(--vscode-button-secondaryForeground, var(--sed-fg));
  background: var(--vscode-button-secondaryBackground, #3a3d41);
  border: 1px solid var(--vscode-button-border, transparent);
  border-radius: 2px; padding: 2px 8px; font: inherit; cursor: pointer;
}
.sed-root select { background: var(--vscode-dropdown-background, #3c3c3c); color: var(--vscode-dropdown-foreground, var(--sed-fg)); }
.sed-root input[type=range] { accent-color: var(--sed-accent); }
.sed-root .sed-readout { font-family: var(--vscode-editor-font-family, monospace); color: var(--sed-muted); min-height: 1.3em; white-space: pre; }
.sed-root canvas { display: block; }
.sed-root svg text { fill: var(--sed-fg); font: inherit; font-size: 11px; }
.sed-root svg .sed-axis line, .sed-root svg .sed-axis path { stroke: var(--sed-muted); }
.sed-root svg .sed-gridline { stroke: var(--sed-grid); stroke-dasharray: 2 3; }
.sed-root .sed-legend { display: flex; flex-wrap: wrap; gap: 4px 12px; font-size: 12px; }
.sed-root .sed-legend label { display: inline-flex; align-items: center; gap: 4px; cursor: pointer; }
.sed-root .sed-swatch { display: inline-block; width: 12px; height: 3px; }
.sed-error {
  color: var(--sed-error-fg, var(--vscode-errorForeground, #f48771));
  background: var(--sed-error-bg, var(--vscode-inputValidation-errorBackground, #5a1d1d));
  border: 1px solid var(--vscode-inputValidation-errorBorder, #be1100);
  padding: 6px 10px; border-radius: 2px;
}
.sed-error pre { white-space: pre-wrap; margin: 4px 0 0; font-family: var(--vscode-editor-font-family, monospace); }
`;

/** Add the shared stylesheet to `doc` once. */
export function injectTheme(doc: Document): void {
  if (doc.getElementById(STYLE_ID)) return;
  const style = doc.createElement('style');
  style.id = STYLE_ID;
  style.textContent = CSS;
  doc.head.append(style);
}

export interface ThemeColors {
  fg: string;
  bg: string;
  muted: string;
  grid: string;
  accent: string;
  cursor: string;
  font: string;
}

/** Resolve the theme variables (as set on `el`'s ancestors) to colours usable on a canvas. */
export function themeColors(el: HTMLElement): ThemeColors {
  const cs = getComputedStyle(el);
  const v = (name: string, fallback: string) => cs.getPropertyValue(name).trim() || fallback;
  return {
    fg: v('--sed-fg', '#cccccc'),
    bg: v('--sed-bg', '#1e1e1e'),
    muted: v('--sed-muted', '#9d9d9d'),
    grid: v('--sed-grid', '#454545'),
    accent: v('--sed-accent', '#007fd4'),
    cursor: v('--sed-cursor', '#ffffff'),
    font: `11px ${cs.fontFamily || 'sans-serif'}`,
  };
}

/** Ten distinguishable series colours (Tableau 10), used by the SVG charts. */
export const SERIES_COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

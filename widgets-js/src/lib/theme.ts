// Colours come from the host's CSS variables (JupyterLab, Notebook 7, VS Code), with system colours as fallback,
// so light and dark themes both work without configuration.

export const BASE_CSS = `
.llmlens {
  --ll-bg: var(--jp-layout-color0, var(--vscode-editor-background, Canvas));
  --ll-fg: var(--jp-ui-font-color1, var(--vscode-editor-foreground, CanvasText));
  --ll-muted: var(--jp-ui-font-color2, var(--vscode-descriptionForeground, GrayText));
  --ll-border: var(--jp-border-color2, var(--vscode-panel-border, rgba(128, 128, 128, 0.35)));
  --ll-accent: var(--jp-brand-color1, var(--vscode-focusBorder, #1976d2));
  --ll-mono: var(--jp-code-font-family, var(--vscode-editor-font-family, ui-monospace, monospace));
  --ll-font: var(--jp-ui-font-family, var(--vscode-font-family, system-ui, sans-serif));
  color: var(--ll-fg);
  background: var(--ll-bg);
  font-family: var(--ll-font);
  font-size: 13px;
  line-height: 1.45;
  outline: none;
}
.llmlens:focus-visible { box-shadow: 0 0 0 2px var(--ll-accent); }
.llmlens .ll-muted { color: var(--ll-muted); }
.llmlens .ll-note { color: var(--ll-muted); font-style: italic; margin: 4px 0; }
.llmlens button {
  font: inherit; color: inherit; background: transparent; border: 1px solid var(--ll-border);
  border-radius: 4px; padding: 1px 8px; cursor: pointer;
}
.llmlens button[aria-pressed="true"] { border-color: var(--ll-accent); color: var(--ll-accent); }
`;

/** Add `css` to the widget's element once (scoped by the .llmlens class, so it cannot leak into the page). */
export function applyTheme(el: HTMLElement, css: string): void {
  const style = document.createElement("style");
  style.textContent = BASE_CSS + css;
  el.appendChild(style);
}

/** Background for a "surprise" in [0, 1]: transparent when the model was sure, warm when it was not. */
export function surpriseColour(surprise: number): string {
  if (!Number.isFinite(surprise) || surprise <= 0.02) return "transparent";
  const alpha = Math.min(1, surprise) * 0.7;
  return `rgba(239, 108, 0, ${alpha.toFixed(3)})`;
}

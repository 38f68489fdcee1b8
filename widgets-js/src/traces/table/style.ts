export const ROW_HEIGHT = 26;

export const TABLE_CSS = `
.ll-trace-table { display: flex; flex-direction: column; gap: 6px; padding: 4px 2px; }
.ll-trace-table > .ll-toolbar { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
.ll-trace-table > .ll-toolbar input { font: inherit; color: inherit; background: var(--ll-bg);
  border: 1px solid var(--ll-border); border-radius: 4px; padding: 1px 6px; }
.ll-trace-table > .ll-toolbar .ll-search { width: 220px; }
.ll-trace-table > .ll-toolbar .ll-where { flex: 1; min-width: 240px; font-family: var(--ll-mono); }
.ll-trace-table > .ll-error { color: #d62728; white-space: pre-wrap; font-family: var(--ll-mono); font-size: 12px; }
.ll-trace-table > .ll-grid { border: 1px solid var(--ll-border); border-radius: 4px; overflow: auto; position: relative;
  height: 380px; }
.ll-trace-table > .ll-grid .ll-header, .ll-trace-table > .ll-grid .ll-row { display: grid; grid-template-columns: var(--ll-columns);
  align-items: center; min-width: max-content; }
.ll-trace-table > .ll-grid .ll-header { position: sticky; top: 0; z-index: 2; background: var(--ll-bg);
  border-bottom: 1px solid var(--ll-border); font-weight: 600; }
.ll-trace-table > .ll-grid .ll-header button { border: none; border-radius: 0; text-align: left; padding: 3px 6px;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.ll-trace-table > .ll-grid .ll-header button[aria-sort=ascending]::after { content: " ▲"; }
.ll-trace-table > .ll-grid .ll-header button[aria-sort=descending]::after { content: " ▼"; }
.ll-trace-table > .ll-grid .ll-header span { padding: 3px 6px; }
.ll-trace-table > .ll-grid .ll-body { position: relative; }
.ll-trace-table > .ll-grid .ll-row { position: absolute; left: 0; right: 0; height: ${ROW_HEIGHT}px; cursor: default;
  border-bottom: 1px solid color-mix(in srgb, var(--ll-border) 40%, transparent); }
.ll-trace-table > .ll-grid .ll-row:hover { background: color-mix(in srgb, var(--ll-accent) 8%, transparent); }
.ll-trace-table > .ll-grid .ll-row[aria-selected=true] { background: color-mix(in srgb, var(--ll-accent) 20%, transparent); }
.ll-trace-table > .ll-grid .ll-row.ll-cursor { outline: 1px solid var(--ll-accent); outline-offset: -1px; }
.ll-trace-table > .ll-grid .ll-row.ll-opened { box-shadow: inset 3px 0 0 var(--ll-accent); }
.ll-trace-table > .ll-grid .ll-cell { padding: 0 6px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.ll-trace-table > .ll-grid .ll-cell.ll-num { text-align: right; font-variant-numeric: tabular-nums; }
.ll-trace-table > .ll-grid .ll-cell.ll-loading { color: var(--ll-muted); }
.ll-trace-table > .ll-grid .ll-status-ERROR { color: #d62728; font-weight: 600; }
.ll-trace-table > .ll-grid .ll-status-OK { color: #2e7d32; }
.ll-trace-table > .ll-grid .ll-check-failed { color: #d62728; }
.ll-trace-table > .ll-grid .ll-empty { padding: 12px; color: var(--ll-muted); }
.ll-trace-table > .ll-trace-pane:empty { display: none; }
.ll-trace-table > .ll-trace-pane { border-top: 2px solid var(--ll-border); padding-top: 6px; }
`;

/** Widths of the table's columns, by kind (text columns named input/output take the rest). */
export function columnWidth(name: string, kind: string): string {
  if (name === "input" || name === "output") return "minmax(220px, 1fr)";
  switch (kind) {
    case "time":
      return "150px";
    case "ms":
    case "int":
    case "usd":
      return "86px";
    case "status":
      return "64px";
    case "checks":
      return "70px";
    case "labels":
      return "150px";
    default:
      return name === "root_name" ? "170px" : "120px";
  }
}

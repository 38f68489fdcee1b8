import { ROW_HEIGHT } from "./tree";

// Kind colours: one hue per span kind, used by the badge and the waterfall bar.
const KIND_COLOURS: Array<[string, string]> = [
  ["llm", "#7e57c2"],
  ["chain", "#1976d2"],
  ["retriever", "#00897b"],
  ["embedding", "#5d8aa8"],
  ["reranker", "#43a047"],
  ["tool", "#ef6c00"],
  ["agent", "#c2185b"],
  ["guardrail", "#6d4c41"],
  ["evaluator", "#827717"],
  ["prompt", "#0097a7"],
  ["handoff", "#ad1457"],
  ["unknown", "#8e8e8e"],
  ["other", "#8e8e8e"],
];

export const TRACE_CSS = `
.ll-trace { container-type: inline-size; padding: 4px 2px; display: flex; flex-direction: column; gap: 6px;
  --ll-error: #d62728; --ll-ok: #2e7d32; --ll-critical: #ef6c00;
  --ll-grid-line: color-mix(in srgb, var(--ll-border) 55%, transparent);
  --ll-tree-w: minmax(260px, 44%); }
${KIND_COLOURS.map(([kind, colour]) => `.ll-trace .ll-k-${kind} { --ll-kc: ${colour}; }`).join("\n")}
.ll-trace .ll-trace-head { display: flex; flex-wrap: wrap; gap: 4px 12px; align-items: baseline; }
.ll-trace .ll-trace-head .ll-root-name { font-weight: 600; font-size: 14px; overflow-wrap: anywhere; }
.ll-trace .ll-trace-head .ll-errors { color: var(--ll-error); font-weight: 600; }
.ll-trace .ll-truncated { color: var(--ll-critical); }
.ll-trace .ll-toolbar { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; font-size: 12px; }
.ll-trace .ll-legend { display: inline-flex; gap: 4px; align-items: center; color: var(--ll-muted); }
.ll-trace .ll-legend-critical { display: inline-block; width: 18px; height: 8px; border-radius: 2px;
  background: var(--ll-muted); box-shadow: 0 0 0 2px var(--ll-critical); }
.ll-trace .ll-trace-body { display: grid; grid-template-columns: minmax(0, 1fr); gap: 8px; }
@container (min-width: 1000px) {
  .ll-trace .ll-trace-body { grid-template-columns: minmax(0, 3fr) minmax(340px, 2fr); }
  .ll-trace .ll-detail-pane { max-height: 560px; overflow-y: auto; }
}
.ll-trace .ll-tree-box { position: relative; height: 460px; min-height: 120px; overflow: auto; resize: vertical;
  border: 1px solid var(--ll-border); border-radius: 4px; overflow-anchor: none; }
.ll-trace .ll-tree-header, .ll-trace .ll-span-row { display: grid; grid-template-columns: var(--ll-tree-w) 1fr;
  align-items: center; }
.ll-trace .ll-tree-header { position: sticky; top: 0; z-index: 2; height: 24px; background: var(--ll-bg);
  border-bottom: 1px solid var(--ll-border); color: var(--ll-muted); font-size: 11px; }
.ll-trace .ll-tree-header .ll-cell-tree { padding-left: 20px; }
.ll-trace .ll-spacer { position: relative; contain: strict; width: 100%; }
.ll-trace .ll-span-row { position: absolute; top: 0; left: 0; right: 0; height: ${ROW_HEIGHT}px; cursor: default;
  font-size: 12px; will-change: transform; contain: strict; }
.ll-trace .ll-span-row:hover { background: color-mix(in srgb, var(--ll-accent) 7%, transparent); }
.ll-trace .ll-span-row[aria-selected=true] { background: color-mix(in srgb, var(--ll-accent) 20%, transparent); }
.ll-trace:focus .ll-span-row[aria-selected=true] { outline: 1px solid var(--ll-accent); outline-offset: -1px; }
.ll-trace .ll-cell-tree { display: flex; align-items: center; gap: 4px; min-width: 0; height: 100%; padding-right: 6px;
  border-right: 1px solid var(--ll-border); overflow: hidden; white-space: nowrap; }
.ll-trace .ll-caret { flex: 0 0 12px; width: 12px; text-align: center; color: var(--ll-muted); cursor: pointer;
  user-select: none; }
.ll-trace .ll-kind { flex: 0 0 auto; min-width: 26px; padding: 0 3px; border-radius: 3px; font-size: 9.5px;
  font-weight: 600; line-height: 14px; text-align: center; letter-spacing: 0.02em; color: var(--ll-kc, #8e8e8e);
  background: color-mix(in srgb, var(--ll-kc, #8e8e8e) 16%, transparent); }
.ll-trace .ll-name { flex: 1 1 auto; min-width: 0; overflow: hidden; text-overflow: ellipsis; }
.ll-trace .ll-flags { flex: 0 0 auto; color: var(--ll-critical); font-size: 11px; }
.ll-trace .ll-span-row.ll-failed .ll-flags, .ll-trace .ll-span-row.ll-failed .ll-name { color: var(--ll-error); }
.ll-trace .ll-span-row.ll-failed { background: color-mix(in srgb, var(--ll-error) 7%, transparent); }
.ll-trace .ll-span-row.ll-failed[aria-selected=true] { background: color-mix(in srgb, var(--ll-error) 20%, transparent); }
.ll-trace .ll-dur { flex: 0 0 auto; color: var(--ll-muted); font-variant-numeric: tabular-nums; font-size: 11px; }
.ll-trace .ll-cell-bar { position: relative; height: 100%; min-width: 0; margin: 0 14px 0 8px;
  background: var(--ll-grid, none); }
.ll-trace .ll-axis { background: none; }
.ll-trace .ll-tick { position: absolute; top: 5px; transform: translateX(-50%); white-space: nowrap;
  font-variant-numeric: tabular-nums; }
.ll-trace .ll-tick:first-child { transform: none; }
.ll-trace .ll-tick.ll-tick-end { transform: translateX(-100%); }
.ll-trace .ll-wbar { position: absolute; top: 5px; height: ${ROW_HEIGHT - 10}px; min-width: 2px; border-radius: 2px;
  background: var(--ll-kc, #8e8e8e); opacity: 0.85; }
.ll-trace .ll-wbar.ll-unknown { width: 2px !important; opacity: 0.5; }
.ll-trace .ll-wbar.ll-wbar-failed { background: var(--ll-error); }
.ll-trace .ll-wbar.ll-critical { opacity: 1; box-shadow: 0 0 0 2px var(--ll-critical); }
.ll-trace .ll-empty { padding: 10px; color: var(--ll-muted); }
.ll-trace .ll-detail-pane { min-width: 0; }
.ll-trace .ll-span-detail { border: 1px solid var(--ll-border); border-radius: 4px; padding: 6px 8px; min-height: 60px; }
.ll-trace .ll-detail-title { display: flex; gap: 6px; align-items: baseline; flex-wrap: wrap; }
.ll-trace .ll-detail-name { font-size: 14px; overflow-wrap: anywhere; }
.ll-trace .ll-status { font-size: 11px; font-weight: 600; padding: 0 4px; border-radius: 3px;
  border: 1px solid currentColor; }
.ll-trace .ll-status-error { color: var(--ll-error); }
.ll-trace .ll-status-ok { color: var(--ll-ok); }
.ll-trace .ll-status-unset { color: var(--ll-muted); }
.ll-trace .ll-status-message { color: var(--ll-error); white-space: pre-wrap; overflow-wrap: anywhere; margin: 4px 0;
  font-family: var(--ll-mono); font-size: 12px; }
.ll-trace .ll-chips { display: flex; flex-wrap: wrap; gap: 4px 10px; margin: 4px 0 2px; font-size: 12px; }
.ll-trace .ll-chip { white-space: nowrap; }
.ll-trace .ll-span-id, .ll-trace .ll-mono { font-family: var(--ll-mono); font-size: 11px; overflow-wrap: anywhere; }
.ll-trace details.ll-section { margin-top: 6px; }
.ll-trace details.ll-section > summary { cursor: pointer; font-weight: 600; font-size: 12px; color: var(--ll-muted); }
.ll-trace .ll-text { white-space: pre-wrap; overflow-wrap: anywhere; max-height: 320px; overflow-y: auto;
  padding: 4px 6px; border-left: 2px solid var(--ll-border); margin: 2px 0; }
.ll-trace .ll-code { font-family: var(--ll-mono); font-size: 12px; }
.ll-trace .ll-cut { color: var(--ll-muted); font-size: 12px; font-style: italic; margin-top: 2px; display: flex;
  gap: 8px; align-items: baseline; white-space: normal; }
.ll-trace .ll-cut button { font-style: normal; font-size: 11px; }
.ll-trace .ll-message { margin: 4px 0; padding: 2px 0 2px 6px; border-left: 3px solid var(--ll-border); }
.ll-trace .ll-message .ll-text { border-left: none; padding-left: 0; }
.ll-trace .ll-message-head { display: flex; gap: 8px; font-size: 12px; }
.ll-trace .ll-role { font-weight: 600; }
.ll-trace .ll-role-system { border-left-color: #8e8e8e; }
.ll-trace .ll-role-user { border-left-color: #1976d2; }
.ll-trace .ll-role-assistant { border-left-color: #7e57c2; }
.ll-trace .ll-role-tool, .ll-trace .ll-role-function { border-left-color: #ef6c00; }
.ll-trace .ll-tool-call { margin: 2px 0 2px 8px; font-size: 12px; }
.ll-trace .ll-document { margin: 4px 0; padding: 2px 0 2px 6px; border-left: 3px solid #00897b; }
.ll-trace .ll-document-head { display: flex; gap: 8px; align-items: baseline; font-size: 12px; }
.ll-trace .ll-rank { font-weight: 600; }
.ll-trace .ll-event { margin: 4px 0; font-size: 12px; }
.ll-trace .ll-event.ll-exception strong { color: var(--ll-error); }
.ll-trace .ll-attrs { font-family: var(--ll-mono); font-size: 12px; }
.ll-trace .ll-attr-children { padding-left: 14px; }
.ll-trace .ll-attr > summary { cursor: pointer; }
.ll-trace .ll-attr-leaf { display: flex; gap: 8px; align-items: baseline; padding-left: 14px; }
.ll-trace .ll-attr-leaf > :last-child { flex: 1 1 0; min-width: 40%; }
.ll-trace .ll-key { color: var(--ll-muted); flex: 0 1 auto; overflow-wrap: anywhere; }
.ll-trace .ll-key::after { content: ":"; }
.ll-trace .ll-attr > summary .ll-key::after { content: ""; }
.ll-trace .ll-str { white-space: pre-wrap; overflow-wrap: anywhere; max-height: 240px; overflow-y: auto; min-width: 0; }
.ll-trace .ll-lit { color: var(--ll-accent); }
.ll-trace .ll-lit.ll-null { color: var(--ll-muted); }
.ll-trace .ll-more { font-size: 11px; margin: 2px 0 2px 14px; }
.ll-trace .ll-token-holder { margin-top: 2px; overflow-x: auto; }
/* under the trace table, whose rules for its own grid would reach the token viewer's */
.ll-trace .ll-tokens .ll-grid { height: auto; overflow: visible; border: none; border-radius: 0; position: static; }
`;

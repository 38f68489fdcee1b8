export const REVIEW_CSS = `
.ll-review { display: flex; flex-direction: column; gap: 6px; padding: 4px 2px; }
.ll-review .ll-review-bar, .ll-review .ll-review-controls { display: flex; flex-wrap: wrap; gap: 6px 12px;
  align-items: center; }
.ll-review .ll-review-queue { font-weight: 600; font-size: 14px; overflow-wrap: anywhere; }
.ll-review .ll-progress { font-variant-numeric: tabular-nums; }
.ll-review .ll-progress-bar { width: 120px; height: 6px; border-radius: 3px; background: var(--ll-border);
  overflow: hidden; }
.ll-review .ll-progress-fill { height: 100%; background: var(--ll-accent); }
.ll-review .ll-reason { overflow-wrap: anywhere; }
.ll-review .ll-review-controls input { font: inherit; color: inherit; background: var(--ll-bg);
  border: 1px solid var(--ll-border); border-radius: 4px; padding: 1px 6px; }
.ll-review .ll-tag-input { width: 160px; }
.ll-review .ll-note-input { flex: 1; min-width: 220px; }
.ll-review .ll-tags { display: inline-flex; flex-wrap: wrap; gap: 4px; }
.ll-review .ll-tag { max-width: 240px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.ll-review .ll-tag-key { color: var(--ll-muted); font-size: 11px; margin-right: 4px; }
.ll-review .ll-pass[aria-pressed="true"] { border-color: #2e7d32; color: #2e7d32; font-weight: 600; }
.ll-review .ll-fail[aria-pressed="true"] { border-color: #d62728; color: #d62728; font-weight: 600; }
.ll-review .ll-review-error { color: #d62728; white-space: pre-wrap; font-size: 12px; }
.ll-review .ll-review-error:empty { display: none; }
.ll-review .ll-review-hint { font-size: 12px; }
.ll-review .ll-review-trace { border-top: 2px solid var(--ll-border); padding-top: 6px; }
`;

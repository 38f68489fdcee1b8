export const CHARTS_CSS = `
.ll-charts { padding: 6px 2px; position: relative; }
.ll-charts .ll-head { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin-bottom: 6px; }
.ll-charts .ll-control { display: inline-flex; gap: 4px; align-items: center; color: var(--ll-muted); }
.ll-charts select, .ll-charts input[type=search] {
  font: inherit; color: inherit; background: var(--ll-bg); border: 1px solid var(--ll-border); border-radius: 4px; }
.ll-charts .ll-legend { display: flex; gap: 6px; align-items: flex-start; margin-bottom: 6px; }
.ll-charts .ll-legend-list { display: flex; flex-wrap: wrap; gap: 4px; max-height: 72px; overflow-y: auto; }
.ll-charts .ll-legend-item { display: inline-flex; gap: 4px; align-items: center; font-size: 12px; }
.ll-charts .ll-legend-item[aria-pressed=false] { opacity: 0.4; text-decoration: line-through; }
.ll-charts .ll-swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; }
.ll-charts .ll-chart-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 10px; }
.ll-charts .ll-chart { position: relative; min-width: 0; border: 1px solid var(--ll-border); border-radius: 4px;
  min-height: 244px; }
.ll-charts .ll-chart-title { font-size: 12px; padding: 2px 6px; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; }
.ll-charts .ll-anomalies { color: #d62728; }
.ll-charts .ll-canvas { display: block; cursor: crosshair; }
.ll-charts .ll-brush { position: absolute; top: 22px; height: 220px; background: rgba(25, 118, 210, 0.15);
  pointer-events: none; }
.ll-charts .ll-tooltip { position: absolute; z-index: 10; max-width: 320px; pointer-events: none; font-size: 12px;
  background: var(--ll-bg); border: 1px solid var(--ll-border); border-radius: 4px; padding: 4px 6px;
  box-shadow: 0 2px 6px rgba(0, 0, 0, 0.2); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.ll-charts .ll-mark-detail { color: #d62728; white-space: normal; }
`;

export const MAP_CSS = `
.ll-map { padding: 6px 2px; position: relative; }
.ll-map .ll-map-head { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-bottom: 6px; }
.ll-map .ll-map-modes { display: inline-flex; gap: 2px; }
.ll-map .ll-control { display: inline-flex; gap: 4px; align-items: center; color: var(--ll-muted); }
.ll-map select, .ll-map input[type=search] {
  font: inherit; color: inherit; background: var(--ll-bg); border: 1px solid var(--ll-border); border-radius: 4px; }
.ll-map input[type=search] { width: 14em; }
.ll-map .ll-map-status { display: flex; gap: 8px; align-items: center; min-height: 18px; font-size: 12px; }
.ll-map .ll-map-progress { width: 160px; height: 4px; background: var(--ll-border); border-radius: 2px;
  overflow: hidden; }
.ll-map .ll-map-progress > div { height: 100%; background: var(--ll-accent); width: 0; transition: width 0.2s; }
.ll-map .ll-map-body { display: flex; gap: 8px; align-items: stretch; }
.ll-map .ll-map-main { flex: 1 1 auto; min-width: 0; }
.ll-map .ll-map-area { position: relative; height: 520px; border: 1px solid var(--ll-border); border-radius: 4px;
  overflow: hidden; user-select: none; }
.ll-map .ll-map-area canvas { position: absolute; left: 0; top: 0; width: 100%; height: 100%; display: block; }
.ll-map .ll-map-area .ll-map-overlay { pointer-events: none; }
.ll-map .ll-map-area .ll-map-canvas { touch-action: none; transform-origin: 0 0; }
.ll-map .ll-map-area[data-mode=pan] .ll-map-canvas { cursor: grab; }
.ll-map .ll-map-area[data-mode=pan] .ll-map-canvas:active { cursor: grabbing; }
.ll-map .ll-map-area[data-mode=lasso] .ll-map-canvas, .ll-map .ll-map-area[data-mode=box] .ll-map-canvas {
  cursor: crosshair; }
.ll-map .ll-map-labels { position: absolute; inset: 0; pointer-events: none; overflow: hidden; }
.ll-map .ll-map-line-label { position: absolute; font-size: 11px; line-height: 1.2; padding: 0 3px; white-space: nowrap;
  background: var(--ll-bg); border: 1px solid var(--ll-border); border-radius: 3px; height: 16px;
  box-sizing: border-box; }
.ll-map .ll-map-tooltip { position: absolute; z-index: 10; max-width: 360px; pointer-events: none; font-size: 12px;
  background: var(--ll-bg); border: 1px solid var(--ll-border); border-radius: 4px; padding: 4px 6px;
  box-shadow: 0 2px 6px rgba(0, 0, 0, 0.2); white-space: pre-wrap; overflow-wrap: anywhere; }
.ll-map .ll-map-card { position: absolute; right: 8px; top: 8px; width: min(340px, 45%); max-height: calc(100% - 16px);
  overflow-y: auto; font-size: 12px; background: var(--ll-bg); border: 1px solid var(--ll-border); border-radius: 4px;
  padding: 6px 8px; box-shadow: 0 2px 6px rgba(0, 0, 0, 0.2); }
.ll-map .ll-map-card-head { display: flex; justify-content: space-between; gap: 6px; align-items: baseline; }
.ll-map .ll-map-card-text { white-space: pre-wrap; overflow-wrap: anywhere; margin: 4px 0; max-height: 240px;
  overflow-y: auto; }
.ll-map .ll-map-meta { border-collapse: collapse; }
.ll-map .ll-map-meta td { padding: 0 8px 0 0; vertical-align: top; overflow-wrap: anywhere; }
.ll-map .ll-map-legend { display: flex; flex-wrap: wrap; gap: 4px; margin-top: 6px; max-height: 96px;
  overflow-y: auto; }
.ll-map .ll-map-legend-item { display: inline-flex; gap: 4px; align-items: center; font-size: 12px; }
.ll-map .ll-swatch { display: inline-block; width: 10px; height: 10px; border-radius: 50%; }
.ll-map .ll-map-side { flex: 0 0 240px; font-size: 12px; max-height: 600px; overflow-y: auto; }
.ll-map .ll-map-side summary { cursor: pointer; font-weight: 600; }
.ll-map .ll-map-side h4 { margin: 8px 0 2px; font-size: 12px; color: var(--ll-muted); font-weight: 600; }
.ll-map .ll-map-side button { display: block; width: 100%; text-align: left; border: none; border-radius: 3px;
  padding: 2px 4px; overflow-wrap: anywhere; }
.ll-map .ll-map-side button:hover { background: var(--ll-border); }
.ll-map .ll-map-gap-group { margin: 4px 0 1px 4px; font-weight: 600; overflow-wrap: anywhere; }
`;

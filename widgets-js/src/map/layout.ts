// The map's elements: the toolbar, the status line, the map area (canvases, line labels, card, tooltip), the
// legend and the diagnostics panel. Built empty; index.ts fills and wires them.
import { append, h } from "../lib/dom";
import type { Mode } from "./gesture";

const MODES: Array<[Mode, string, string]> = [
  ["pan", "pan", "drag to pan, wheel to zoom (P)"],
  ["lasso", "lasso", "draw around points to select them (L, or shift+drag in any mode)"],
  ["box", "box", "drag a box to select points (B)"],
];

export interface Layout {
  title: HTMLElement;
  modeButtons: HTMLButtonElement[];
  colorSelect: HTMLSelectElement;
  sizeSelect: HTMLSelectElement;
  searchInput: HTMLInputElement;
  clearButton: HTMLButtonElement;
  counts: HTMLElement;
  resetButton: HTMLButtonElement;
  statusLine: HTMLElement;
  progress: HTMLElement;
  progressBar: HTMLElement;
  statusMessage: HTMLElement;
  /** Holds the renderer's canvas (added first), the overlay canvas, line labels, card and tooltip. */
  area: HTMLElement;
  overlayCanvas: HTMLCanvasElement;
  labelLayer: HTMLElement;
  card: HTMLElement;
  tooltip: HTMLElement;
  /** A hidden element whose computed colour resolves the theme's CSS variables. */
  probe: HTMLElement;
  legend: HTMLElement;
  side: HTMLDetailsElement;
  sideBody: HTMLElement;
}

export function buildLayout(root: HTMLElement): Layout {
  const modeButtons = MODES.map(([name, label, title]) =>
    h("button", { title, attrs: { "data-mode": name, "aria-pressed": "false" } }, label),
  );
  const colorSelect = h("select", { attrs: { "aria-label": "colour by" } });
  const sizeSelect = h("select", { attrs: { "aria-label": "size by" } });
  const searchInput = h("input", {
    class: "ll-map-search",
    attrs: { type: "search", placeholder: "search texts", "aria-label": "search" },
  });
  const clearButton = h("button", { class: "ll-map-clear", title: "clear the selection (Esc)" }, "clear selection");
  const counts = h("span", { class: "ll-muted ll-map-counts" });
  const resetButton = h("button", { class: "ll-map-reset", title: "show every point" }, "reset view");
  const title = h("strong", { class: "ll-map-title" });
  const control = (label: string, input: HTMLElement) => h("label", { class: "ll-control" }, label, input);
  append(
    root,
    h(
      "div",
      { class: "ll-map-head" },
      title,
      h("span", { class: "ll-map-modes" }, ...modeButtons),
      control("colour", colorSelect),
      control("size", sizeSelect),
      searchInput,
      clearButton,
      counts,
      resetButton,
    ),
  );
  const progressBar = h("div");
  const progress = h("div", { class: "ll-map-progress", attrs: { role: "progressbar" } }, progressBar);
  const statusMessage = h("span", { class: "ll-muted ll-map-message" });
  const statusLine = h("div", { class: "ll-map-status" }, progress, statusMessage);
  root.appendChild(statusLine);

  const overlayCanvas = h("canvas", { class: "ll-map-overlay" });
  const labelLayer = h("div", { class: "ll-map-labels" });
  const tooltip = h("div", { class: "ll-map-tooltip", attrs: { role: "tooltip" } });
  tooltip.hidden = true;
  const card = h("div", { class: "ll-map-card" });
  card.hidden = true;
  const probe = h("span");
  probe.hidden = true;
  const area = h("div", { class: "ll-map-area" }, overlayCanvas, labelLayer, card, tooltip, probe);
  const legend = h("div", { class: "ll-map-legend" });
  const sideBody = h("div");
  const side = h(
    "details",
    { class: "ll-map-side ll-map-diagnostics", attrs: { open: "" } },
    h("summary", {}, "diagnostics"),
    sideBody,
  );
  append(root, h("div", { class: "ll-map-body" }, h("div", { class: "ll-map-main" }, area, legend), side));
  return {
    title,
    modeButtons,
    colorSelect,
    sizeSelect,
    searchInput,
    clearButton,
    counts,
    resetButton,
    statusLine,
    progress,
    progressBar,
    statusMessage,
    area,
    overlayCanvas,
    labelLayer,
    card,
    tooltip,
    probe,
    legend,
    side,
    sideBody,
  };
}

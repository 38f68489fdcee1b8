// Run comparison: a grid of full-fidelity charts. Drag to zoom (the kernel re-queries the range at full resolution),
// double-click to zoom out, hover for every run's value, click the legend to hide runs.
import type { RenderProps } from "@anywidget/types";
import { append, clear, h } from "../lib/dom";
import { applyTheme } from "../lib/theme";
import { Buckets, type Mark, type Model, marks } from "./data";
import { type Drawn, draw, MARGIN } from "./draw";
import { bucketAt, colour, formatNumber, formatTick } from "./model";
import { CHARTS_CSS } from "./style";

const HEIGHT = 220;
const AXES: Array<[string, string]> = [
  ["step", "step"],
  ["wall_time", "wall time"],
  ["relative", "relative time"],
];

interface Panel {
  index: number;
  box: HTMLElement;
  canvas: HTMLCanvasElement;
  overlay: HTMLElement;
  drawn: Drawn | null;
  visible: boolean;
  dirty: boolean;
}

function render({ model, el }: RenderProps<Model>): () => void {
  const root = h("div", { class: "llmlens ll-charts", attrs: { tabindex: "0" } });
  applyTheme(root, CHARTS_CSS);
  el.appendChild(root);
  let data = new Buckets(model.get("_buckets"), model.get("metrics").length, model.get("_origin") ?? 0);
  let found: Mark[] = marks(model.get("_marks"));
  let filter = "";

  const control = (label: string, input: HTMLElement) => h("label", { class: "ll-control" }, label, input);
  const axis = h("select", { attrs: { "aria-label": "x-axis" } });
  const current = model.get("x");
  const axes: Array<[string, string]> = AXES.some(([value]) => value === current)
    ? AXES
    : [...AXES, [current, current]];
  for (const [value, label] of axes) axis.appendChild(h("option", { attrs: { value } }, label));
  axis.value = model.get("x");
  axis.addEventListener("change", () => save("x", axis.value));
  const smoothing = h("select", { attrs: { "aria-label": "smoothing" } });
  for (const [value, label] of [
    ["none", "none"],
    ["ema", "EMA (TensorBoard)"],
    ["twema", "time-weighted EMA (W&B)"],
  ] as const)
    smoothing.appendChild(h("option", { attrs: { value } }, label));
  smoothing.value = model.get("smoothing");
  smoothing.addEventListener("change", () => save("smoothing", smoothing.value as Model["smoothing"]));
  const weight = h("input", { attrs: { type: "range", min: "0", max: "0.99", step: "0.01", "aria-label": "weight" } });
  weight.value = String(model.get("weight"));
  weight.addEventListener("change", () => save("weight", Number(weight.value)));
  const log = h("input", { attrs: { type: "checkbox", "aria-label": "log scale" } });
  log.checked = model.get("log_y");
  log.addEventListener("change", () => save("log_y", log.checked));
  const reset = h("button", { title: "zoom out (or double-click a chart)" }, "reset zoom");
  reset.addEventListener("click", () => save("zoom", []));
  const status = h("span", { class: "ll-muted ll-status" });
  append(
    root,
    h(
      "div",
      { class: "ll-head" },
      h("strong", {}, model.get("title") || "runs"),
      control("x", axis),
      control("smoothing", smoothing),
      weight,
      control("log y", log),
      reset,
      status,
    ),
  );

  const legendFilter = h("input", { attrs: { type: "search", placeholder: "filter runs", "aria-label": "filter" } });
  const legendList = h("div", { class: "ll-legend-list" });
  root.appendChild(h("div", { class: "ll-legend" }, legendFilter, legendList));
  legendFilter.addEventListener("input", () => {
    filter = legendFilter.value.toLowerCase();
    drawLegend();
    redrawAll();
  });

  const grid = h("div", { class: "ll-chart-grid" });
  root.appendChild(grid);
  const tooltip = h("div", { class: "ll-tooltip", attrs: { role: "tooltip" } });
  tooltip.hidden = true;
  root.appendChild(tooltip);

  function save<K extends keyof Model>(name: K, value: Model[K]): void {
    if (name === "zoom" || name === "x" || name === "smoothing" || name === "weight" || name === "pixels") {
      root.dataset.state = "loading";
    }
    model.set(name, value);
    model.save_changes();
    if (name === "log_y" || name === "hidden" || name === "zoom") redrawAll();
  }

  const hidden = () => {
    const set = new Set(model.get("hidden") ?? []);
    if (filter)
      for (const [i, name] of model.get("series").entries()) if (!name.toLowerCase().includes(filter)) set.add(i);
    return set;
  };

  function drawLegend(): void {
    clear(legendList);
    const off = new Set(model.get("hidden") ?? []);
    const names = model.get("series");
    for (const [i, name] of names.entries()) {
      if (filter && !name.toLowerCase().includes(filter)) continue;
      const item = h(
        "button",
        { class: "ll-legend-item", title: "click: hide or show; shift-click: show only this one" },
        h("span", { class: "ll-swatch", attrs: { "data-series": String(i) } }),
        name,
      );
      (item.firstChild as HTMLElement).style.background = colour(i);
      item.setAttribute("aria-pressed", String(!off.has(i)));
      item.addEventListener("click", (event) => {
        const next = new Set(off);
        if (event.shiftKey) {
          next.clear();
          for (const j of names.keys()) if (j !== i) next.add(j);
        } else if (next.has(i)) next.delete(i);
        else next.add(i);
        save(
          "hidden",
          [...next].sort((a, b) => a - b),
        );
        drawLegend();
      });
      legendList.appendChild(item);
    }
  }

  const panels: Panel[] = model.get("metrics").map((key, index) => {
    const canvas = h("canvas", { class: "ll-canvas" });
    const overlay = h("div", { class: "ll-brush" });
    overlay.hidden = true;
    const count = found.filter((m) => m.chart === index).length;
    const title = h(
      "div",
      { class: "ll-chart-title" },
      key,
      count
        ? h("span", { class: "ll-anomalies", title: "anomalies marked on this chart" }, ` · ${count} marked`)
        : null,
    );
    const box = h("div", { class: "ll-chart", attrs: { "data-key": key } }, title, canvas, overlay);
    grid.appendChild(box);
    return { index, box, canvas, overlay, drawn: null, visible: false, dirty: true };
  });

  const zoomRange = () => {
    const [lo, hi] = model.get("zoom") ?? [];
    return lo !== undefined && hi !== undefined && hi > lo ? { lo, hi } : null;
  };
  const style = getComputedStyle(root);
  let sized = false;
  function paint(panel: Panel): void {
    const width = Math.max(200, panel.box.clientWidth - 2);
    const plot = width - MARGIN.left - MARGIN.right;
    if (!sized) {
      // two buckets per pixel of the charts as laid out: ask once for the width they really have
      sized = true;
      if (Math.abs(plot - model.get("pixels")) > model.get("pixels") * 0.25) save("pixels", Math.round(plot / 50) * 50);
    }
    panel.canvas.style.width = `${width}px`;
    panel.canvas.style.height = `${HEIGHT}px`;
    panel.drawn = draw(
      panel.canvas,
      data,
      {
        chart: panel.index,
        axis: model.get("x"),
        log: model.get("log_y"),
        smoothed: model.get("smoothing") !== "none",
        hidden: hidden(),
        marks: found.filter((m) => m.chart === panel.index || m.chart === -1),
        range: zoomRange(),
        width,
        height: HEIGHT,
      },
      style,
    );
    const shown = data.charts[panel.index] ?? [];
    panel.box.dataset.rows = String(shown.reduce((n, s) => n + s.end - s.start, 0));
    panel.box.dataset.series = String(shown.length);
    if (panel.drawn) {
      const { lo, hi } = panel.drawn.xDomain;
      panel.box.dataset.x0 = String(lo);
      panel.box.dataset.x1 = String(hi);
      const first = shown[0];
      if (first) panel.box.dataset.bucketWidth = String((data.x1[first.start] ?? 0) - (data.x0[first.start] ?? 0) || 0);
    }
    panel.dirty = false;
  }

  function redrawAll(): void {
    for (const panel of panels) {
      panel.dirty = true;
      if (panel.visible) paint(panel);
    }
    root.dataset.drawn = String(panels.filter((p) => !p.dirty).length);
  }

  // only charts near the viewport are drawn: a grid of hundreds of keys costs what is on screen
  const near = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        const panel = panels.find((p) => p.box === entry.target);
        if (!panel) continue;
        panel.visible = entry.isIntersecting;
        if (panel.visible && panel.dirty) paint(panel);
      }
      root.dataset.drawn = String(panels.filter((p) => !p.dirty).length);
    },
    { rootMargin: "400px 0px" },
  );
  for (const panel of panels) near.observe(panel.box);
  const resized = new ResizeObserver(() => redrawAll());
  resized.observe(grid);

  // zoom by dragging across a chart; the same x range applies to every chart
  let brush: { panel: Panel; from: number } | null = null;
  const localX = (panel: Panel, event: MouseEvent) => event.clientX - panel.canvas.getBoundingClientRect().left;
  for (const panel of panels) {
    panel.canvas.addEventListener("mousedown", (event) => {
      if (!panel.drawn) return;
      brush = { panel, from: localX(panel, event) };
      event.preventDefault();
    });
    panel.canvas.addEventListener("dblclick", () => save("zoom", []));
    panel.canvas.addEventListener("mousemove", (event) => hover(panel, event));
    panel.canvas.addEventListener("mouseleave", () => {
      tooltip.hidden = true;
    });
  }
  const onMove = (event: MouseEvent) => {
    if (!brush) return;
    const to = localX(brush.panel, event);
    const left = Math.min(brush.from, to);
    brush.panel.overlay.hidden = false;
    brush.panel.overlay.style.left = `${left}px`;
    brush.panel.overlay.style.width = `${Math.abs(to - brush.from)}px`;
  };
  const onUp = (event: MouseEvent) => {
    if (!brush) return;
    const { panel, from } = brush;
    brush = null;
    panel.overlay.hidden = true;
    const to = localX(panel, event);
    if (!panel.drawn || Math.abs(to - from) < 4) return;
    const a = panel.drawn.x.invert(Math.max(MARGIN.left, Math.min(from, to)));
    const b = panel.drawn.x.invert(Math.min(panel.canvas.clientWidth - MARGIN.right, Math.max(from, to)));
    if (b > a) save("zoom", [a, b]);
  };
  window.addEventListener("mousemove", onMove);
  window.addEventListener("mouseup", onUp);

  function hover(panel: Panel, event: MouseEvent): void {
    const drawn = panel.drawn;
    if (!drawn || brush) return;
    const px = localX(panel, event);
    const x = drawn.x.invert(px);
    const names = model.get("series");
    const smoothed = model.get("smoothing") !== "none";
    const rows: Array<[number, number, number]> = [];
    for (const segment of drawn.segments) {
      const i = bucketAt(data.x0, data.x1, segment, x);
      if (i < 0) continue;
      rows.push([segment.series, (smoothed ? data.smooth[i] : data.last[i]) ?? Number.NaN, i]);
    }
    rows.sort((a, b) => (Number.isNaN(a[1]) ? 1 : Number.isNaN(b[1]) ? -1 : b[1] - a[1]));
    clear(tooltip);
    const span = drawn.xDomain.hi - drawn.xDomain.lo;
    tooltip.appendChild(h("div", { class: "ll-muted" }, `${model.get("x")} ${formatTick(x, model.get("x"), span)}`));
    for (const [series, value, i] of rows.slice(0, 12)) {
      const swatch = h("span", { class: "ll-swatch" });
      swatch.style.background = colour(series);
      const range = `${formatNumber(data.low[i] ?? Number.NaN)}–${formatNumber(data.high[i] ?? Number.NaN)}`;
      tooltip.appendChild(
        h(
          "div",
          {},
          swatch,
          `${names[series] ?? series}: ${formatNumber(value)}`,
          h("span", { class: "ll-muted" }, ` (${range})`),
        ),
      );
    }
    if (rows.length > 12) tooltip.appendChild(h("div", { class: "ll-muted" }, `… ${rows.length - 12} more`));
    const near = found.filter(
      (m) => (m.chart === panel.index || m.chart === -1) && Math.abs(drawn.x(m.x) - px) < 5 && !hidden().has(m.series),
    );
    for (const mark of near)
      tooltip.appendChild(h("div", { class: "ll-mark-detail" }, `${names[mark.series]}: ${mark.kind}: ${mark.detail}`));
    tooltip.hidden = false;
    const box = root.getBoundingClientRect();
    const canvasBox = panel.canvas.getBoundingClientRect();
    tooltip.style.left = `${Math.min(box.width - 260, canvasBox.left - box.left + px + 12)}px`;
    tooltip.style.top = `${canvasBox.top - box.top + 8}px`;
  }

  const showStatus = () => {
    const zoom = model.get("zoom") ?? [];
    const rows = data.rows.toLocaleString();
    status.textContent = zoom.length === 2 ? `zoomed · ${rows} buckets` : `${rows} buckets`;
    root.dataset.zoom = zoom.join(",");
  };
  const onData = () => {
    data = new Buckets(model.get("_buckets"), model.get("metrics").length, model.get("_origin") ?? 0);
    showStatus();
    drawLegend();
    redrawAll();
    root.dataset.state = "ready";
  };
  const onMarks = () => {
    found = marks(model.get("_marks"));
    redrawAll();
  };
  const onAxis = () => {
    axis.value = model.get("x");
  };
  model.on("change:_buckets", onData);
  model.on("change:_marks", onMarks);
  model.on("change:log_y", redrawAll);
  model.on("change:hidden", redrawAll);
  model.on("change:x", onAxis);
  showStatus();
  drawLegend();
  root.dataset.state = "ready";
  return () => {
    near.disconnect();
    resized.disconnect();
    window.removeEventListener("mousemove", onMove);
    window.removeEventListener("mouseup", onUp);
    model.off("change:_buckets", onData);
    model.off("change:_marks", onMarks);
    model.off("change:log_y", redrawAll);
    model.off("change:hidden", redrawAll);
    model.off("change:x", onAxis);
  };
}

export default { render };

// The embedding map: queries and chunks as points (WebGL2, Canvas 2D where it is missing), coloured by a code and
// a palette. Pan, wheel zoom, lasso and box selection, search, hover text, and a focused point's retrieval lines.
import type { RenderProps } from "@anywidget/types";
import { clear, h } from "../lib/dom";
import { bindKeys } from "../lib/keys";
import { applyTheme } from "../lib/theme";
import { CanvasRenderer } from "./canvas2d";
import {
  colorSet,
  countsLine,
  decodePoints,
  defaultSize,
  diagnosticsOf,
  formatCount,
  int32sOf,
  int32View,
  legendEntries,
  lineLabel,
  type Model,
  numbersOf,
  type Points,
  palette,
  parseRgb,
  perPoint,
  rowsOf,
  rowsWithCode,
  statusOf,
} from "./data";
import { endGesture, type Gesture, type Mode, moveGesture, type Outcome, startGesture } from "./gesture";
import { GLRenderer } from "./gl";
import { GridIndex } from "./grid";
import { InfoSource } from "./info";
import { selectBox, selectPolygon, simplify } from "./lasso";
import { buildLayout } from "./layout";
import { LocalData, type PointInfo } from "./local";
import { EMPTY_SCENE, type Line, Overlay } from "./overlay";
import { fillCard, fillDiagnostics, fillLegend, fillTooltip } from "./parts";
import type { Renderer, RGB } from "./renderer";
import { MATCH, moveFlag, SELECTED } from "./state";
import { MAP_CSS } from "./style";
import { boundsOf, fitBounds, panBy, pictureMove, toData, type View, viewAttribute, zoomAt } from "./view";

/** Most retrieval lines drawn for one focused point. */
const MAX_LINES = 200;
const HOVER_MS = 60;
/** A full draw slower than this (to the next frame) makes pan and zoom move the last picture instead, redrawing
 * the points once the gesture rests (software WebGL takes about a second for a million points). */
const SLOW_DRAW_MS = 50;
/** How long a gesture must rest before the points are drawn again in that mode. */
const SETTLE_MS = 120;
const SEARCH_MS = 250;
/** A renderer on a new canvas: WebGL2 when the browser has it, else Canvas 2D. */
function createRenderer(restored: () => void): Renderer {
  try {
    return new GLRenderer(h("canvas", { class: "ll-map-canvas" }), restored);
  } catch {
    return new CanvasRenderer(h("canvas", { class: "ll-map-canvas" }));
  }
}

function render({ model, el, experimental }: RenderProps<Model>): () => void {
  const root = h("div", { class: "llmlens ll-map", attrs: { tabindex: "0" } });
  applyTheme(root, MAP_CSS);
  el.appendChild(root);
  const cleanups: Array<() => void> = [];
  const listen = (event: string, callback: () => void) => {
    model.on(event, callback);
    cleanups.push(() => model.off(event as never, callback));
  };
  const save = <K extends keyof Model>(name: K, value: Model[K]) => {
    model.set(name, value);
    model.save_changes();
  };

  const {
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
  } = buildLayout(root);
  let mode: Mode = "pan";
  for (const button of modeButtons) button.addEventListener("click", () => setMode(button.dataset.mode as Mode));
  colorSelect.addEventListener("change", () => save("color_by", colorSelect.value));
  sizeSelect.addEventListener("change", () => save("size_by", sizeSelect.value));
  let renderer = createRenderer(() => schedule());
  area.prepend(renderer.canvas);
  const overlay = new Overlay(overlayCanvas, labelLayer);
  root.dataset.renderer = renderer.kind;

  // ---- data
  let points: Points = decodePoints(null);
  let grid: GridIndex | null = null;
  let codes: Uint8Array | null = null;
  let sizes: Uint8Array | null = null;
  let roles: Uint8Array | null = null;
  let clusters: Uint8Array | null = null;
  let local = new LocalData(points, null, null, null);
  let info = new InfoSource(local, experimental);
  let state: Uint8Array = new Uint8Array(0);
  let selectedRows: Int32Array = new Int32Array(0);
  let matchRows: Int32Array = new Int32Array(0);
  let lastSelection: unknown = null;

  // ---- view
  const size = { width: 0, height: 0, dpr: 1 };
  let view: View = { cx: 0, cy: 0, scale: 1, width: 0, height: 0 };
  let fitScale = 1;
  let fitted = false;
  let userMoved = false;
  let fg: RGB = [0, 0, 0];
  let accent: RGB = [25, 118, 210];

  // ---- interaction
  let gesture: Gesture | null = null;
  let hoverRow = -1;
  let focusInfo: PointInfo | null = null;
  let lines: Line[] = [];
  let focusToken = 0;
  let hoverTimer: ReturnType<typeof setTimeout> | undefined;
  let searchTimer: ReturnType<typeof setTimeout> | undefined;
  let frame = 0;
  /** The points must be drawn again (not only the overlay). */
  let pointsDirty = true;
  /** The view the points were last drawn in; while it differs, the picture is moved by a CSS transform. */
  let drawnView: View | null = null;
  let slowDraws = false;
  let settleTimer: ReturnType<typeof setTimeout> | undefined;

  const ensureGrid = () => {
    grid ??= GridIndex.build(points.xy);
    return grid;
  };
  const searching = () => (model.get("search") ?? "").trim() !== "";
  /** Matches are highlighted (and the rest dimmed) while a search is set and has found something. */
  const hasSearch = () => searching() && matchRows.length > 0;
  const pointSize = () => (sizes ? 10 : defaultSize(points.n));

  function readColours(): void {
    probe.style.color = "var(--ll-fg)";
    fg = parseRgb(getComputedStyle(probe).color, fg);
    probe.style.color = "var(--ll-accent)";
    accent = parseRgb(getComputedStyle(probe).color, accent);
  }

  function fitView(): void {
    view = fitBounds(boundsOf(points.xy), size.width, size.height, 16);
    fitScale = view.scale;
    fitted = size.width > 0 && size.height > 0 && points.n > 0;
  }

  /** Draw at the next frame: the points too unless `points` is false (the overlay alone changed). */
  function schedule(points = true): void {
    if (points) pointsDirty = true;
    if (frame) return;
    frame = requestAnimationFrame(draw);
  }

  /** The view moved (pan, zoom): redraw, or when full draws are slow, move the last picture until it rests. */
  function moved(): void {
    userMoved = true;
    if (!slowDraws || !drawnView) {
      schedule();
      return;
    }
    schedule(false);
    clearTimeout(settleTimer);
    settleTimer = setTimeout(() => schedule(), SETTLE_MS);
  }

  function drawPoints(): void {
    pointsDirty = false;
    clearTimeout(settleTimer);
    renderer.canvas.style.transform = "";
    const started = performance.now();
    renderer.draw(view, { selection: selectedRows.length > 0, search: hasSearch(), ring: fg });
    drawnView = { ...view };
    // the next frame comes once this one is painted: how long that took is what a draw costs here
    requestAnimationFrame(() => {
      slowDraws = performance.now() - started > SLOW_DRAW_MS && points.n > 50_000;
    });
  }

  function draw(): void {
    frame = 0;
    if (size.width <= 0 || size.height <= 0) return;
    if (pointsDirty || !drawnView) drawPoints();
    else renderer.canvas.style.transform = pictureMove(drawnView, view);
    const xyOf = (row: number) => ({
      x: points.xy[2 * row] as number,
      y: points.xy[2 * row + 1] as number,
      r: pointSize() / 2 + 4,
    });
    const focusRow = focusInfo ? (points.rowOf[focusInfo.point] ?? -1) : -1;
    overlay.draw(
      view,
      {
        ...EMPTY_SCENE,
        hover: hoverRow >= 0 && !gesture ? xyOf(hoverRow) : null,
        focus: focusRow >= 0 ? xyOf(focusRow) : null,
        lines: focusRow >= 0 ? lines : [],
        lasso: gesture?.kind === "lasso" && gesture.moved ? gesture.lasso : null,
        box: gesture?.kind === "box" && gesture.moved ? [gesture.x0, gesture.y0, gesture.x, gesture.y] : null,
      },
      size.dpr,
      fg,
      accent,
    );
    root.dataset.view = viewAttribute(view);
    if (points.n) root.dataset.state = "ready";
  }

  // ---- traits -> state
  function showCounts(): void {
    const found = matchRows.length;
    counts.textContent =
      countsLine(selectedRows.length, points.n) +
      (searching() ? ` · ${formatCount(found)} match${found === 1 ? "" : "es"}` : "");
    root.dataset.selected = String(selectedRows.length);
    clearButton.disabled = selectedRows.length === 0;
  }

  function applySelection(numbers: ArrayLike<number>): void {
    const rows = rowsOf(points, numbers);
    renderer.setState(state, moveFlag(state, SELECTED, selectedRows, rows));
    selectedRows = rows;
    showCounts();
    schedule();
  }

  /** Select the given rows and tell the kernel (the point numbers, ascending). */
  function selectRows(rows: ArrayLike<number>): void {
    const numbers = numbersOf(points, rows);
    applySelection(numbers);
    lastSelection = int32View(numbers);
    save("_selection", lastSelection as DataView);
  }

  function applyMatches(numbers: ArrayLike<number>): void {
    const rows = rowsOf(points, numbers);
    renderer.setState(state, moveFlag(state, MATCH, matchRows, rows));
    matchRows = rows;
    root.dataset.matches = String(rows.length);
    showCounts();
    schedule();
  }

  function refreshMatches(): void {
    applyMatches(local.exported ? local.search(model.get("search") ?? "") : int32sOf(model.get("_matches")));
  }

  function rebuildLocal(): void {
    local = new LocalData(points, model.get("_texts"), roles, model.get("_links"));
    info = new InfoSource(local, experimental);
    onSizeOptions();
  }

  function onPoints(): void {
    points = decodePoints(model.get("_points"));
    grid = null;
    hoverRow = -1;
    renderer.setPoints(points.xy);
    state = new Uint8Array(points.n);
    selectedRows = new Int32Array(0);
    matchRows = new Int32Array(0);
    renderer.setState(state, [0, points.n]);
    root.dataset.points = String(points.n);
    onColoring();
    onSizes();
    roles = perPoint(model.get("_roles"), points.n);
    clusters = perPoint(model.get("_clusters"), points.n);
    rebuildLocal();
    applySelection(int32sOf(model.get("_selection")));
    refreshMatches();
    if (!userMoved || !fitted) fitView();
    else view = { ...view, width: size.width, height: size.height };
    onFocus();
    schedule();
  }

  /** The colour codes and legend: from the traits the kernel sets, or in an exported page from its colour sets. */
  function onColoring(): void {
    const exported = colorSet(model.get("_color_sets"), model.get("color_by") ?? "", points.n);
    codes = exported ? exported.codes : perPoint(model.get("_colors"), points.n);
    const entries = exported ? exported.legend : legendEntries(model.get("_legend"));
    renderer.setColors(codes);
    renderer.setPalette(palette(entries));
    fillLegend(legend, entries, (code) => selectRows(rowsWithCode(codes, code)));
    schedule();
  }

  function onSizes(): void {
    sizes = perPoint(model.get("_sizes"), points.n);
    renderer.setSizes(sizes, defaultSize(points.n));
    schedule();
  }

  function fillOptions(select: HTMLSelectElement, options: unknown, value: string, blank: string): void {
    const list = Array.isArray(options) ? options.map(String) : [];
    if (!list.includes(value)) list.push(value);
    clear(select);
    for (const option of list) select.appendChild(h("option", { attrs: { value: option } }, option || blank));
    select.value = value;
    select.disabled = list.length < 2;
  }
  const onColorOptions = () => fillOptions(colorSelect, model.get("_color_options"), model.get("color_by") ?? "", "—");
  const onSizeOptions = () => {
    fillOptions(sizeSelect, model.get("_size_options"), model.get("size_by") ?? "", "uniform");
    if (local.exported) sizeSelect.disabled = true; // sizes come from the kernel: a page has only the saved ones
  };

  function onStatus(): void {
    const status = statusOf(model.get("_status"));
    root.dataset.layout = status.layout;
    progress.hidden = status.progress === null;
    progressBar.style.width = `${Math.round((status.progress ?? 0) * 100)}%`;
    statusMessage.textContent = status.message;
    statusLine.hidden = status.progress === null && !status.message;
  }

  function onDiagnostics(): void {
    const shown = fillDiagnostics(sideBody, diagnosticsOf(model.get("_diagnostics")), {
      gap(point) {
        selectRows(rowsOf(points, [point]));
        save("focus", point);
      },
      dead: () => selectRows(rowsWithCode(roles, 2)),
      cluster: (code) => selectRows(rowsWithCode(clusters, code)),
    });
    side.hidden = !shown;
  }

  function onSearch(): void {
    const search = model.get("search") ?? "";
    if (searchInput.value !== search && document.activeElement !== searchInput) searchInput.value = search;
    if (local.exported) refreshMatches();
    showCounts();
    schedule();
  }

  function showFocus(found: PointInfo): void {
    focusInfo = found;
    lines = [];
    for (const n of found.neighbours) {
      if (lines.length >= MAX_LINES) break;
      const row = points.rowOf[n.point] ?? -1;
      if (row < 0) continue;
      const x = points.xy[2 * row] as number;
      const y = points.xy[2 * row + 1] as number;
      if (Number.isFinite(x) && Number.isFinite(y)) lines.push({ x, y, label: lineLabel(n.score, n.rank) });
    }
    root.dataset.lines = String(lines.length);
    fillCard(card, found, () => save("focus", -1));
    schedule(false);
  }

  function onFocus(): void {
    const focus = model.get("focus");
    const token = ++focusToken;
    const point = typeof focus === "number" && focus >= 0 && (points.rowOf[focus] ?? -1) >= 0 ? focus : -1;
    root.dataset.focus = point >= 0 ? String(point) : "";
    if (point < 0) {
      focusInfo = null;
      lines = [];
      root.dataset.lines = "0";
      card.hidden = true;
      schedule(false);
      return;
    }
    const known = info.cached(point);
    if (known) {
      showFocus(known);
      return;
    }
    void info.get(point).then((found) => {
      if (token === focusToken) showFocus(found);
    });
  }

  // ---- hover
  function hover(sx: number, sy: number): void {
    if (!points.n || gesture) return;
    const [x, y] = toData(view, sx, sy);
    const radius = Math.max(6, pointSize() / 2 + 2) / view.scale;
    const row = ensureGrid().nearest(x, y, radius);
    if (row !== hoverRow) {
      hoverRow = row;
      root.dataset.hover = row >= 0 ? String(points.point[row]) : "";
      schedule(false);
      clearTimeout(hoverTimer);
      if (row < 0) tooltip.hidden = true;
      else showTooltip(row);
    }
    if (row >= 0) placeTooltip(sx, sy);
  }

  function showTooltip(row: number): void {
    const point = points.point[row] as number;
    const role = roles ? roles[row] : null;
    const known = info.cached(point);
    fillTooltip(tooltip, point, known?.role ?? role, known ? known.text : null);
    tooltip.hidden = false;
    if (known) return;
    hoverTimer = setTimeout(() => {
      void info.get(point).then((found) => {
        if (hoverRow === row) fillTooltip(tooltip, point, found.role ?? role, found.text);
      });
    }, HOVER_MS);
  }

  function placeTooltip(sx: number, sy: number): void {
    const width = tooltip.offsetWidth || 240;
    const height = tooltip.offsetHeight || 40;
    const left = sx + 14 + width > size.width ? Math.max(0, sx - 14 - width) : sx + 14;
    const top = sy + 14 + height > size.height ? Math.max(0, sy - 14 - height) : sy + 14;
    tooltip.style.left = `${left}px`;
    tooltip.style.top = `${top}px`;
  }

  function hideHover(): void {
    clearTimeout(hoverTimer);
    tooltip.hidden = true;
    if (hoverRow >= 0) {
      hoverRow = -1;
      root.dataset.hover = "";
      schedule(false);
    }
  }

  // ---- pointer
  const local2 = (event: MouseEvent): [number, number] => {
    const box = overlayCanvas.getBoundingClientRect(); // never moved: the points' canvas is, during a gesture
    return [event.clientX - box.left, event.clientY - box.top];
  };

  function click(sx: number, sy: number, shift: boolean): void {
    const [x, y] = toData(view, sx, sy);
    const row = points.n ? ensureGrid().nearest(x, y, Math.max(6, pointSize() / 2 + 2) / view.scale) : -1;
    if (row >= 0 && shift) {
      const rows = new Set(selectedRows);
      if (rows.has(row)) rows.delete(row);
      else rows.add(row);
      selectRows([...rows]);
    } else if (row >= 0) save("focus", points.point[row] as number);
    else {
      if (model.get("focus") !== -1) save("focus", -1);
      if (selectedRows.length) selectRows([]);
    }
  }

  function finish(outcome: Outcome): void {
    if (outcome.kind === "click") click(outcome.x, outcome.y, outcome.shift);
    else if (outcome.kind === "lasso") {
      const path = simplify(outcome.path, 0.75);
      const polygon: number[] = [];
      for (let i = 0; i + 1 < path.length; i += 2)
        polygon.push(...toData(view, path[i] as number, path[i + 1] as number));
      selectRows(selectPolygon(ensureGrid(), polygon));
    } else if (outcome.kind === "box") {
      const [x0, y0] = toData(view, outcome.x0, outcome.y0);
      const [x1, y1] = toData(view, outcome.x1, outcome.y1);
      selectRows(selectBox(ensureGrid(), x0, y0, x1, y1));
    }
  }

  // pointer events, not mouse events: their coordinates keep the fraction of a pixel (a lasso drawn by a test
  // lands exactly where it was drawn), and pen and touch work too
  const onDown = (event: PointerEvent) => {
    if (event.button !== 0 || !event.isPrimary || gesture) return;
    event.preventDefault();
    root.focus({ preventScroll: true });
    const [sx, sy] = local2(event);
    gesture = startGesture(mode, event.shiftKey, sx, sy);
    hideHover();
  };
  const onMove = (event: PointerEvent) => {
    if (!event.isPrimary) return;
    const [sx, sy] = local2(event);
    if (!gesture) {
      if (event.target === renderer.canvas) hover(sx, sy);
      return;
    }
    const wasMoved = gesture.moved;
    const step = moveGesture(gesture, sx, sy);
    if (step) {
      view = panBy(view, step[0], step[1]);
      moved();
    } else if (gesture.moved || wasMoved) schedule(false); // a lasso or box being drawn: the overlay only
  };
  const onUp = (event: PointerEvent) => {
    if (!event.isPrimary) return;
    const g = gesture;
    if (!g) return;
    gesture = null;
    const [sx, sy] = local2(event);
    finish(endGesture(g, sx, sy));
    schedule(g.kind === "pan" && g.moved); // a pan ends with the points drawn where they now are
  };
  const onCancel = () => {
    gesture = null;
    schedule();
  };
  const onWheel = (event: WheelEvent) => {
    if (!points.n) return;
    event.preventDefault();
    const [sx, sy] = local2(event);
    const unit = event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? size.height : 1;
    const factor = Math.exp(-event.deltaY * unit * 0.0015);
    view = zoomAt(view, sx, sy, factor, fitScale / 8, fitScale * 20_000);
    hideHover();
    moved();
  };
  const onLeave = () => {
    if (!gesture) hideHover();
  };
  function bindCanvas(canvas: HTMLCanvasElement): void {
    canvas.addEventListener("pointerdown", onDown);
    canvas.addEventListener("wheel", onWheel, { passive: false });
    canvas.addEventListener("pointerleave", onLeave);
  }
  bindCanvas(renderer.canvas);
  window.addEventListener("pointermove", onMove);
  window.addEventListener("pointerup", onUp);
  window.addEventListener("pointercancel", onCancel);
  cleanups.push(() => {
    window.removeEventListener("pointermove", onMove);
    window.removeEventListener("pointerup", onUp);
    window.removeEventListener("pointercancel", onCancel);
  });

  function setMode(next: Mode): void {
    mode = next;
    for (const button of modeButtons) button.setAttribute("aria-pressed", String(button.dataset.mode === mode));
    root.dataset.mode = mode;
    area.dataset.mode = mode;
  }
  setMode("pan");

  function clearAll(): void {
    if (gesture) {
      gesture = null;
      schedule(false);
      return;
    }
    if (selectedRows.length) selectRows([]);
    if (model.get("focus") !== -1 && model.get("focus") !== undefined) save("focus", -1);
  }
  cleanups.push(
    bindKeys(root, {
      l: () => setMode("lasso"),
      L: () => setMode("lasso"),
      b: () => setMode("box"),
      B: () => setMode("box"),
      p: () => setMode("pan"),
      P: () => setMode("pan"),
      Escape: clearAll,
    }),
  );
  clearButton.addEventListener("click", () => selectRows([]));
  resetButton.addEventListener("click", () => {
    userMoved = false;
    fitView();
    schedule();
  });
  searchInput.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => save("search", searchInput.value), SEARCH_MS);
  });
  searchInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      clearTimeout(searchTimer);
      save("search", searchInput.value);
    }
  });

  // ---- size: the element may have no size at first (a JupyterLab cell not yet laid out)
  function onResize(): void {
    const width = area.clientWidth;
    const height = area.clientHeight;
    const dpr = window.devicePixelRatio || 1;
    if (width === size.width && height === size.height && dpr === size.dpr) return;
    Object.assign(size, { width, height, dpr });
    if (width <= 0 || height <= 0) return;
    readColours();
    renderer.resize(width, height, dpr);
    overlay.resize(width, height, dpr);
    if (!fitted || !userMoved) fitView();
    else view = { ...view, width, height };
    schedule();
  }
  const resized = new ResizeObserver(onResize);
  resized.observe(area);
  // a theme switch (JupyterLab marks it on <body>, VS Code in its classes) changes the rings' and lines' colours
  const themed = new MutationObserver(() => {
    if (size.width <= 0) return;
    readColours();
    schedule();
  });
  for (const target of [document.body, document.documentElement])
    themed.observe(target, {
      attributes: true,
      attributeFilter: ["class", "style", "data-jp-theme-name", "data-jp-theme-light"],
    });

  // a lost WebGL context that never comes back: carry on in Canvas 2D
  renderer.canvas.addEventListener("webglcontextlost", () => {
    setTimeout(() => {
      if (renderer.kind !== "webgl2" || !(renderer.canvas.getContext("webgl2")?.isContextLost() ?? true)) return;
      const old = renderer;
      renderer = new CanvasRenderer(h("canvas", { class: "ll-map-canvas" }));
      old.destroy();
      old.canvas.replaceWith(renderer.canvas);
      bindCanvas(renderer.canvas);
      root.dataset.renderer = renderer.kind;
      renderer.setPoints(points.xy);
      renderer.setSizes(sizes, defaultSize(points.n));
      onColoring();
      renderer.setState(state, [0, points.n]);
      renderer.resize(size.width, size.height, size.dpr);
      schedule();
    }, 3000);
  });

  listen("change:_points", onPoints);
  listen("change:_colors", onColoring);
  listen("change:_sizes", onSizes);
  listen("change:_legend", onColoring);
  listen("change:_color_options", onColorOptions);
  listen("change:color_by", () => {
    onColorOptions();
    if (model.get("_color_sets")) onColoring(); // an exported page recolours itself
  });
  listen("change:_size_options", onSizeOptions);
  listen("change:size_by", onSizeOptions);
  listen("change:_selection", () => {
    if (model.get("_selection") !== lastSelection) applySelection(int32sOf(model.get("_selection")));
  });
  listen("change:search", onSearch);
  listen("change:_matches", () => {
    if (!local.exported) refreshMatches();
  });
  listen("change:focus", onFocus);
  listen("change:_status", onStatus);
  listen("change:_diagnostics", onDiagnostics);
  listen("change:_roles", () => {
    roles = perPoint(model.get("_roles"), points.n);
    rebuildLocal();
    onFocus();
  });
  listen("change:_clusters", () => {
    clusters = perPoint(model.get("_clusters"), points.n);
  });
  const onPageData = () => {
    rebuildLocal();
    refreshMatches();
  };
  listen("change:_texts", onPageData);
  listen("change:_links", onPageData);
  const onTitle = () => {
    title.textContent = model.get("title") || "embedding map";
  };
  listen("change:title", onTitle);

  onTitle();
  onColorOptions();
  onSizeOptions();
  onStatus();
  onDiagnostics();
  searchInput.value = model.get("search") ?? "";
  onPoints();
  onResize();

  return () => {
    for (const cleanup of cleanups) cleanup();
    resized.disconnect();
    themed.disconnect();
    clearTimeout(hoverTimer);
    clearTimeout(searchTimer);
    clearTimeout(settleTimer);
    if (frame) cancelAnimationFrame(frame);
    renderer.destroy();
  };
}

export default { render };

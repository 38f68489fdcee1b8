// The span tree and its waterfall, one row per shown span: a tall spacer holds a few absolutely positioned row
// elements (recycled) for the rows in view, so a trace of 200,000 spans costs what its first screen costs.
import { h } from "../../lib/dom";
import { rowWindow, scrollScale, scrollToShow } from "../../lib/virtual";
import type { Spans, TraceMeta } from "./data";
import { collapseAll, expandTo, hasChildren, type Outline, positionOf, visibleRows } from "./outline";
import { barGeometry, extent, formatMs, gridBackground, type Tick, timeTicks } from "./timeline";
import { kindBadge, oneLine } from "./values";

export const ROW_HEIGHT = 22;
/** Tallest spacer (px); taller trees scale the scroll position (browsers cap element heights). */
const MAX_SPACER = 8_000_000;
/** The rows' viewport when the view is not laid out yet (not attached to the page). */
const DEFAULT_VIEW = 440;
const INDENT = 14;
/** Rows that fill the box at its CSS height (460 px); fewer rows shrink it to fit. */
const FULL_BOX_ROWS = 19;
/** The axis header and the borders, in px. */
const HEADER_ROOM = 28;
const MAX_INDENT_LEVELS = 32;

export interface TreeEvents {
  /** A row was clicked. */
  select(row: number): void;
  /** The shown rows changed (a subtree folded or unfolded). */
  changed?(): void;
}

/** The elements of one recycled row. */
interface RowElements {
  row: HTMLElement;
  tree: HTMLElement;
  caret: HTMLElement;
  kind: HTMLElement;
  name: Text;
  flags: HTMLElement;
  duration: Text;
  bar: HTMLElement;
}

export class SpanTree {
  /** The scrolling box (axis header and rows). */
  readonly element: HTMLElement;
  readonly collapsed: Uint8Array;
  private visible: Int32Array;
  private readonly buffer: Int32Array;
  private readonly header: HTMLElement;
  private readonly axis: HTMLElement;
  private readonly spacer: HTMLElement;
  /** Row elements by the row they show, and spare ones. */
  private readonly drawn = new Map<number, RowElements>();
  private readonly spare: RowElements[] = [];
  private readonly t0: number;
  private readonly t1: number;
  private selected = -1;
  private frame = 0;
  private readonly resize: ResizeObserver | null;
  private axisWidth = -1;

  constructor(
    private readonly spans: Spans,
    meta: TraceMeta,
    private readonly events: TreeEvents,
  ) {
    const n = spans.count;
    this.collapsed = new Uint8Array(n);
    this.buffer = new Int32Array(n);
    this.visible = visibleRows(spans.end, this.collapsed, this.buffer);
    [this.t0, this.t1] = extent(spans.start, spans.duration, meta.duration_ms);

    this.axis = h("div", { class: "ll-cell-bar ll-axis" });
    this.header = h(
      "div",
      { class: "ll-tree-header" },
      h(
        "div",
        { class: "ll-cell-tree" },
        h("span", { class: "ll-name" }, "span"),
        h("span", { class: "ll-dur" }, "duration"),
      ),
      this.axis,
    );
    this.spacer = h("div", { class: "ll-spacer", attrs: { role: "tree", "aria-label": "spans" } });
    this.element = h("div", { class: "ll-tree-box" }, this.header, this.spacer);
    // a small trace takes the room it needs, not the full box
    if (n < FULL_BOX_ROWS) this.element.style.height = `${n * ROW_HEIGHT + HEADER_ROOM}px`;

    this.spacer.addEventListener("click", (event) => {
      const target = event.target as HTMLElement;
      const row = rowOf(target);
      if (row < 0) return;
      if (target.closest(".ll-caret") && hasChildren(this.spans.end, row)) this.toggle(row);
      else this.events.select(row);
    });
    this.spacer.addEventListener("dblclick", (event) => {
      const row = rowOf(event.target as HTMLElement);
      if (row >= 0 && hasChildren(this.spans.end, row)) this.toggle(row);
    });
    this.element.addEventListener("scroll", this.schedule, { passive: true });
    this.resize =
      typeof ResizeObserver === "undefined"
        ? null
        : new ResizeObserver(() => {
            this.layoutAxis();
            this.schedule();
          });
    this.resize?.observe(this.element);
  }

  /** The outline the keyboard moves over. */
  get outline(): Outline {
    return { visible: this.visible, end: this.spans.end, parent: this.spans.parent, collapsed: this.collapsed };
  }

  /** How many rows a page (the viewport) holds. */
  get pageRows(): number {
    return Math.max(1, Math.floor(this.viewHeight() / ROW_HEIGHT) - 1);
  }

  /** The number of rows shown. */
  get shownCount(): number {
    return this.visible.length;
  }

  setSelected(row: number, reveal: boolean): void {
    this.selected = row;
    if (reveal && row >= 0) this.reveal(row);
    else this.draw();
  }

  /** Expand the ancestors of `row` and scroll it into view. */
  reveal(row: number): void {
    if (expandTo(this.spans.parent, this.collapsed, row)) this.refold();
    const position = positionOf(this.visible, row);
    if (position < 0) {
      this.draw();
      return;
    }
    const view = this.viewHeight();
    const scale = this.scale(view);
    const top = this.element.scrollTop * scale;
    const wanted = scrollToShow(position, ROW_HEIGHT, top, view);
    if (wanted !== top) this.element.scrollTop = wanted / scale;
    this.draw();
  }

  toggle(row: number): void {
    if (this.collapsed[row]) this.expand(row);
    else this.collapse(row);
  }

  collapse(row: number): void {
    if (!hasChildren(this.spans.end, row) || this.collapsed[row]) return;
    this.collapsed[row] = 1;
    this.refold();
    // a selection inside the folded subtree moves up to the folded row
    if (this.selected > row && this.selected < (this.spans.end[row] as number)) this.events.select(row);
  }

  expand(row: number): void {
    if (!this.collapsed[row]) return;
    this.collapsed[row] = 0;
    this.refold();
  }

  collapseAll(): void {
    collapseAll(this.spans.end, this.collapsed);
    this.refold();
    if (this.selected >= 0 && positionOf(this.visible, this.selected) < 0) {
      let root = this.selected;
      while ((this.spans.parent[root] ?? -1) >= 0) root = this.spans.parent[root] as number;
      this.events.select(root);
    }
  }

  expandAll(): void {
    this.collapsed.fill(0);
    this.refold();
  }

  /** Draw at the next frame (scrolling, resizing). */
  readonly schedule = (): void => {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  };

  /**
   * Put the rows in view into row elements. A row still in view keeps its element (only its place is set, so
   * scrolling lays out just the rows that come into view); elements of rows that left are reused for new ones.
   */
  draw(): void {
    if (this.axisWidth < 0) this.layoutAxis();
    const visible = this.visible;
    const count = visible.length;
    const view = this.viewHeight();
    const height = `${Math.min(count * ROW_HEIGHT, MAX_SPACER)}px`;
    if (this.spacer.style.height !== height) this.spacer.style.height = height;
    const scroll = this.element.scrollTop;
    const top = scroll * this.scale(view);
    const [first, last] = rowWindow(top, view, ROW_HEIGHT, count);
    for (const [row, elements] of this.drawn) {
      const at = positionOf(visible, row);
      if (at < first || at >= last) {
        this.drawn.delete(row);
        this.spare.push(elements);
      }
    }
    for (let p = first; p < last; p++) {
      const row = visible[p] as number;
      let elements = this.drawn.get(row);
      if (!elements) {
        elements = this.spare.pop() ?? this.newRow();
        this.drawn.set(row, elements);
      }
      this.fillRow(elements, row, scroll + (p * ROW_HEIGHT - top));
    }
    for (const elements of this.spare) if (!elements.row.hidden) elements.row.hidden = true;
  }

  destroy(): void {
    cancelAnimationFrame(this.frame);
    this.resize?.disconnect();
    this.element.removeEventListener("scroll", this.schedule);
  }

  private refold(): void {
    this.visible = visibleRows(this.spans.end, this.collapsed, this.buffer);
    this.draw();
    this.events.changed?.();
  }

  private viewHeight(): number {
    const box = this.element.clientHeight;
    return box > 0 ? Math.max(ROW_HEIGHT, box - this.header.offsetHeight) : DEFAULT_VIEW;
  }

  private scale(view: number): number {
    return scrollScale(this.visible.length * ROW_HEIGHT, MAX_SPACER, view);
  }

  /** Ticks for the axis's width, and the same lines behind every row's bar. */
  private layoutAxis(): void {
    const width = this.axis.clientWidth;
    if (width === this.axisWidth && width > 0) return;
    this.axisWidth = width;
    const ticks: Tick[] = timeTicks(this.t0, this.t1, width > 0 ? width : 400);
    this.axis.replaceChildren(
      ...ticks.map((tick) => {
        const label = h("span", { class: "ll-tick" }, tick.label);
        label.style.left = `${(tick.at * 100).toFixed(3)}%`;
        if (tick.at > 0.92) label.classList.add("ll-tick-end");
        return label;
      }),
    );
    this.element.style.setProperty("--ll-grid", gridBackground(ticks, "var(--ll-grid-line)"));
  }

  private newRow(): RowElements {
    const caret = h("span", { class: "ll-caret" });
    const kind = h("span", { class: "ll-kind" });
    const name = document.createTextNode("");
    const flags = h("span", { class: "ll-flags" });
    const duration = document.createTextNode("");
    const tree = h(
      "div",
      { class: "ll-cell-tree" },
      caret,
      kind,
      h("span", { class: "ll-name" }, name),
      flags,
      h("span", { class: "ll-dur" }, duration),
    );
    const bar = h("div", { class: "ll-wbar" });
    const row = h(
      "div",
      { class: "ll-span-row", attrs: { role: "treeitem" } },
      tree,
      h("div", { class: "ll-cell-bar" }, bar),
    );
    this.spacer.appendChild(row);
    return { row, tree, caret, kind, name, flags, duration, bar };
  }

  private fillRow(e: RowElements, i: number, top: number): void {
    const s = this.spans;
    const { row } = e;
    if (row.hidden) row.hidden = false;
    const place = `translateY(${top}px)`;
    if (row.style.transform !== place) row.style.transform = place;
    if (row.dataset.row === String(i) && row.dataset.fold === String(this.collapsed[i])) {
      const selected = i === this.selected;
      if ((row.getAttribute("aria-selected") === "true") !== selected)
        row.setAttribute("aria-selected", String(selected));
      return; // same row as last time: only its place and selection can have changed
    }
    const id = s.id.at(i) ?? "";
    row.dataset.row = String(i);
    row.dataset.spanId = id;
    row.dataset.fold = String(this.collapsed[i]);
    row.setAttribute("aria-selected", String(i === this.selected));
    const depth = s.depth[i] ?? 0;
    row.setAttribute("aria-level", String(depth + 1));
    const parent = hasChildren(s.end, i);
    if (parent) row.setAttribute("aria-expanded", String(!this.collapsed[i]));
    else row.removeAttribute("aria-expanded");
    const kind = s.kind.at(i);
    const status = s.status.at(i);
    const failed = status === "ERROR";
    row.classList.toggle("ll-failed", failed);
    row.classList.toggle("ll-orphan", s.orphan[i] === 1);
    e.tree.style.paddingLeft = `${4 + Math.min(depth, MAX_INDENT_LEVELS) * INDENT}px`;
    e.caret.textContent = parent ? (this.collapsed[i] ? "▸" : "▾") : "";
    const badge = kindBadge(kind);
    e.kind.textContent = badge.label;
    e.kind.className = `ll-kind ${badge.cls}`;
    const name = oneLine(s.name.at(i)) || "(unnamed)";
    e.name.data = name;
    const duration = s.duration[i] as number;
    e.duration.data = formatMs(duration);
    let flags = "";
    if (failed) flags += "✕";
    if (s.orphan[i]) flags += "⚠";
    if (s.hasTokens[i]) flags += "¶";
    e.flags.textContent = flags;
    const start = s.start[i] as number;
    const model = s.model.at(i);
    const hidden = this.collapsed[i] ? ` · ${((s.end[i] as number) - i - 1).toLocaleString("en-US")} hidden` : "";
    row.title =
      `${name}\n${kind ?? "UNKNOWN"} · ${status ?? "UNSET"}` +
      (Number.isFinite(start) ? ` · starts +${formatMs(start)}` : "") +
      (Number.isFinite(duration) ? ` · takes ${formatMs(duration)}` : "") +
      (model ? ` · ${model}` : "") +
      (s.orphan[i] ? "\norphan: its parent never arrived, or it sits in a parent cycle" : "") +
      (s.critical[i] ? "\non the critical path" : "") +
      (depth > MAX_INDENT_LEVELS ? `\ndepth ${depth}` : "") +
      hidden;
    const bar = barGeometry(start, duration, this.t0, this.t1);
    const b = e.bar;
    b.className = `ll-wbar ${badge.cls}`;
    if (!bar) {
      b.hidden = true;
      return;
    }
    b.hidden = false;
    b.style.left = `${(bar.left * 100).toFixed(4)}%`;
    b.style.width = `${(bar.width * 100).toFixed(4)}%`;
    if (!bar.known) b.classList.add("ll-unknown");
    if (failed) b.classList.add("ll-wbar-failed");
    if (s.critical[i]) b.classList.add("ll-critical");
  }
}

function rowOf(target: HTMLElement): number {
  const row = target.closest<HTMLElement>(".ll-span-row");
  return row?.dataset.row ? Number(row.dataset.row) : -1;
}

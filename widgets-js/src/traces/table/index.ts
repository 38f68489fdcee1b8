// The trace table: every trace in the store, paged by the kernel (only the rows in view travel), sorted and
// searched by query; rows selected with click / shift / ctrl, opened with Enter or a double-click (the trace
// view shows under the table).
import type { Experimental } from "@anywidget/types";
import { decodeArrow, type Table } from "../../lib/arrow";
import { append, clear, h } from "../../lib/dom";
import { bindKeys } from "../../lib/keys";
import { applyTheme } from "../../lib/theme";
import { rowWindow, scrollScale } from "../../lib/virtual";
import { renderTrace } from "../trace/index";
import { type ColumnKind, formatCell, formatChecks } from "./format";
import { clickSelect, pagesFor } from "./selection";
import { columnWidth, ROW_HEIGHT, TABLE_CSS } from "./style";

export interface Column {
  name: string;
  label: string;
  type: ColumnKind;
  sortable: boolean;
}

// biome-ignore lint/suspicious/noExplicitAny: the trace view reads its own traits from the same model
export type TableModel = any;

const PAGE = 100;
const MAX_SPACER = 8_000_000; // px; past this the scroll position is scaled (browsers cap element heights)
const NUMERIC = new Set(["ms", "int", "usd"]);

interface Row {
  id: string;
  cells: string[];
  status: string;
  failed: boolean;
  title: string;
}

/** A page's rows, formatted once when they arrive. */
function pageRows(table: Table, columns: Column[]): Row[] {
  const get = (name: string) => table.getChild(name)?.toArray() as ArrayLike<unknown> | undefined;
  const ids = get("trace_id") as ArrayLike<string>;
  const values = columns.map((c) => (c.type === "checks" ? undefined : get(c.name)));
  const passed = get("checks_passed") as ArrayLike<number> | undefined;
  const failed = get("checks_failed") as ArrayLike<number> | undefined;
  const status = get("status") as ArrayLike<string> | undefined;
  const input = get("input") as ArrayLike<string | null> | undefined;
  const rows: Row[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const cells = columns.map((c, k) =>
      c.type === "checks"
        ? formatChecks(Number(passed?.[i] ?? 0), Number(failed?.[i] ?? 0))
        : formatCell(c.type, values[k]?.[i]),
    );
    rows.push({
      id: String(ids[i]),
      cells,
      status: String(status?.[i] ?? ""),
      failed: Number(failed?.[i] ?? 0) > 0,
      title: String(input?.[i] ?? ""),
    });
  }
  return rows;
}

export function renderTable(el: HTMLElement, model: TableModel, experimental?: Experimental): () => void {
  const root = h("div", { class: "llmlens ll-trace-table", attrs: { tabindex: "0", "data-state": "loading" } });
  applyTheme(root, TABLE_CSS);
  el.appendChild(root);
  const columns: Column[] = model.get("columns") ?? [];
  const live = Boolean(experimental);

  // toolbar: search, where, count
  const search = h("input", {
    class: "ll-search",
    attrs: { type: "search", placeholder: "search inputs, outputs, ids", "aria-label": "search" },
  });
  search.value = model.get("search") ?? "";
  const where = h("input", {
    class: "ll-where",
    attrs: { type: "text", placeholder: "where: SQL on traces, e.g. n_errors > 0 (Enter)", "aria-label": "where" },
  });
  where.value = model.get("where") ?? "";
  const counter = h("span", { class: "ll-muted ll-count" });
  const error = h("div", { class: "ll-error" });
  let typing: ReturnType<typeof setTimeout> | undefined;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => save("search", search.value), 250);
  });
  where.addEventListener("keydown", (event) => {
    if (event.key === "Enter") save("where", where.value);
  });
  append(root, h("div", { class: "ll-toolbar" }, search, where, counter), error);

  // header and body
  const template = columns.map((c) => columnWidth(c.name, c.type)).join(" ");
  const header = h("div", { class: "ll-header", attrs: { role: "row" } });
  header.style.setProperty("--ll-columns", template);
  const body = h("div", { class: "ll-body", attrs: { role: "rowgroup" } });
  body.style.setProperty("--ll-columns", template);
  const grid = h("div", { class: "ll-grid", attrs: { role: "grid", "aria-label": "traces" } }, header, body);
  const pane = h("div", { class: "ll-trace-pane" });
  append(root, grid, pane);

  const sortButtons = new Map<string, HTMLButtonElement>();
  for (const column of columns) {
    if (!column.sortable) {
      header.appendChild(h("span", { attrs: { role: "columnheader" } }, column.label));
      continue;
    }
    const button = h("button", { attrs: { role: "columnheader", "data-column": column.name } }, column.label);
    button.addEventListener("click", () => {
      const same = model.get("sort") === column.name;
      model.set("sort", column.name);
      model.set("descending", same ? !model.get("descending") : column.type !== "text");
      model.save_changes();
    });
    sortButtons.set(column.name, button);
    header.appendChild(button);
  }
  const showSort = () => {
    for (const [name, button] of sortButtons)
      button.setAttribute(
        "aria-sort",
        name === model.get("sort") ? (model.get("descending") ? "descending" : "ascending") : "none",
      );
  };

  // state
  let pages = new Map<number, Row[]>();
  const asked = new Set<number>();
  let generation = -1;
  let anchor = -1;
  let cursor = -1;
  const pool: HTMLElement[] = [];

  const count = () => Number(model.get("count") ?? 0);
  const scale = () => scrollScale(count() * ROW_HEIGHT, MAX_SPACER, grid.clientHeight);
  const rowAt = (row: number): Row | null => pages.get(Math.floor(row / PAGE))?.[row % PAGE] ?? null;

  const reset = () => {
    generation = model.get("generation");
    pages = new Map();
    asked.clear();
    const first = decodeArrow(model.get("_first_page"));
    if (first) pages.set(0, pageRows(first, columns));
    body.style.height = `${Math.min(count() * ROW_HEIGHT, MAX_SPACER)}px`;
    const shown = count().toLocaleString("en-US");
    const total = Number(model.get("total") ?? 0).toLocaleString("en-US");
    const session = model.get("session");
    counter.textContent =
      session !== null && session !== undefined
        ? `session ${session}: ${shown} traces, oldest first`
        : shown === total
          ? `${total} traces`
          : `${shown} of ${total} traces`;
    if (!live && count() > PAGE) counter.textContent += ` · this page holds the first ${PAGE}`;
    showSort();
    draw();
  };

  const fetchPage = async (page: number) => {
    if (!experimental || asked.has(page) || pages.has(page)) return;
    asked.add(page);
    const wanted = generation;
    try {
      const [reply, buffers] = await experimental.invoke<{ generation: number }>("rows", {
        offset: page * PAGE,
        limit: PAGE,
      });
      if (reply.generation !== wanted || wanted !== generation) return;
      const table = decodeArrow(buffers[0]);
      if (table) pages.set(page, pageRows(table, columns));
      draw();
    } catch {
      asked.delete(page);
    }
  };

  function draw() {
    const virtualTop = grid.scrollTop * scale();
    const headerHeight = header.offsetHeight;
    const [first, last] = rowWindow(virtualTop, grid.clientHeight - headerHeight, ROW_HEIGHT, count(), 8);
    for (const page of pagesFor(first, last, PAGE)) if (!pages.has(page)) void fetchPage(page);
    const selected = new Set<string>(model.get("selected_ids") ?? []);
    const opened = model.get("trace_id") ?? "";
    let used = 0;
    for (let row = first; row < last; row++) {
      const element = pool[used] ?? newRow();
      used++;
      const data = rowAt(row);
      element.style.top = `${grid.scrollTop * 1 + (row * ROW_HEIGHT - virtualTop)}px`;
      element.dataset.row = String(row);
      element.dataset.traceId = data?.id ?? "";
      element.setAttribute("aria-selected", String(Boolean(data && selected.has(data.id))));
      element.classList.toggle("ll-cursor", row === cursor);
      element.classList.toggle("ll-opened", Boolean(data && data.id === opened));
      element.title = data?.title ?? "";
      const cells = element.children;
      for (let k = 0; k < columns.length; k++) {
        const cell = cells[k] as HTMLElement;
        const column = columns[k] as Column;
        cell.textContent = data ? (data.cells[k] ?? "") : k === 0 ? "…" : "";
        cell.className = `ll-cell${NUMERIC.has(column.type) ? " ll-num" : ""}${data ? "" : " ll-loading"}`;
        if (data && column.type === "status") cell.classList.add(`ll-status-${data.status}`);
        if (data && column.type === "checks" && data.failed) cell.classList.add("ll-check-failed");
      }
      element.hidden = false;
    }
    for (let k = used; k < pool.length; k++) (pool[k] as HTMLElement).hidden = true;
    if (!count()) {
      if (!body.querySelector(".ll-empty"))
        body.appendChild(h("div", { class: "ll-empty" }, model.get("error") ? "" : "no traces match"));
    } else body.querySelector(".ll-empty")?.remove();
    root.dataset.state = "ready";
  }

  function newRow(): HTMLElement {
    const element = h("div", { class: "ll-row", attrs: { role: "row" } });
    element.style.setProperty("--ll-columns", template);
    for (let k = 0; k < columns.length; k++) element.appendChild(h("div", { class: "ll-cell" }));
    element.addEventListener("click", (event) => {
      const row = Number(element.dataset.row);
      const id = element.dataset.traceId;
      if (!id) return;
      cursor = row;
      choose({ row, id, shift: event.shiftKey, toggle: event.ctrlKey || event.metaKey });
    });
    element.addEventListener("dblclick", () => {
      if (element.dataset.traceId) open(element.dataset.traceId);
    });
    body.appendChild(element);
    pool.push(element);
    return element;
  }

  function choose(click: { row: number; id: string; shift: boolean; toggle: boolean }) {
    const next = clickSelect(model.get("selected_ids") ?? [], anchor, click, (row) => rowAt(row)?.id ?? null);
    anchor = next.anchor;
    model.set("selected_ids", next.selected);
    model.save_changes();
    draw();
  }

  function open(id: string) {
    model.set("trace_id", id);
    model.save_changes();
    draw();
  }

  function moveCursor(by: number) {
    if (!count()) return;
    cursor = Math.max(0, Math.min(count() - 1, (cursor < 0 ? -1 : cursor) + by));
    const top = cursor * ROW_HEIGHT;
    const virtualTop = grid.scrollTop * scale();
    const view = grid.clientHeight - header.offsetHeight;
    if (top < virtualTop) grid.scrollTop = top / scale();
    else if (top + ROW_HEIGHT > virtualTop + view) grid.scrollTop = (top + ROW_HEIGHT - view) / scale();
    const data = rowAt(cursor);
    if (data) choose({ row: cursor, id: data.id, shift: false, toggle: false });
    else draw();
  }

  const unbind = bindKeys(root, {
    ArrowDown: () => moveCursor(1),
    ArrowUp: () => moveCursor(-1),
    PageDown: () => moveCursor(Math.floor(grid.clientHeight / ROW_HEIGHT) - 1),
    PageUp: () => moveCursor(-(Math.floor(grid.clientHeight / ROW_HEIGHT) - 1)),
    Enter: () => {
      const data = rowAt(cursor);
      if (data) open(data.id);
    },
    " ": () => {
      const data = rowAt(cursor);
      if (data) choose({ row: cursor, id: data.id, shift: false, toggle: true });
    },
  });

  function save(name: string, value: unknown) {
    model.set(name, value);
    model.save_changes();
  }

  const showError = () => {
    clear(error);
    const text = model.get("error") ?? "";
    if (text) error.appendChild(document.createTextNode(text));
  };

  let frame = 0;
  const onScroll = () => {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      draw();
    });
  };
  grid.addEventListener("scroll", onScroll, { passive: true });
  // the grid has no height until the output is attached and laid out: draw again whenever its size changes
  const resized = new ResizeObserver(onScroll);
  resized.observe(grid);
  const onGeneration = () => reset();
  const onSelected = () => draw();
  model.on("change:generation", onGeneration);
  model.on("change:error", showError);
  model.on("change:selected_ids", onSelected);
  model.on("change:trace_id", onSelected);
  showError();
  reset();
  const stopTrace = renderTrace(pane, model, experimental);

  return () => {
    unbind();
    stopTrace();
    clearTimeout(typing);
    grid.removeEventListener("scroll", onScroll);
    resized.disconnect();
    cancelAnimationFrame(frame);
    model.off("change:generation", onGeneration);
    model.off("change:error", showError);
    model.off("change:selected_ids", onSelected);
    model.off("change:trace_id", onSelected);
  };
}

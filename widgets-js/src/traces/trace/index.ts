// The trace view: one trace's span tree with its waterfall (virtualised: only the rows in view exist), and the
// selected span's detail. Rendered on its own (TraceView) or under the trace table (the opened trace); it rebuilds
// when `_spans` changes and follows `selected_span` both ways.
import type { AnyModel, Experimental } from "@anywidget/types";
import { append, clear, h } from "../../lib/dom";
import { bindKeys } from "../../lib/keys";
import { applyTheme } from "../../lib/theme";
import { type Detail, decodeSpans, rowIndex, type Spans, type TraceMeta } from "./data";
import { DetailPane } from "./detail";
import { navigate, nextFlagged } from "./outline";
import { DetailSource } from "./source";
import { TRACE_CSS } from "./style";
import { formatMs } from "./timeline";
import { SpanTree } from "./tree";
import { formatCount, formatTimestamp, formatUsd } from "./values";

export interface TraceTraits {
  _view?: string;
  trace_id: string;
  selected_span: string;
  _trace_meta: TraceMeta;
  _spans: DataView | null;
  _details: Record<string, Detail>;
}

export type TraceModel = AnyModel<TraceTraits>;

/** What is built for one opened trace. */
interface Opened {
  spans: Spans;
  tree: SpanTree;
  detail: DetailPane;
  rows: Map<string, number> | null;
}

const HINT = "↑ ↓ move · ← → fold · space fold · e / E next / previous error";

/** Render the trace view of `model` into `el`; returns the cleanup. */
export function renderTrace(el: HTMLElement, model: TraceModel, experimental?: Experimental): () => void {
  const root = h("div", { class: "llmlens ll-trace", attrs: { tabindex: "0", "data-state": "loading" } });
  applyTheme(root, TRACE_CSS);
  const head = h("div", { class: "ll-trace-head" });
  const toolbar = h("div", { class: "ll-toolbar" });
  const treePane = h("div", { class: "ll-tree-pane" });
  const detailPane = h("div", { class: "ll-detail-pane" });
  append(root, head, toolbar, h("div", { class: "ll-trace-body" }, treePane, detailPane));
  el.appendChild(root);

  let opened: Opened | null = null;
  let selected = -1;

  const rowOf = (id: string): number => {
    if (!opened || !id) return -1;
    opened.rows ??= rowIndex(opened.spans.id);
    return opened.rows.get(id) ?? -1;
  };

  /** Select `row` (-1: none): in the tree, in the detail, and (save) in `selected_span`. */
  function select(row: number, save: boolean, reveal: boolean): void {
    if (!opened) return;
    const same = row === selected;
    selected = row;
    opened.tree.setSelected(row, reveal);
    if (!same) opened.detail.show(row);
    const id = row >= 0 ? (opened.spans.id.at(row) ?? "") : "";
    if (save && model.get("selected_span") !== id) {
      model.set("selected_span", id);
      model.save_changes();
    }
  }

  function close(): void {
    opened?.tree.destroy();
    opened?.detail.destroy();
    opened = null;
    selected = -1;
    clear(treePane);
    clear(detailPane);
    clear(toolbar);
  }

  /** Build the view of the trace in the traits (or nothing, when none is opened). */
  function build(): void {
    close();
    root.dataset.state = "loading";
    const traceId = model.get("trace_id") ?? "";
    const spans = traceId ? decodeSpans(model.get("_spans")) : null;
    drawHead();
    if (!traceId) {
      // under the table an unopened trace takes no room; on its own the view says what it waits for
      if (model.get("_view") === "table") root.remove();
      else treePane.appendChild(h("div", { class: "ll-empty" }, "select a trace"));
      root.dataset.state = "ready";
      return;
    }
    if (root.parentNode !== el) el.appendChild(root);
    if (!spans) {
      treePane.appendChild(h("div", { class: "ll-empty" }, "this trace has no spans"));
      root.dataset.state = "ready";
      return;
    }
    const source = new DetailSource(model.get("_details"), experimental);
    const tree = new SpanTree(spans, model.get("_trace_meta") ?? {}, {
      select: (row) => select(row, true, false),
    });
    const detail = new DetailPane(spans, source);
    opened = { spans, tree, detail, rows: null };
    treePane.appendChild(tree.element);
    detailPane.appendChild(detail.element);
    drawToolbar();
    const wanted = rowOf(model.get("selected_span") ?? "");
    if (wanted >= 0) select(wanted, false, true);
    else tree.draw();
    root.dataset.state = "ready";
  }

  function drawHead(): void {
    clear(head);
    const meta: TraceMeta = model.get("_trace_meta") ?? {};
    const traceId = model.get("trace_id") ?? "";
    if (!traceId) return;
    const part = (text: string | null | undefined, cls = "ll-muted") => (text ? h("span", { class: cls }, text) : null);
    const tokens =
      meta.input_tokens !== null && meta.input_tokens !== undefined
        ? `${formatCount(meta.input_tokens)} in · ${formatCount(meta.output_tokens) || "?"} out tokens`
        : "";
    const errors = Number(meta.n_errors ?? 0);
    append(
      head,
      h("span", { class: "ll-root-name" }, meta.root_name || "(unnamed trace)"),
      part(`trace ${traceId}`, "ll-muted ll-mono"),
      part(formatTimestamp(meta.start_time)),
      part(formatMs(meta.duration_ms)),
      part(meta.n_spans !== undefined ? `${formatCount(meta.n_spans)} spans` : ""),
      errors ? part(`${formatCount(errors)} error${errors === 1 ? "" : "s"}`, "ll-errors") : null,
      part(tokens),
      part(formatUsd(meta.cost_usd)),
      part(meta.session_id ? `session ${meta.session_id}` : ""),
      part(meta.user_id ? `user ${meta.user_id}` : ""),
      meta.truncated
        ? part(
            `showing the first ${formatCount(meta.shown)} of ${formatCount(meta.n_spans)} spans (tree order)`,
            "ll-truncated",
          )
        : null,
    );
  }

  function drawToolbar(): void {
    const button = (label: string, title: string, action: () => void) => {
      const b = h("button", { title }, label);
      b.addEventListener("click", action);
      return b;
    };
    const hasErrors = Number(model.get("_trace_meta")?.n_errors ?? 1) > 0; // unknown: offer it
    append(
      toolbar,
      button("expand all", "show every span", () => opened?.tree.expandAll()),
      button("collapse all", "show only the roots", () => opened?.tree.collapseAll()),
      hasErrors ? button("next error", "select the next failed span (e)", () => jumpError(false)) : null,
      h("span", { class: "ll-legend" }, h("span", { class: "ll-legend-critical" }), "critical path"),
      h("span", { class: "ll-muted" }, "✕ error · ⚠ orphan · ¶ tokens"),
      h("span", { class: "ll-muted" }, HINT),
    );
  }

  function jumpError(backward: boolean): void {
    if (!opened) return;
    const next = nextFlagged(opened.spans.error, selected, backward);
    if (next >= 0) select(next, true, true);
  }

  function move(key: string): void {
    if (!opened) return;
    const step = navigate(key, selected, opened.tree.outline, opened.tree.pageRows);
    if (step.collapse !== undefined) opened.tree.collapse(step.collapse);
    if (step.expand !== undefined) opened.tree.expand(step.expand);
    if (step.select !== undefined) select(step.select, true, true);
  }

  const keys: Record<string, () => void> = {};
  for (const key of ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "PageUp", "PageDown", "Home", "End"])
    keys[key] = () => move(key);
  const unbind = bindKeys(root, {
    ...keys,
    Enter: () => {
      if (opened) select(selected >= 0 ? selected : (opened.tree.outline.visible[0] ?? -1), true, true);
    },
    " ": () => {
      if (opened && selected >= 0) opened.tree.toggle(selected);
    },
    e: () => jumpError(false),
    E: () => jumpError(true),
  });

  const onSpans = () => build();
  const onTrace = () => {
    if (!model.get("trace_id")) build();
    else drawHead();
  };
  const onSelected = () => {
    if (!opened) return;
    const id = model.get("selected_span") ?? "";
    const current = selected >= 0 ? opened.spans.id.at(selected) : "";
    if (id !== current) select(rowOf(id), false, true);
  };
  model.on("change:_spans", onSpans);
  model.on("change:trace_id", onTrace);
  model.on("change:_trace_meta", drawHead);
  model.on("change:selected_span", onSelected);
  build();

  return () => {
    unbind();
    model.off("change:_spans", onSpans);
    model.off("change:trace_id", onTrace);
    model.off("change:_trace_meta", drawHead);
    model.off("change:selected_span", onSelected);
    close();
    root.remove();
  };
}

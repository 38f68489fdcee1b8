// The detail pane of the selected span: a header (name, kind, status, model, duration, tokens, cost), messages by
// role with their tool calls, retrieved documents, the token viewer, attributes and events. What the span's row
// already tells shows at once; the rest when its detail arrives (embedded in the page, or from the kernel).
import { append, h } from "../../lib/dom";
import { attributeTree, textBlock, type ValueContext } from "./attributes";
import type { Detail, Document, Message, SpanEvent, Spans } from "./data";
import type { DetailSource, Loaded } from "./source";
import { formatMs } from "./timeline";
import { mountTokens } from "./token-view";
import { formatCount, formatTimestamp, formatUsd, kindBadge, type Path, prettyJson } from "./values";

/** How long the selection must rest on a span before its detail is asked of the kernel (keys held down). */
const SETTLE_MS = 90;

export class DetailPane {
  readonly element: HTMLElement;
  private current = "";
  private timer: ReturnType<typeof setTimeout> | undefined;
  private cleanups: Array<() => void> = [];

  constructor(
    private readonly spans: Spans,
    private readonly source: DetailSource,
  ) {
    this.element = h("div", { class: "ll-span-detail", attrs: { "aria-live": "polite" } });
    // keys pressed in the detail (the token viewer's, scrolling) are not the tree's
    this.element.addEventListener("keydown", (event) => event.stopPropagation());
    this.empty();
  }

  /** Show the span at `row` (-1: none). */
  show(row: number): void {
    clearTimeout(this.timer);
    const id = row >= 0 ? (this.spans.id.at(row) ?? "") : "";
    this.current = id;
    if (!id) {
      this.empty();
      return;
    }
    const known = this.source.cached(id);
    if (known) {
      this.fill(row, known);
      return;
    }
    this.reset();
    this.element.dataset.state = "loading";
    append(
      this.element,
      header(rowDetail(this.spans, row), this.spans.tokens[row]),
      h("div", { class: "ll-note" }, "loading the detail…"),
    );
    this.timer = setTimeout(() => {
      this.source.load(id).then(
        (loaded) => {
          if (this.current !== id) return;
          if (loaded) this.fill(row, loaded);
          else this.missing(row, null);
        },
        (error: unknown) => {
          if (this.current === id) this.missing(row, error instanceof Error ? error.message : String(error));
        },
      );
    }, SETTLE_MS);
  }

  destroy(): void {
    clearTimeout(this.timer);
    this.reset();
  }

  private reset(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.element.replaceChildren();
    delete this.element.dataset.spanId;
  }

  private empty(): void {
    this.reset();
    this.element.dataset.state = "empty";
    this.element.appendChild(h("div", { class: "ll-note" }, "Click a span (or use ↑ ↓) to see its detail."));
  }

  private missing(row: number, error: string | null): void {
    this.reset();
    append(
      this.element,
      header(rowDetail(this.spans, row), this.spans.tokens[row]),
      h(
        "div",
        { class: "ll-note" },
        error !== null
          ? `The detail of this span could not be loaded: ${error}`
          : this.source.exported
            ? "This page holds the details of the first spans only; open the notebook with its kernel for the rest."
            : "The detail of this span is not in this page (there is no kernel to ask).",
      ),
    );
    this.done(row, "missing");
  }

  private fill(row: number, loaded: Loaded): void {
    this.reset();
    const { detail } = loaded;
    const id = this.spans.id.at(row) ?? detail.span_id;
    const ctx: ValueContext = { spanId: id, live: this.source.live, full: (path) => this.source.full(id, path) };
    append(this.element, header({ ...rowDetail(this.spans, row), ...definedOnly(detail) }, this.spans.tokens[row]));
    append(this.element, ...textSections(detail, ctx));
    if (detail.documents?.length) this.element.appendChild(documentsSection(detail.documents, ctx));
    if (detail.tokens && loaded.tokens) {
      const holder = h("div", { class: "ll-token-holder" });
      this.element.appendChild(section("tokens", holder, true));
      this.cleanups.push(mountTokens(holder, detail.tokens, loaded.tokens, loaded.alternatives));
    } else if (detail.tokens) {
      this.element.appendChild(section("tokens", h("div", { class: "ll-note" }, "token data not in this page"), true));
    }
    const attributes = detail.attributes;
    if (attributes && typeof attributes === "object" && Object.keys(attributes).length)
      this.element.appendChild(section("attributes", attributeTree(attributes, ["attributes"], ctx), true));
    if (detail.events?.length) this.element.appendChild(eventsSection(detail.events, ctx));
    this.done(row, "ready");
  }

  private done(row: number, state: string): void {
    this.element.dataset.spanId = this.spans.id.at(row) ?? "";
    this.element.dataset.state = state;
  }
}

/** What the span's row tells, in the detail's shape (shown before the detail arrives). */
export function rowDetail(spans: Spans, row: number): Detail {
  const number = (values: Float64Array) => {
    const v = values[row] as number;
    return Number.isFinite(v) ? v : null;
  };
  return {
    span_id: spans.id.at(row) ?? "",
    name: spans.name.at(row) ?? null,
    kind: spans.kind.at(row) ?? null,
    status_code: spans.status.at(row) ?? null,
    model: spans.model.at(row) ?? null,
    agent: spans.agent.at(row) ?? null,
    duration_ms: number(spans.duration),
    cost_usd: number(spans.cost),
  };
}

function definedOnly(detail: Detail): Partial<Detail> {
  return Object.fromEntries(Object.entries(detail).filter(([, v]) => v !== null && v !== undefined));
}

function header(detail: Detail, total?: number): HTMLElement {
  const badge = kindBadge(detail.kind);
  const status = detail.status_code ?? "UNSET";
  const chip = (label: string, value: string | null | undefined, cls = "") =>
    value ? h("span", { class: `ll-chip ${cls}`.trim() }, h("span", { class: "ll-muted" }, `${label} `), value) : null;
  const tokens =
    detail.input_tokens !== null && detail.input_tokens !== undefined
      ? `${formatCount(detail.input_tokens)} in · ${formatCount(detail.output_tokens) || "?"} out`
      : formatCount(total);
  return h(
    "div",
    { class: "ll-detail-head" },
    h(
      "div",
      { class: "ll-detail-title" },
      h("span", { class: `ll-kind ${badge.cls}`, title: detail.kind ?? "UNKNOWN" }, badge.label),
      h("strong", { class: "ll-detail-name" }, detail.name ?? "(unnamed span)"),
      h(
        "span",
        { class: `ll-status ll-status-${status === "ERROR" ? "error" : status === "OK" ? "ok" : "unset"}` },
        status,
      ),
    ),
    detail.status_message ? h("div", { class: "ll-status-message" }, detail.status_message) : null,
    h(
      "div",
      { class: "ll-chips" },
      chip("kind", detail.kind),
      chip("model", detail.model),
      chip("provider", detail.provider),
      chip("agent", detail.agent),
      chip("duration", formatMs(detail.duration_ms)),
      chip("tokens", tokens),
      chip("cost", formatUsd(detail.cost_usd)),
      chip("start", formatTimestamp(detail.start_time)),
    ),
    h("div", { class: "ll-muted ll-span-id" }, `span ${detail.span_id}`),
  );
}

function section(title: string, body: HTMLElement, open: boolean, count?: number): HTMLElement {
  const label = count === undefined ? title : `${title} (${count})`;
  const details = h("details", { class: "ll-section" }, h("summary", {}, label), body);
  details.open = open;
  return details;
}

/** Input and output: as messages when the span has them (raw text then folded away), else as text. */
function textSections(detail: Detail, ctx: ValueContext): HTMLElement[] {
  const out: HTMLElement[] = [];
  const messages = detail.messages ?? [];
  for (const side of ["input", "output"] as const) {
    const mine = messages.map((m, i) => [m, i] as const).filter(([m]) => m.side === side);
    const raw = side === "input" ? detail.input_text : detail.output_text;
    if (mine.length) {
      const list = h("div", { class: "ll-messages" });
      for (const [m, i] of mine) list.appendChild(message(m, ["messages", i], ctx));
      out.push(section(`${side} messages`, list, true, mine.length));
    }
    if (raw !== null && raw !== undefined)
      out.push(section(`${side} text`, textBlock(raw, [`${side}_text`], ctx), !mine.length));
  }
  return out;
}

function message(m: Message, path: Path, ctx: ValueContext): HTMLElement {
  const role = (m.role ?? "").toLowerCase();
  const known = ["system", "user", "assistant", "tool", "function", "developer"].includes(role) ? role : "other";
  const box = h(
    "div",
    { class: `ll-message ll-role-${known}` },
    h(
      "div",
      { class: "ll-message-head" },
      h("span", { class: "ll-role" }, m.role ?? "(no role)"),
      m.name ? h("span", { class: "ll-muted" }, m.name) : null,
      m.finish_reason ? h("span", { class: "ll-muted ll-finish" }, `finish: ${m.finish_reason}`) : null,
    ),
  );
  if (m.content !== null && m.content !== undefined) box.appendChild(textBlock(m.content, [...path, "content"], ctx));
  for (const [k, call] of (m.tool_calls ?? []).entries()) {
    const args = call.arguments;
    const shown = typeof args === "string" ? prettyJson(args) : args;
    box.appendChild(
      h(
        "div",
        { class: "ll-tool-call" },
        h(
          "div",
          {},
          h("span", { class: "ll-muted" }, "tool call "),
          h("strong", {}, call.name ?? "(unnamed)"),
          call.id ? h("span", { class: "ll-muted" }, ` ${call.id}`) : null,
        ),
        shown !== null && shown !== undefined
          ? textBlock(shown, [...path, "tool_calls", k, "arguments"], ctx, "ll-text ll-code")
          : null,
      ),
    );
  }
  return box;
}

function documentsSection(documents: Document[], ctx: ValueContext): HTMLElement {
  const list = h("div", { class: "ll-documents" });
  for (const [i, d] of documents.entries()) {
    const score = d.score !== null && d.score !== undefined && Number.isFinite(d.score) ? d.score.toFixed(4) : "";
    const box = h(
      "div",
      { class: "ll-document" },
      h(
        "div",
        { class: "ll-document-head" },
        h("span", { class: "ll-rank" }, `#${Number(d.position ?? i) + 1}`),
        d.document_id ? h("span", { class: "ll-mono" }, d.document_id) : null,
        score ? h("span", { class: "ll-chip" }, h("span", { class: "ll-muted" }, "score "), score) : null,
      ),
      d.content !== null && d.content !== undefined ? textBlock(d.content, ["documents", i, "content"], ctx) : null,
    );
    if (d.metadata && typeof d.metadata === "object" && Object.keys(d.metadata).length) {
      const meta = h("details", { class: "ll-section ll-metadata" }, h("summary", {}, "metadata"));
      let built = false;
      meta.addEventListener("toggle", () => {
        if (built) return;
        built = true;
        meta.appendChild(attributeTree(d.metadata, ["documents", i, "metadata"], ctx));
      });
      box.appendChild(meta);
    }
    list.appendChild(box);
  }
  return section("retrieved documents", list, true, documents.length);
}

function eventsSection(events: SpanEvent[], ctx: ValueContext): HTMLElement {
  const list = h("div", { class: "ll-events" });
  for (const [i, event] of events.entries()) {
    const name = event.name ?? "(event)";
    const box = h(
      "div",
      { class: `ll-event${name === "exception" ? " ll-exception" : ""}` },
      h(
        "div",
        {},
        h("strong", {}, name),
        event.time ? h("span", { class: "ll-muted" }, ` ${formatTimestamp(event.time)}`) : null,
      ),
    );
    const attributes = event.attributes;
    if (
      attributes !== null &&
      attributes !== undefined &&
      !(typeof attributes === "object" && !Object.keys(attributes).length)
    )
      box.appendChild(attributeTree(attributes, ["events", i, "attributes"], ctx));
    list.appendChild(box);
  }
  return section("events", list, true, events.length);
}

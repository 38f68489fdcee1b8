// The map's DOM pieces: legend, diagnostics panel, detail card and hover tooltip. Data text only ever goes in as
// text nodes (lib/dom `h`), never as HTML.
import { clear, h } from "../lib/dom";
import { cut, type Diagnostics, formatCount, type LegendEntry, roleName } from "./data";
import type { PointInfo } from "./local";

/** The legend: a swatch, label and count a colour code; `pick` is called with the code clicked. */
export function fillLegend(el: HTMLElement, entries: LegendEntry[], pick: (code: number) => void): void {
  clear(el);
  for (const entry of entries) {
    const swatch = h("span", { class: "ll-swatch" });
    swatch.style.background = entry.color;
    const item = h(
      "button",
      { class: "ll-map-legend-item", title: "select these points", attrs: { "data-code": String(entry.code) } },
      swatch,
      entry.label,
      h("span", { class: "ll-muted" }, formatCount(entry.count)),
    );
    item.addEventListener("click", () => pick(entry.code));
    el.appendChild(item);
  }
  el.hidden = entries.length === 0;
}

export interface DiagnosticActions {
  gap(point: number): void;
  dead(): void;
  cluster(code: number): void;
}

function percent(rate: number | null): string {
  return typeof rate === "number" && Number.isFinite(rate) ? ` · ${Math.round(rate * 100)}% failed` : "";
}

/** The diagnostics panel's content; false when there is nothing to show. */
export function fillDiagnostics(el: HTMLElement, d: Diagnostics, act: DiagnosticActions): boolean {
  clear(el);
  if (d.computing) el.appendChild(h("div", { class: "ll-note" }, "computing diagnostics…"));
  if (d.gaps.length) {
    el.appendChild(h("h4", {}, `coverage gaps (${formatCount(d.gaps.length)})`));
    let group: number | undefined;
    for (const gap of d.gaps) {
      if (gap.gap !== group && (gap.gap_size ?? 1) > 1) {
        const words = Array.isArray(gap.terms) ? gap.terms.map(String).join(", ") : "";
        el.appendChild(h("div", { class: "ll-map-gap-group" }, `${formatCount(gap.gap_size ?? 0)} queries: ${words}`));
      }
      group = gap.gap;
      const similarity = typeof gap.similarity === "number" ? gap.similarity.toFixed(2) : "?";
      const item = h(
        "button",
        {
          class: "ll-map-gap",
          title: "best retrieval similarity of this query",
          attrs: { "data-point": String(gap.point) },
        },
        h("span", { class: "ll-muted" }, `${similarity} `),
        cut(String(gap.text ?? ""), 140),
      );
      item.addEventListener("click", () => act.gap(gap.point));
      el.appendChild(item);
    }
  }
  if (d.dead.count > 0) {
    el.appendChild(h("h4", {}, "dead corpus"));
    const item = h(
      "button",
      { class: "ll-map-dead", title: "select every chunk no query retrieved" },
      `${formatCount(d.dead.count)} chunk${d.dead.count === 1 ? "" : "s"} never retrieved`,
    );
    item.addEventListener("click", act.dead);
    el.appendChild(item);
  }
  if (d.clusters.length) {
    el.appendChild(h("h4", {}, `clusters (${formatCount(d.clusters.length)})`));
    for (const cluster of d.clusters) {
      const terms = Array.isArray(cluster.terms) ? cluster.terms.map(String).join(", ") : "";
      const item = h(
        "button",
        { class: "ll-map-cluster", attrs: { "data-code": String(cluster.code) } },
        h(
          "span",
          { class: "ll-muted" },
          // code k is cluster k - 1, as the legend and .diagnostics name it (code 0: noise)
          `cluster ${cluster.code - 1} · ${formatCount(cluster.size ?? 0)}${percent(cluster.failure_rate)} `,
        ),
        terms,
      );
      item.addEventListener("click", () => act.cluster(cluster.code));
      el.appendChild(item);
    }
  }
  if (d.drift?.clusters.length) {
    const [earlier, later] = d.drift.windows.map(String);
    el.appendChild(h("h4", { title: `${earlier} against ${later}` }, "drift: share of queries"));
    el.appendChild(h("div", { class: "ll-muted" }, `${earlier} → ${later}`));
    for (const moved of d.drift.clusters) {
      const change = typeof moved.share_change === "number" ? moved.share_change : 0;
      const arrow = change > 0 ? "▲" : change < 0 ? "▼" : "=";
      const item = h(
        "button",
        { class: "ll-map-drift", attrs: { "data-code": String(moved.code) } },
        h(
          "span",
          { class: "ll-muted" },
          `${arrow} ${(Math.abs(change) * 100).toFixed(1)} pts · ${formatCount(moved.n_a)} → ${formatCount(moved.n_b)} `,
        ),
        Array.isArray(moved.terms) ? moved.terms.map(String).join(", ") : "",
      );
      item.addEventListener("click", () => act.cluster(moved.code));
      el.appendChild(item);
    }
  }
  return el.childNodes.length > 0;
}

/** Words for a value of the point's meta. */
function metaText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** The detail card of the focused point: its text, meta, and how many links it has. */
export function fillCard(el: HTMLElement, info: PointInfo, close: () => void): void {
  clear(el);
  const button = h("button", { title: "close (click empty space)" }, "×");
  button.addEventListener("click", close);
  const role = roleName(info.role);
  el.appendChild(
    h("div", { class: "ll-map-card-head" }, h("strong", {}, `#${info.point}${role ? ` · ${role}` : ""}`), button),
  );
  el.appendChild(h("div", { class: "ll-map-card-text" }, info.text || "(no text)"));
  const keys = Object.keys(info.meta);
  if (keys.length) {
    const table = h("table", { class: "ll-map-meta" });
    for (const key of keys)
      table.appendChild(
        h("tr", {}, h("td", { class: "ll-muted" }, key), h("td", {}, cut(metaText(info.meta[key]), 400))),
      );
    el.appendChild(table);
  }
  const k = info.neighbours.length;
  const query = info.role === 0 || info.role === "query";
  el.appendChild(
    h(
      "div",
      { class: "ll-muted" },
      query
        ? `retrieved ${formatCount(k)} chunk${k === 1 ? "" : "s"}`
        : `retrieved by ${formatCount(k)} quer${k === 1 ? "y" : "ies"}`,
    ),
  );
  el.dataset.point = String(info.point);
  el.hidden = false;
}

/** The hover tooltip: the point's number and role, and its text cut to ~300 characters. */
export function fillTooltip(el: HTMLElement, point: number, role: unknown, text: string | null): void {
  clear(el);
  const name = roleName(role);
  el.appendChild(h("div", { class: "ll-muted" }, `#${point}${name ? ` · ${name}` : ""}`));
  el.appendChild(h("div", {}, text === null ? "…" : cut(text, 300) || "(no text)"));
}

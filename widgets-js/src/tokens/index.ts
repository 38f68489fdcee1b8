// The token viewer: tokens coloured by probability, entropy or rank; alternatives on hover; keyboard navigation.
import type { AnyModel, RenderProps } from "@anywidget/types";
import { column, decodeArrow } from "../lib/arrow";
import { append, clear, h } from "../lib/dom";
import { bindKeys } from "../lib/keys";
import { applyTheme, surpriseColour } from "../lib/theme";
import { type LazyBlocks, lazyBlocks } from "../lib/virtual";
import { decodeTokens, entropy, type Mode, percent, rankOf, stats, surprise, visible } from "./model";
import { TOKENS_CSS } from "./style";

interface Message {
  side: string;
  position: number;
  role: string | null;
  content: string | null;
}

interface Model {
  title: string;
  note: string;
  mode: Mode;
  threshold: number;
  selected: number;
  _tokens: DataView | null;
  _alternatives: DataView | null;
  _messages: Message[];
}

const MODES: Mode[] = ["probability", "entropy", "rank"];
const BLOCK = 400;

/** Everything the view reads, decoded once from the binary traits. */
class Tokens {
  readonly count: number;
  readonly side: ArrayLike<string>;
  readonly choice: ArrayLike<number>;
  readonly bytes: ArrayLike<Uint8Array | null>;
  readonly logprob: ArrayLike<number>;
  readonly altStart: ArrayLike<number>;
  readonly altEnd: ArrayLike<number>;
  readonly altBytes: ArrayLike<Uint8Array | null>;
  readonly altToken: ArrayLike<string | null>;
  readonly altLogprob: ArrayLike<number>;
  readonly text: string[];
  readonly lossy: Uint8Array;
  readonly continued: Uint8Array;
  readonly rank: Int32Array;

  constructor(model: AnyModel<Model>) {
    const table = decodeArrow(model.get("_tokens"));
    const alts = decodeArrow(model.get("_alternatives"));
    this.count = table ? table.numRows : 0;
    const empty: never[] = [];
    this.side = table ? column<string>(table, "side") : empty;
    this.choice = table ? column<number>(table, "choice") : empty;
    this.bytes = table ? column<Uint8Array | null>(table, "bytes") : empty;
    this.logprob = table ? column<number>(table, "logprob") : empty;
    this.altStart = table ? column<number>(table, "alt_start") : empty;
    this.altEnd = table ? column<number>(table, "alt_end") : empty;
    this.altBytes = alts ? column<Uint8Array | null>(alts, "bytes") : empty;
    this.altToken = alts ? column<string | null>(alts, "token") : empty;
    this.altLogprob = alts ? column<number>(alts, "logprob") : empty;
    const tokens = table ? column<string | null>(table, "token") : empty;
    this.text = [];
    this.lossy = new Uint8Array(this.count);
    this.continued = new Uint8Array(this.count);
    this.rank = new Int32Array(this.count);
    for (const [start, end] of this.groups()) {
      const decoded = decodeTokens(slice(this.bytes, start, end), slice(tokens, start, end));
      for (let k = 0; k < end - start; k++) {
        this.text[start + k] = decoded.text[k] ?? "";
        this.lossy[start + k] = decoded.lossy[k] ?? 0;
        this.continued[start + k] = decoded.continued[k] ?? 0;
      }
    }
    for (let i = 0; i < this.count; i++) this.rank[i] = rankOf(this.bytes[i] ?? null, this.alternativeBytes(i));
  }

  /** [start, end) of each run of one side and choice (rows arrive sorted by side, choice, position). */
  groups(): Array<[number, number]> {
    const runs: Array<[number, number]> = [];
    let start = 0;
    for (let i = 1; i <= this.count; i++) {
      if (i === this.count || this.side[i] !== this.side[start] || this.choice[i] !== this.choice[start]) {
        runs.push([start, i]);
        start = i;
      }
    }
    return runs;
  }

  alternativeBytes(i: number): ArrayLike<Uint8Array | null> {
    return slice(this.altBytes, this.altStart[i] ?? 0, this.altEnd[i] ?? 0);
  }

  alternativeLogprobs(i: number): ArrayLike<number> {
    return slice(this.altLogprob, this.altStart[i] ?? 0, this.altEnd[i] ?? 0);
  }

  surprise(mode: Mode, i: number): number {
    return surprise(mode, this.logprob[i] ?? Number.NaN, this.alternativeLogprobs(i), this.rank[i] ?? 0);
  }
}

function slice<T>(values: ArrayLike<T>, start: number, end: number): ArrayLike<T> {
  if (ArrayBuffer.isView(values))
    return (values as unknown as Float32Array).subarray(start, end) as unknown as ArrayLike<T>;
  return Array.prototype.slice.call(values, start, end) as T[];
}

function tokenSpan(data: Tokens, mode: Mode, i: number): HTMLSpanElement {
  const text = data.text[i] ?? "";
  const shown = data.continued[i] && text === "" ? "·" : visible(text);
  const span = h("span", { class: "ll-tok" }, shown);
  span.dataset.i = String(i);
  if (shown !== text) span.classList.add(data.continued[i] && text === "" ? "ll-cont" : "ll-ws");
  if (data.lossy[i]) {
    span.classList.add("ll-lossy");
    span.title = "lossy: these bytes are not valid UTF-8 on their own, or the provider sent U+FFFD";
  } else if (data.continued[i]) {
    span.title = "starts a character that the next token completes";
  }
  span.style.backgroundColor = surpriseColour(data.surprise(mode, i));
  return span;
}

function buildBlock(data: Tokens, mode: () => Mode, start: number, end: number): HTMLElement {
  const block = h("span");
  const current = mode();
  for (let i = start; i < end; i++) {
    block.appendChild(tokenSpan(data, current, i));
    if ((data.text[i] ?? "").includes("\n")) block.appendChild(document.createElement("br"));
  }
  return block;
}

function statsLine(data: Tokens, start: number, end: number, threshold: number): string {
  const s = stats(data.logprob, start, end, threshold);
  if (!s.known) return `${s.tokens.toLocaleString()} tokens, no logprobs`;
  return (
    `${s.tokens.toLocaleString()} tokens · mean logprob ${s.meanLogprob.toFixed(3)} · ` +
    `perplexity ${s.perplexity.toFixed(2)} · ${s.lowConfidence.toLocaleString()} under ${percent(threshold)}`
  );
}

function detail(data: Tokens, i: number): HTMLElement {
  const lp = data.logprob[i] ?? Number.NaN;
  const alts = data.alternativeLogprobs(i);
  const { entropy: h_, residual } = entropy(alts);
  const head = h(
    "div",
    {},
    h("strong", {}, JSON.stringify(data.text[i] ?? "")),
    ` p = ${percent(Math.exp(lp))} · logprob ${Number.isFinite(lp) ? lp.toFixed(4) : "unknown"}`,
    alts.length ? ` · rank ${data.rank[i] || `> ${alts.length}`} · entropy ${h_.toFixed(3)} nats` : "",
  );
  if (!alts.length) return h("div", {}, head, h("div", { class: "ll-note" }, "no alternatives returned"));
  const table = h("table", { class: "ll-alts" });
  const start = data.altStart[i] ?? 0;
  for (let k = 0; k < alts.length; k++) {
    const p = Math.exp(alts[k] ?? Number.NaN);
    const bar = h("div", { class: "ll-bar" });
    bar.style.width = `${Math.max(1, Math.round(p * 120))}px`;
    const chosen = data.rank[i] === k + 1;
    const label = new TextDecoder().decode(data.altBytes[start + k] ?? new Uint8Array()) || data.altToken[start + k];
    const row = h(
      "tr",
      { class: chosen ? "ll-chosen" : "" },
      h("td", { class: "ll-alt-token" }, JSON.stringify(label ?? "")),
      h("td", {}, percent(p)),
      h("td", {}, bar),
      h("td", { class: "ll-muted" }, chosen ? "chosen" : ""),
    );
    table.appendChild(row);
  }
  if (residual > 0.0005)
    table.appendChild(h("tr", {}, h("td", { class: "ll-muted" }, "other"), h("td", {}, percent(residual))));
  return h("div", {}, head, table);
}

function render({ model, el }: RenderProps<Model>): () => void {
  const root = h("div", { class: "llmlens ll-tokens", attrs: { tabindex: "0" } });
  applyTheme(root, TOKENS_CSS);
  el.appendChild(root);
  const data = new Tokens(model);
  const mode = () => (MODES.includes(model.get("mode")) ? model.get("mode") : "probability");
  const threshold = model.get("threshold") || 0.5;

  const buttons = MODES.map((name) => {
    const button = h("button", { title: `colour by ${name}` }, name);
    button.addEventListener("click", () => {
      model.set("mode", name);
      model.save_changes();
    });
    return button;
  });
  const pressMode = () => {
    for (const [k, button] of buttons.entries()) button.setAttribute("aria-pressed", String(MODES[k] === mode()));
  };
  pressMode();
  append(
    root,
    h(
      "div",
      { class: "ll-head" },
      h("strong", {}, model.get("title") || "tokens"),
      data.count ? h("span", { class: "ll-modes" }, ...buttons) : null,
      data.count ? h("span", { class: "ll-muted" }, "n / p: next / previous low-confidence token · m: colour") : null,
    ),
  );

  const messages = model.get("_messages") ?? [];
  const context = messages.filter((m) => m.side === "input");
  if (context.length) {
    const details = h("details", { class: "ll-conversation" }, h("summary", {}, `conversation (${context.length})`));
    for (const m of context)
      details.appendChild(
        h(
          "div",
          { class: "ll-msg" },
          h("span", { class: "ll-role" }, m.role ?? ""),
          h("span", { class: "ll-content" }, m.content ?? ""),
        ),
      );
    root.appendChild(details);
  }

  const detailPane = h(
    "div",
    { class: "ll-detail ll-muted" },
    data.count ? "hover a token to see its alternatives" : "",
  );
  const blocks: LazyBlocks[] = [];
  if (!data.count) {
    root.appendChild(h("div", { class: "ll-note" }, model.get("note") || "No token data for this span."));
    for (const m of messages.filter((m) => m.side === "output"))
      root.appendChild(h("div", { class: "ll-plain" }, m.content ?? ""));
  }
  const groups = data.groups();
  const sections: Array<[string, Array<[number, number]>]> = [
    ["prompt tokens", groups.filter(([s]) => data.side[s] === "input")],
    ["output tokens", groups.filter(([s]) => data.side[s] !== "input")],
  ];
  for (const [label, runs] of sections) {
    if (!runs.length) continue;
    root.appendChild(h("div", { class: "ll-section" }, label));
    const grid = h("div", { class: "ll-grid" });
    for (const [start, end] of runs) {
      const body = h("div", { class: "ll-body" });
      const name = runs.length > 1 ? `choice ${data.choice[start]} · ` : "";
      grid.appendChild(
        h(
          "div",
          { class: "ll-col" },
          h("div", { class: "ll-stats" }, name + statsLine(data, start, end, threshold)),
          body,
        ),
      );
      const lazy = lazyBlocks(body, end - start, BLOCK, (a, b) => buildBlock(data, mode, start + a, start + b), 60);
      blocks.push(lazy);
    }
    root.appendChild(grid);
  }
  root.appendChild(detailPane);

  const spanOf = (i: number) => root.querySelector<HTMLElement>(`.ll-tok[data-i="${i}"]`);
  const show = (i: number) => {
    clear(detailPane);
    detailPane.appendChild(detail(data, i));
  };
  const select = (i: number, reveal: boolean) => {
    for (const old of root.querySelectorAll(".ll-selected")) old.classList.remove("ll-selected");
    if (i >= 0 && reveal) {
      const group = groups.findIndex(([s, e]) => i >= s && i < e);
      const range = groups[group];
      if (range) blocks[group]?.reveal(i - range[0]);
    }
    spanOf(i)?.classList.add("ll-selected");
    if (i >= 0) show(i);
    model.set("selected", i);
    model.save_changes();
  };
  root.addEventListener("mouseover", (event) => {
    const target = (event.target as HTMLElement).closest<HTMLElement>(".ll-tok");
    if (target?.dataset.i) show(Number(target.dataset.i));
  });
  root.addEventListener("click", (event) => {
    const target = (event.target as HTMLElement).closest<HTMLElement>(".ll-tok");
    if (target?.dataset.i) select(Number(target.dataset.i), false);
  });

  const cut = Math.log(threshold) - 1e-6;
  const low: number[] = [];
  for (let i = 0; i < data.count; i++) if ((data.logprob[i] ?? 0) < cut) low.push(i);
  const step = (forward: boolean) => {
    if (!low.length) return;
    const current = model.get("selected") ?? -1;
    const next = forward
      ? (low.find((i) => i > current) ?? low[0])
      : ([...low].reverse().find((i) => i < current) ?? low[low.length - 1]);
    if (next !== undefined) select(next, true);
  };
  const unbind = bindKeys(root, {
    n: () => step(true),
    j: () => step(true),
    p: () => step(false),
    k: () => step(false),
    m: () => {
      model.set("mode", MODES[(MODES.indexOf(mode()) + 1) % MODES.length] ?? "probability");
      model.save_changes();
    },
    Escape: () => select(-1, false),
  });
  const recolour = () => {
    pressMode();
    for (const lazy of blocks) lazy.refresh();
    spanOf(model.get("selected"))?.classList.add("ll-selected");
  };
  model.on("change:mode", recolour);
  return () => {
    unbind();
    model.off("change:mode", recolour);
    for (const lazy of blocks) lazy.destroy();
  };
}

export default { render };

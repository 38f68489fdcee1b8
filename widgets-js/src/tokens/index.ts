// The token viewer: tokens coloured by probability, entropy or rank; alternatives on hover; keyboard navigation.
import type { AnyModel, Experimental, RenderProps } from "@anywidget/types";
import { column, decodeArrow } from "../lib/arrow";
import { append, clear, h } from "../lib/dom";
import { bindKeys } from "../lib/keys";
import { fetchTable } from "../lib/rpc";
import { applyTheme, surpriseColour } from "../lib/theme";
import { type LazyBlocks, lazyBlocks } from "../lib/virtual";
import { entropy, type Mode, type Piece, percent, rankOf, stats, surprise, TokenDecoder, visible } from "./model";
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
  labels: string[];
  _alignment: DataView | null;
  _alternative_count: number;
}

const MODES: Mode[] = ["probability", "entropy", "rank"];
const BLOCK = 400;

/** Everything the view reads, from the binary traits. Text and ranks are computed on demand, block by block,
 * so the first tokens paint without decoding all of them. */
class Tokens {
  readonly count: number;
  readonly side: ArrayLike<string>;
  readonly choice: ArrayLike<number>;
  readonly bytes: ArrayLike<Uint8Array | null>;
  readonly tokens: ArrayLike<string | null>;
  readonly logprob: ArrayLike<number>;
  readonly altStart: ArrayLike<number>;
  readonly altEnd: ArrayLike<number>;
  readonly runs: Array<[number, number]>;
  private readonly pieces: Array<Piece | undefined>;
  private readonly decoders: TokenDecoder[];
  private readonly decodedTo: number[];
  private readonly ranks: Int32Array;
  private readonly model: AnyModel<Model>;
  private alts?: { bytes: ArrayLike<Uint8Array | null>; token: ArrayLike<string | null>; logprob: ArrayLike<number> };

  constructor(model: AnyModel<Model>) {
    const table = decodeArrow(model.get("_tokens"));
    this.count = table ? table.numRows : 0;
    const empty: never[] = [];
    this.side = table ? column<string>(table, "side") : empty;
    this.choice = table ? column<number>(table, "choice") : empty;
    this.bytes = table ? column<Uint8Array | null>(table, "bytes") : empty;
    this.tokens = table ? column<string | null>(table, "token") : empty;
    this.logprob = table ? column<number>(table, "logprob") : empty;
    this.altStart = table ? column<number>(table, "alt_start") : empty;
    this.altEnd = table ? column<number>(table, "alt_end") : empty;
    this.model = model;
    this.runs = this.groups();
    this.pieces = new Array(this.count);
    this.decoders = this.runs.map(() => new TokenDecoder());
    this.decodedTo = this.runs.map(([start]) => start);
    this.ranks = new Int32Array(this.count).fill(-1);
  }

  /** [start, end) of each run of one side and choice (rows arrive sorted by side, choice, position). */
  private groups(): Array<[number, number]> {
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

  /** Token i decoded (the tokens before it in its run are decoded first: split characters need them). */
  piece(i: number): Piece {
    const known = this.pieces[i];
    if (known) return known;
    const g = this.runs.findIndex(([start, end]) => i >= start && i < end);
    const run = this.runs[g];
    const decoder = this.decoders[g];
    if (!run || !decoder) return { text: "", lossy: false, continued: false };
    for (let k = this.decodedTo[g] ?? run[0]; k <= i; k++)
      this.pieces[k] = decoder.next(this.bytes[k] ?? null, this.tokens[k], k === run[1] - 1);
    this.decodedTo[g] = i + 1;
    return this.pieces[i] as Piece;
  }

  rank(i: number): number {
    if ((this.ranks[i] ?? 0) < 0) this.ranks[i] = rankOf(this.bytes[i] ?? null, this.alternativeBytes(i));
    return this.ranks[i] ?? 0;
  }

  /** Whether the alternatives are at hand (they come after the first paint: from the page, or from the kernel). */
  get alternativesLoaded(): boolean {
    return this.alts !== undefined || !this.model.get("_alternative_count");
  }

  /** Get the alternatives: embedded in an exported page, else asked of the kernel once. */
  async loadAlternatives(experimental: Experimental | undefined): Promise<void> {
    if (this.alts) return;
    const table = decodeArrow(this.model.get("_alternatives")) ?? (await fetchTable(experimental, "alternatives_ipc"));
    this.alts = {
      bytes: table ? column<Uint8Array | null>(table, "bytes") : [],
      token: table ? column<string | null>(table, "token") : [],
      logprob: table ? column<number>(table, "logprob") : [],
    };
    this.ranks.fill(-1);
  }

  private alternatives() {
    return this.alts ?? { bytes: [], token: [], logprob: [] };
  }

  alternativeLabel(k: number): string {
    const { bytes, token } = this.alternatives();
    const raw = bytes[k];
    return raw ? new TextDecoder().decode(raw) : (token[k] ?? "");
  }

  alternativeBytes(i: number): ArrayLike<Uint8Array | null> {
    return slice(this.alternatives().bytes, this.altStart[i] ?? 0, this.altEnd[i] ?? 0);
  }

  alternativeLogprobs(i: number): ArrayLike<number> {
    return slice(this.alternatives().logprob, this.altStart[i] ?? 0, this.altEnd[i] ?? 0);
  }

  surprise(mode: Mode, i: number): number {
    if (mode === "probability") return surprise(mode, this.logprob[i] ?? Number.NaN, [], 0);
    return surprise(mode, this.logprob[i] ?? Number.NaN, this.alternativeLogprobs(i), this.rank(i));
  }
}

/** Where two completions (choices 0 and 1 of a diff) differ, from the alignment opcodes computed in Python. */
class Diff {
  readonly changed: Uint8Array;
  readonly starts = new Map<number, { other: number; logprob: number }>();
  readonly summary: string;

  constructor(data: Tokens, model: AnyModel<Model>) {
    this.changed = new Uint8Array(data.count);
    const table = decodeArrow(model.get("_alignment"));
    const [a, b] = data.runs;
    if (!table || !a || !b) {
      this.summary = "";
      return;
    }
    const op = column<string>(table, "op");
    const [aStart, aEnd, bStart, bEnd] = ["a_start", "a_end", "b_start", "b_end"].map((name) =>
      column<number>(table, name),
    );
    const aOfB = column<number>(table, "a_logprob_of_b");
    const bOfA = column<number>(table, "b_logprob_of_a");
    let shared = 0;
    let first = -1;
    let regions = 0;
    for (let r = 0; r < table.numRows; r++) {
      const [i1, i2, j1, j2] = [aStart?.[r] ?? 0, aEnd?.[r] ?? 0, bStart?.[r] ?? 0, bEnd?.[r] ?? 0];
      if (op[r] === "equal") {
        shared += i2 - i1;
        continue;
      }
      regions++;
      if (first < 0) first = i1;
      for (let i = i1; i < i2; i++) this.changed[a[0] + i] = 1;
      for (let j = j1; j < j2; j++) this.changed[b[0] + j] = 1;
      // where they part: the token each took, and the probability the other gave it
      if (i1 < i2) this.starts.set(a[0] + i1, { other: j1 < j2 ? b[0] + j1 : -1, logprob: aOfB[r] ?? Number.NaN });
      if (j1 < j2) this.starts.set(b[0] + j1, { other: i1 < i2 ? a[0] + i1 : -1, logprob: bOfA[r] ?? Number.NaN });
    }
    const longest = Math.max(a[1] - a[0], b[1] - b[0]) || 1;
    this.summary = regions
      ? `first divergence at token ${first} · ${regions} differing region${regions > 1 ? "s" : ""} · ` +
        `${percent(shared / longest)} of tokens shared`
      : "identical token sequences";
  }
}

function slice<T>(values: ArrayLike<T>, start: number, end: number): ArrayLike<T> {
  if (ArrayBuffer.isView(values))
    return (values as unknown as Float32Array).subarray(start, end) as unknown as ArrayLike<T>;
  return Array.prototype.slice.call(values, start, end) as T[];
}

function tokenSpan(data: Tokens, diff: Diff, mode: Mode, i: number): HTMLSpanElement {
  const { text, lossy, continued } = data.piece(i);
  const shown = continued && text === "" ? "·" : visible(text);
  const span = h("span", { class: "ll-tok" }, shown);
  span.dataset.i = String(i);
  if (shown !== text) span.classList.add(continued && text === "" ? "ll-cont" : "ll-ws");
  if (lossy) {
    span.classList.add("ll-lossy");
    span.title = "lossy: these bytes are not valid UTF-8 on their own, or the provider sent U+FFFD";
  } else if (continued) {
    span.title = "starts a character that the next token completes";
  }
  span.style.backgroundColor = surpriseColour(data.surprise(mode, i));
  if (diff.changed[i]) span.classList.add("ll-changed");
  if (diff.starts.has(i)) span.classList.add("ll-diverge");
  return span;
}

function buildBlock(data: Tokens, diff: Diff, mode: () => Mode, start: number, end: number): HTMLElement {
  const block = h("span");
  const current = mode();
  for (let i = start; i < end; i++) {
    block.appendChild(tokenSpan(data, diff, current, i));
    if (data.piece(i).text.includes("\n")) block.appendChild(document.createElement("br"));
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

function divergence(data: Tokens, diff: Diff, i: number): HTMLElement | null {
  const start = diff.starts.get(i);
  if (!start) return null;
  const other = start.other >= 0 ? JSON.stringify(data.piece(start.other).text) : "nothing (it ended)";
  const given = Number.isFinite(start.logprob)
    ? `this completion gave it ${percent(Math.exp(start.logprob))}`
    : "it was not among this completion's alternatives";
  return h("div", { class: "ll-diverge-note" }, `The completions part here: the other took ${other}; ${given}.`);
}

function detail(data: Tokens, i: number): HTMLElement {
  const lp = data.logprob[i] ?? Number.NaN;
  const alts = data.alternativeLogprobs(i);
  const { entropy: h_, residual } = entropy(alts);
  const head = h(
    "div",
    {},
    h("strong", {}, JSON.stringify(data.piece(i).text)),
    ` p = ${percent(Math.exp(lp))} · logprob ${Number.isFinite(lp) ? lp.toFixed(4) : "unknown"}`,
    alts.length ? ` · rank ${data.rank(i) || `> ${alts.length}`} · entropy ${h_.toFixed(3)} nats` : "",
  );
  if (!alts.length) {
    const why = data.alternativesLoaded ? "no alternatives returned" : "loading alternatives…";
    return h("div", {}, head, h("div", { class: "ll-note" }, why));
  }
  const table = h("table", { class: "ll-alts" });
  const start = data.altStart[i] ?? 0;
  for (let k = 0; k < alts.length; k++) {
    const p = Math.exp(alts[k] ?? Number.NaN);
    const bar = h("div", { class: "ll-bar" });
    bar.style.width = `${Math.max(1, Math.round(p * 120))}px`;
    const chosen = data.rank(i) === k + 1;
    const label = data.alternativeLabel(start + k);
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

function render({ model, el, experimental }: RenderProps<Model>): () => void {
  const root = h("div", { class: "llmlens ll-tokens", attrs: { tabindex: "0" } });
  applyTheme(root, TOKENS_CSS);
  el.appendChild(root);
  const data = new Tokens(model);
  const diff = new Diff(data, model);
  const labels = model.get("labels") ?? [];
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
  if (diff.summary) root.appendChild(h("div", { class: "ll-diff-summary" }, diff.summary));

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
  const groups = data.runs;
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
      const label = labels[data.choice[start] ?? 0];
      const name = label ? `${label} · ` : runs.length > 1 ? `choice ${data.choice[start]} · ` : "";
      grid.appendChild(
        h(
          "div",
          { class: "ll-col" },
          h("div", { class: "ll-stats" }, name + statsLine(data, start, end, threshold)),
          body,
        ),
      );
      const lazy = lazyBlocks(
        body,
        end - start,
        BLOCK,
        (a, b) => buildBlock(data, diff, mode, start + a, start + b),
        60,
      );
      blocks.push(lazy);
    }
    root.appendChild(grid);
  }
  root.appendChild(detailPane);

  const spanOf = (i: number) => root.querySelector<HTMLElement>(`.ll-tok[data-i="${i}"]`);
  let shown = -1;
  const show = (i: number) => {
    shown = i;
    clear(detailPane);
    append(detailPane, divergence(data, diff, i), detail(data, i));
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
  void data.loadAlternatives(experimental).then(() => {
    if (mode() !== "probability") recolour();
    if (shown >= 0) show(shown);
    root.dataset.alternatives = "loaded";
  });
  return () => {
    unbind();
    model.off("change:mode", recolour);
    for (const lazy of blocks) lazy.destroy();
  };
}

export default { render };

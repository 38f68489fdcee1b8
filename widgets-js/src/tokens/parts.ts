// The pieces of the token view: one token, a block of tokens, a statistics line, the detail of a token.
import { h } from "../lib/dom";
import { surpriseColour } from "../lib/theme";
import type { Diff, Tokens } from "./data";
import { entropy, type Mode, percent, stats, visible } from "./model";

export function tokenSpan(data: Tokens, diff: Diff, mode: Mode, i: number): HTMLSpanElement {
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

export function buildBlock(data: Tokens, diff: Diff, mode: () => Mode, start: number, end: number): HTMLElement {
  const block = h("span");
  const current = mode();
  for (let i = start; i < end; i++) {
    block.appendChild(tokenSpan(data, diff, current, i));
    if (data.piece(i).text.includes("\n")) block.appendChild(document.createElement("br"));
  }
  return block;
}

export function statsLine(data: Tokens, start: number, end: number, threshold: number): string {
  const s = stats(data.logprob, start, end, threshold);
  if (!s.known) return `${s.tokens.toLocaleString()} tokens, no logprobs`;
  return (
    `${s.tokens.toLocaleString()} tokens · mean logprob ${s.meanLogprob.toFixed(3)} · ` +
    `perplexity ${s.perplexity.toFixed(2)} · ${s.lowConfidence.toLocaleString()} under ${percent(threshold)}`
  );
}

export function divergence(data: Tokens, diff: Diff, i: number): HTMLElement | null {
  const start = diff.starts.get(i);
  if (!start) return null;
  const other = start.other >= 0 ? JSON.stringify(data.piece(start.other).text) : "nothing (it ended)";
  const given = Number.isFinite(start.logprob)
    ? `this completion gave it ${percent(Math.exp(start.logprob))}`
    : "it was not among this completion's alternatives";
  return h("div", { class: "ll-diverge-note" }, `The completions part here: the other took ${other}; ${given}.`);
}

export function detail(data: Tokens, i: number): HTMLElement {
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

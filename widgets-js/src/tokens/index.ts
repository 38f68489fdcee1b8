// The token viewer: tokens coloured by probability, entropy or rank; alternatives on hover; keyboard navigation.
import type { RenderProps } from "@anywidget/types";
import { append, clear, h } from "../lib/dom";
import { bindKeys } from "../lib/keys";
import { applyTheme } from "../lib/theme";
import { type LazyBlocks, lazyBlocks } from "../lib/virtual";
import { Diff, type Model, Tokens } from "./data";
import { lowCut, type Mode } from "./model";
import { buildBlock, detail, divergence, statsLine } from "./parts";
import { TOKENS_CSS } from "./style";

const MODES: Mode[] = ["probability", "entropy", "rank"];
const BLOCK = 400;

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
      const group = data.runOf(i);
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

  const cut = lowCut(threshold);
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

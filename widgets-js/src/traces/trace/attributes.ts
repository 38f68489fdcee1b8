// Values of a span's detail as DOM: a text that the kernel may have cut (with "show all"), and attributes as a
// collapsible tree, built a level at a time when opened and a page of entries at a time. Every key and value is
// data from the trace and only ever becomes text nodes.
import { append, h } from "../../lib/dom";
import { branchSummary, cutNote, entriesOf, isBranch, isCut, leafText, nextPage, type Path, textOf } from "./values";

/** What a value needs to fetch its full text. */
export interface ValueContext {
  spanId: string;
  /** Whether there is a kernel to ask for the full text of a cut value. */
  live: boolean;
  full(path: Path): Promise<string>;
}

/** Entries of one object shown at a time ("show more" adds the next page). */
export const ENTRY_PAGE = 100;
/** Branches with at most this many entries start open at the top level. */
const OPEN_AT_TOP = 12;

/** A block of text (pre-wrapped); a cut value shows its preview, its full length and "show all". */
export function textBlock(value: unknown, path: Path, ctx: ValueContext, cls = "ll-text"): HTMLElement {
  const { text, cut } = textOf(value);
  const body = document.createTextNode(text);
  const block = h("div", { class: cls });
  block.appendChild(body);
  if (cut) block.appendChild(cutControl(cut.length, path, ctx, body));
  return block;
}

/** The note under a cut value: its full length and, with a kernel, a "show all" that fetches it into `body`. */
function cutControl(length: number, path: Path, ctx: ValueContext, body: Text): HTMLElement {
  const note = h("span", { class: "ll-cut-note" }, `… ${cutNote({ __cut__: true, preview: "", length })}`);
  const control = h("div", { class: "ll-cut" }, note);
  if (!ctx.live) {
    note.textContent += " (the full value is not in this page)";
    return control;
  }
  const button = h("button", { class: "ll-show-all", attrs: { "data-path": JSON.stringify(path) } }, "show all");
  button.addEventListener("click", () => {
    button.disabled = true;
    button.textContent = "loading…";
    ctx.full(path).then(
      (full) => {
        body.data = full;
        control.remove();
      },
      (error: unknown) => {
        button.remove();
        note.textContent += ` · could not load it: ${error instanceof Error ? error.message : String(error)}`;
      },
    );
  });
  control.appendChild(button);
  return control;
}

/** A leaf's value inline: strings pre-wrapped, other values as JSON, cut strings with their control. */
function leafValue(value: unknown, path: Path, ctx: ValueContext): HTMLElement {
  if (isCut(value)) return textBlock(value, path, ctx, "ll-str");
  if (typeof value === "string") return h("span", { class: "ll-str" }, value);
  return h("span", { class: value === null ? "ll-lit ll-null" : "ll-lit" }, leafText(value));
}

/** Attributes (any JSON value) as a collapsible tree rooted at `path`. */
export function attributeTree(value: unknown, path: Path, ctx: ValueContext): HTMLElement {
  const root = h("div", { class: "ll-attrs" });
  if (!isBranch(value)) {
    root.appendChild(leafValue(value, path, ctx));
    return root;
  }
  const entries = entriesOf(value);
  if (!entries.length) root.appendChild(h("span", { class: "ll-muted" }, branchSummary(value)));
  else appendEntries(root, entries, path, ctx, 0);
  return root;
}

/** Append the entries of one branch a page at a time (the rest behind a "show more" button). */
function appendEntries(
  container: HTMLElement,
  entries: Array<[string | number, unknown]>,
  path: Path,
  ctx: ValueContext,
  depth: number,
  shown = 0,
): void {
  const [from, to] = nextPage(shown, entries.length, ENTRY_PAGE);
  for (let k = from; k < to; k++) {
    const [key, item] = entries[k] as [string | number, unknown];
    container.appendChild(entry(key, item, [...path, key], ctx, depth));
  }
  if (to >= entries.length) return;
  const rest = entries.length - to;
  const more = h("button", { class: "ll-more" }, `show ${Math.min(ENTRY_PAGE, rest)} more of ${rest}`);
  more.addEventListener("click", () => {
    more.remove();
    appendEntries(container, entries, path, ctx, depth, to);
  });
  container.appendChild(more);
}

function entry(key: string | number, value: unknown, path: Path, ctx: ValueContext, depth: number): HTMLElement {
  const label = h("span", { class: "ll-key" }, typeof key === "number" ? `[${key}]` : key);
  if (!isBranch(value)) return h("div", { class: "ll-attr-leaf" }, label, leafValue(value, path, ctx));
  const entries = entriesOf(value);
  const node = h(
    "details",
    { class: "ll-attr" },
    h("summary", {}, label, h("span", { class: "ll-muted" }, ` ${branchSummary(value)}`)),
  );
  const children = h("div", { class: "ll-attr-children" });
  node.appendChild(children);
  let built = false;
  const build = () => {
    if (built || !node.open) return;
    built = true;
    if (entries.length) appendEntries(children, entries, path, ctx, depth + 1);
    else append(children, h("span", { class: "ll-muted" }, "empty"));
  };
  node.addEventListener("toggle", build);
  if (depth === 0 && entries.length <= OPEN_AT_TOP) {
    node.open = true;
    build();
  }
  return node;
}

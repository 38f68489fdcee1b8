// The review queue: one item of a queue at a time, its trace shown with the trace view, judged by keyboard. Every
// judgement is a kernel command (`act`) that writes it to the store at once; the new state comes back in the
// traits. Moving (j / k, and p / f which move on) sets `position` here first, so fast keys judge the right items.
import type { Experimental } from "@anywidget/types";
import { append, clear, h } from "../../lib/dom";
import { bindKeys } from "../../lib/keys";
import { applyTheme } from "../../lib/theme";
import { renderTrace } from "../trace/index";
import { progress, progressText, type ReviewItem, step, tagAction, tagChips, tagForKey } from "./model";
import { REVIEW_CSS } from "./style";

// biome-ignore lint/suspicious/noExplicitAny: the trace view reads its own traits from the same model
export type ReviewModel = any;

const HINT = "j / k next / previous · p pass · f fail · 1–9 tags · t new tag · n note (Enter saves) · u undo";

let lists = 0; // datalist ids, unique in the page

export function renderReview(el: HTMLElement, model: ReviewModel, experimental?: Experimental): () => void {
  const root = h("div", { class: "llmlens ll-review", attrs: { tabindex: "0", "data-state": "loading" } });
  applyTheme(root, REVIEW_CSS);
  el.appendChild(root);

  const queueName = h("span", { class: "ll-review-queue" });
  const reviewer = h("span", { class: "ll-muted ll-reviewer" });
  const counter = h("span", { class: "ll-progress" });
  const fill = h("div", { class: "ll-progress-fill" });
  const bar = h("div", { class: "ll-progress-bar", attrs: { role: "progressbar" } }, fill);
  const where = h("span", { class: "ll-muted ll-item" });
  const reason = h("span", { class: "ll-muted ll-reason" });
  append(root, h("div", { class: "ll-review-bar" }, queueName, reviewer, counter, bar, where, reason));

  const button = (label: string, cls: string, title: string, action: () => void) => {
    const b = h("button", { class: cls, title }, label);
    b.addEventListener("click", action);
    return b;
  };
  const previous = button("← previous", "ll-previous", "previous item (k)", () => move(-1));
  const next = button("next →", "ll-next", "next item (j)", () => move(1));
  const pass = button("✓ pass", "ll-pass", "pass (p)", () => verdict("pass"));
  const failed = button("✗ fail", "ll-fail", "fail (f)", () => verdict("fail"));
  const chips = h("span", { class: "ll-tags" });
  const listId = `ll-review-tags-${++lists}`;
  const datalist = h("datalist", { attrs: { id: listId } });
  const tagInput = h("input", {
    class: "ll-tag-input",
    attrs: { type: "text", list: listId, placeholder: "add a tag (t)", "aria-label": "add a tag", maxlength: "60" },
  });
  const note = h("input", {
    class: "ll-note-input",
    attrs: { type: "text", placeholder: "note (n; Enter saves)", "aria-label": "note", maxlength: "10000" },
  });
  const undo = button("↶ undo", "ll-undo", "undo the last judgement (u)", () => act("undo"));
  append(
    root,
    h("div", { class: "ll-review-controls" }, previous, next, pass, failed, chips, tagInput, datalist, note, undo),
  );
  const error = h("div", { class: "ll-review-error", attrs: { role: "alert" } });
  append(root, error, h("div", { class: "ll-muted ll-review-hint" }, HINT));
  const tracePane = h("div", { class: "ll-review-trace" });
  root.appendChild(tracePane);

  let pending = 0;
  let failure = "";
  root.dataset.pending = "0";

  const items = (): ReviewItem[] => model.get("_items") ?? [];
  const position = (): number => Number(model.get("position") ?? 0);
  const current = (): ReviewItem | undefined => items()[position()];
  const taxonomy = (): string[] => model.get("_tags") ?? [];

  function move(by: number): void {
    const to = step(position(), by, items().length);
    if (to === position()) return;
    model.set("position", to);
    model.save_changes();
  }

  async function act(action: string, value?: string, traceId?: string): Promise<void> {
    if (!experimental) return showFailure("this page has no kernel: judgements are made in the notebook");
    pending++;
    root.dataset.pending = String(pending);
    try {
      const [reply] = await experimental.invoke<{ ok?: boolean; error?: string }>("act", {
        action,
        value,
        trace_id: traceId ?? current()?.trace_id ?? "",
      });
      showFailure(reply.error ?? "");
    } catch (problem) {
      showFailure(`the judgement was not written: ${String(problem)}`);
    } finally {
      pending--;
      root.dataset.pending = String(pending);
    }
  }

  function verdict(value: string): void {
    const item = current();
    if (!item) return;
    void act("verdict", value, item.trace_id);
    move(1); // on to the next item while the kernel writes this one
    focusRoot();
  }

  function toggleTag(tag: string): void {
    const item = current();
    if (item) void act(tagAction(item, tag), tag, item.trace_id);
  }

  function showFailure(text: string): void {
    failure = text;
    drawError();
  }

  function drawError(): void {
    error.textContent = failure || model.get("error") || "";
  }

  function focusRoot(): void {
    const active = document.activeElement;
    if (!active || active === document.body || !root.contains(active) || active.tagName === "BUTTON") root.focus();
  }

  tagInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      const tag = tagInput.value.trim();
      if (tag) toggleTag(tag);
      tagInput.value = "";
      root.focus();
    } else if (event.key === "Escape") {
      tagInput.value = "";
      root.focus();
    } else return;
    event.preventDefault();
    event.stopPropagation();
  });
  note.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      const item = current();
      if (item && note.value.trim() !== (item.note ?? "")) void act("note", note.value, item.trace_id);
      root.focus();
    } else if (event.key === "Escape") {
      note.value = current()?.note ?? "";
      root.focus();
    } else return;
    event.preventDefault();
    event.stopPropagation();
  });

  function draw(): void {
    const all = items();
    const item = current();
    const { judged, total } = progress(all);
    queueName.textContent = `review ${model.get("queue") ?? ""}`;
    reviewer.textContent = `reviewer ${model.get("reviewer") ?? ""}`;
    counter.textContent = progressText(all);
    fill.style.width = `${total ? (100 * judged) / total : 0}%`;
    bar.setAttribute("aria-valuenow", String(judged));
    bar.setAttribute("aria-valuemax", String(total));
    where.textContent = total ? `item ${position() + 1} of ${total}` : "no items";
    reason.textContent = item?.reason ? `picked: ${item.reason}` : "";
    pass.setAttribute("aria-pressed", String(item?.verdict === "pass"));
    failed.setAttribute("aria-pressed", String(item?.verdict === "fail"));
    previous.disabled = position() <= 0;
    next.disabled = position() >= total - 1;
    clear(chips);
    for (const chip of tagChips(taxonomy(), item)) {
      const b = h(
        "button",
        { class: "ll-tag", title: chip.key ? `${chip.tag} (${chip.key})` : chip.tag, attrs: { "data-tag": chip.tag } },
        chip.key ? h("span", { class: "ll-tag-key" }, chip.key) : null,
        chip.tag,
      );
      b.setAttribute("aria-pressed", String(chip.on));
      b.addEventListener("click", () => toggleTag(chip.tag));
      chips.appendChild(b);
    }
    if (document.activeElement !== note) note.value = item?.note ?? "";
    root.dataset.position = String(position());
    root.dataset.traceId = item?.trace_id ?? "";
    root.dataset.verdict = item?.verdict ?? "";
    root.dataset.judged = String(judged);
    root.dataset.state = "ready";
  }

  function drawTags(): void {
    clear(datalist);
    for (const tag of taxonomy()) {
      const option = h("option");
      option.value = tag;
      datalist.appendChild(option);
    }
    draw();
  }

  const unbind = bindKeys(root, {
    j: () => move(1),
    k: () => move(-1),
    ArrowRight: () => move(1), // the trace view keeps the arrows while focus is in it
    ArrowLeft: () => move(-1),
    p: () => verdict("pass"),
    f: () => verdict("fail"),
    u: () => void act("undo"),
    t: () => tagInput.focus(),
    n: () => note.focus(),
    ...Object.fromEntries(
      ["1", "2", "3", "4", "5", "6", "7", "8", "9"].map((key) => [
        key,
        () => {
          const tag = tagForKey(taxonomy(), key);
          if (tag) toggleTag(tag);
        },
      ]),
    ),
  });

  const onError = () => drawError();
  model.on("change:_items", draw);
  model.on("change:position", draw);
  model.on("change:_tags", drawTags);
  model.on("change:error", onError);
  drawTags();
  drawError();
  const stopTrace = renderTrace(tracePane, model, experimental);

  return () => {
    unbind();
    stopTrace();
    model.off("change:_items", draw);
    model.off("change:position", draw);
    model.off("change:_tags", drawTags);
    model.off("change:error", onError);
    root.remove();
  };
}

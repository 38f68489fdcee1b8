import { describe, expect, it } from "vitest";
import {
  progress,
  progressText,
  type ReviewItem,
  step,
  tagAction,
  tagChips,
  tagForKey,
} from "../src/traces/review/model";

const item = (verdict: string | null, tags: string[] = []): ReviewItem => ({
  trace_id: "t",
  reason: null,
  verdict,
  tags,
  note: null,
});

describe("review queue", () => {
  it("counts the items with a verdict", () => {
    const items = [item("pass"), item(null), item("fail")];
    expect(progress(items)).toEqual({ judged: 2, total: 3 });
    expect(progressText(items)).toBe("2 / 3 judged");
    expect(progressText([item("pass")])).toBe("all 1 judged");
    expect(progressText([])).toBe("0 / 0 judged");
  });

  it("moves within the queue", () => {
    expect([step(0, -1, 5), step(0, 1, 5), step(4, 1, 5), step(2, -1, 5), step(0, 1, 0)]).toEqual([0, 1, 4, 1, 0]);
  });

  it("gives the taxonomy's first nine tags the number keys, and shows the item's other tags", () => {
    const taxonomy = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
    const chips = tagChips(taxonomy, item(null, ["b", "j", "new"]));
    expect(chips.map((c) => [c.tag, c.key, c.on]).slice(0, 2)).toEqual([
      ["a", "1", false],
      ["b", "2", true],
    ]);
    expect(chips.slice(9).map((c) => [c.tag, c.key, c.on])).toEqual([
      ["j", null, true],
      ["new", null, true],
    ]);
    expect([
      tagForKey(taxonomy, "1"),
      tagForKey(taxonomy, "9"),
      tagForKey(["a"], "2"),
      tagForKey(taxonomy, "0"),
    ]).toEqual(["a", "i", null, null]);
    expect([tagAction(item(null, ["a"]), "a"), tagAction(item(null), "a")]).toEqual(["untag", "tag"]);
  });
});

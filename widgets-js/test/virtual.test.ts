import { describe, expect, it } from "vitest";
import { blockRanges } from "../src/lib/virtual";

describe("blockRanges", () => {
  it("covers every item once, in blocks of the given size", () => {
    expect(blockRanges(0, 400)).toEqual([]);
    expect(blockRanges(5, 2)).toEqual([
      [0, 2],
      [2, 4],
      [4, 5],
    ]);
    const ranges = blockRanges(100_000, 400);
    expect(ranges.length).toBe(250);
    expect(ranges.at(-1)).toEqual([99_600, 100_000]);
  });
});

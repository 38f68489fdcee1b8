import { bool, columnFromArray, float64, int32, tableFromColumns, tableToIPC, utf8 } from "@uwdata/flechette";
import { describe, expect, it } from "vitest";
import { rowWindow, scrollScale, scrollToShow } from "../src/lib/virtual";
import { base64View, decodeSpans, rowIndex, subtreeEnds, toFloat64, toInt32 } from "../src/traces/trace/data";
import {
  ancestors,
  collapseAll,
  collapseBelow,
  expandTo,
  floorPosition,
  navigate,
  nextFlagged,
  type Outline,
  positionOf,
  visibleRows,
} from "../src/traces/trace/outline";
import { DetailSource } from "../src/traces/trace/source";
import {
  barGeometry,
  extent,
  formatMs,
  gridBackground,
  niceStep,
  tickLabel,
  timeTicks,
} from "../src/traces/trace/timeline";
import { LocalModel, tokenTraits } from "../src/traces/trace/token-view";
import {
  branchSummary,
  cutNote,
  entriesOf,
  formatUsd,
  isBranch,
  isCut,
  kindBadge,
  leafText,
  nextPage,
  oneLine,
  pathLabel,
  prettyJson,
  textOf,
} from "../src/traces/trace/values";

// 0 root            end 6
// 1   a             end 4
// 2     a1          end 3
// 3     a2          end 4
// 4   b             end 6
// 5     b1          end 6
// 6 second root     end 7
const PARENT = Int32Array.from([-1, 0, 1, 1, 0, 4, -1]);
const DEPTH = Int32Array.from([0, 1, 2, 2, 1, 2, 0]);
const END = Int32Array.from([6, 4, 3, 4, 6, 6, 7]);

const outline = (collapsed: number[] = []): Outline => {
  const flags = new Uint8Array(END.length);
  for (const row of collapsed) flags[row] = 1;
  return { visible: visibleRows(END, flags), end: END, parent: PARENT, collapsed: flags };
};

describe("visible rows", () => {
  it("shows every row when nothing is collapsed", () => {
    expect([...visibleRows(END, new Uint8Array(7))]).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it("skips a collapsed row's subtree to its end", () => {
    expect([...outline([1]).visible]).toEqual([0, 1, 4, 5, 6]);
    expect([...outline([1, 4]).visible]).toEqual([0, 1, 4, 6]);
    expect([...outline([0]).visible]).toEqual([0, 6]);
    // a collapsed row inside a collapsed subtree changes nothing more
    expect([...outline([0, 1]).visible]).toEqual([0, 6]);
    // collapsing a leaf hides nothing
    expect([...outline([2, 6]).visible]).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it("survives a malformed end column (never loops, never runs past the rows)", () => {
    const bad = Int32Array.from([0, 99, -5]);
    expect([...visibleRows(bad, Uint8Array.from([1, 1, 1]))]).toEqual([0, 1]);
  });

  it("reuses the buffer it is given", () => {
    const buffer = new Int32Array(7);
    const rows = visibleRows(END, Uint8Array.from([0, 1, 0, 0, 0, 0, 0]), buffer);
    expect(rows.buffer).toBe(buffer.buffer);
    expect(rows.length).toBe(5);
  });

  it("costs the rows shown, not the rows in the trace", () => {
    // one root holding 1,000,000 descendants, collapsed: two rows shown
    const n = 1_000_001;
    const end = new Int32Array(n);
    for (let i = 0; i < n; i++) end[i] = i === 0 ? n : i + 1;
    const flags = new Uint8Array(n);
    flags[0] = 1;
    expect([...visibleRows(end, flags)]).toEqual([0]);
  });

  it("finds a row among the shown ones, and a hidden row's collapsed ancestor", () => {
    const { visible } = outline([1]);
    expect(positionOf(visible, 4)).toBe(2);
    expect(positionOf(visible, 2)).toBe(-1);
    expect(floorPosition(visible, 3)).toBe(1); // row 3 hides under row 1
    expect(floorPosition(new Int32Array(0), 3)).toBe(-1);
  });

  it("expands the ancestors of a row to reveal it", () => {
    const flags = Uint8Array.from([1, 1, 0, 0, 0, 0, 0]);
    expect(ancestors(PARENT, 3)).toEqual([1, 0]);
    expect(expandTo(PARENT, flags, 3)).toBe(true);
    expect([...flags]).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(expandTo(PARENT, flags, 3)).toBe(false);
    // a parent cycle does not loop
    expect(ancestors(Int32Array.from([1, 0]), 0).length).toBeLessThanOrEqual(2);
  });

  it("collapses everything, or below a depth", () => {
    const flags = new Uint8Array(7);
    collapseAll(END, flags);
    expect([...flags]).toEqual([1, 1, 0, 0, 1, 0, 0]);
    expect([...visibleRows(END, flags)]).toEqual([0, 6]);
    collapseBelow(END, DEPTH, flags, 1);
    expect([...visibleRows(END, flags)]).toEqual([0, 1, 4, 6]);
  });
});

describe("keyboard over the shown rows", () => {
  it("moves up and down over shown rows only, and stops at the ends", () => {
    const tree = outline([1]);
    expect(navigate("ArrowDown", 1, tree, 10)).toEqual({ select: 4 });
    expect(navigate("ArrowUp", 4, tree, 10)).toEqual({ select: 1 });
    expect(navigate("ArrowUp", 0, tree, 10)).toEqual({ select: 0 });
    expect(navigate("ArrowDown", 6, tree, 10)).toEqual({ select: 6 });
    expect(navigate("ArrowDown", -1, tree, 10)).toEqual({ select: 0 });
    expect(navigate("End", -1, tree, 10)).toEqual({ select: 6 });
  });

  it("pages, and goes home and to the end", () => {
    const tree = outline();
    expect(navigate("PageDown", 0, tree, 3)).toEqual({ select: 3 });
    expect(navigate("PageDown", 5, tree, 3)).toEqual({ select: 6 });
    expect(navigate("PageUp", 2, tree, 3)).toEqual({ select: 0 });
    expect(navigate("Home", 5, tree, 3)).toEqual({ select: 0 });
    expect(navigate("End", 1, tree, 3)).toEqual({ select: 6 });
  });

  it("folds with left and right", () => {
    expect(navigate("ArrowLeft", 1, outline(), 10)).toEqual({ collapse: 1 });
    expect(navigate("ArrowLeft", 1, outline([1]), 10)).toEqual({ select: 0 });
    expect(navigate("ArrowLeft", 2, outline(), 10)).toEqual({ select: 1 });
    expect(navigate("ArrowLeft", 6, outline(), 10)).toEqual({});
    expect(navigate("ArrowRight", 1, outline([1]), 10)).toEqual({ expand: 1 });
    expect(navigate("ArrowRight", 1, outline(), 10)).toEqual({ select: 2 });
    expect(navigate("ArrowRight", 2, outline(), 10)).toEqual({});
  });

  it("moves from a selection that a fold hid as if from its folded ancestor", () => {
    const tree = outline([1]);
    expect(navigate("ArrowDown", 3, tree, 10)).toEqual({ select: 4 });
    expect(navigate("ArrowUp", 3, tree, 10)).toEqual({ select: 1 });
  });

  it("does nothing on an empty tree or an unknown key", () => {
    const empty = { visible: new Int32Array(0), end: new Int32Array(0), parent: new Int32Array(0) };
    expect(navigate("ArrowDown", -1, { ...empty, collapsed: new Uint8Array(0) }, 10)).toEqual({});
    expect(navigate("x", 1, outline(), 10)).toEqual({});
  });

  it("jumps to the next flagged row, wrapping, both ways", () => {
    const errors = Uint8Array.from([0, 0, 1, 0, 0, 1, 0]);
    expect(nextFlagged(errors, -1)).toBe(2);
    expect(nextFlagged(errors, 2)).toBe(5);
    expect(nextFlagged(errors, 5)).toBe(2);
    expect(nextFlagged(errors, 2, true)).toBe(5);
    expect(nextFlagged(new Uint8Array(3), 0)).toBe(-1);
  });
});

describe("rows in view", () => {
  it("draws only the rows a viewport shows, with a few either side", () => {
    expect(rowWindow(0, 440, 22, 30_000)).toEqual([0, 26]);
    expect(rowWindow(22_000, 440, 22, 30_000)).toEqual([994, 1026]);
    expect(rowWindow(659_560, 440, 22, 30_000)).toEqual([29_974, 30_000]);
    expect(rowWindow(0, 440, 22, 3)).toEqual([0, 3]);
    expect(rowWindow(0, 440, 22, 0)).toEqual([0, 0]);
  });

  it("scales the scroll only past the tallest spacer", () => {
    expect(scrollScale(30_000 * 22, 8_000_000, 440)).toBe(1);
    const scale = scrollScale(1_000_000 * 22, 8_000_000, 440);
    // the bottom of the spacer reaches the last row
    expect((8_000_000 - 440) * scale + 440).toBeCloseTo(22_000_000, 3);
  });

  it("scrolls just enough to show a row", () => {
    expect(scrollToShow(10, 22, 0, 440)).toBe(0);
    expect(scrollToShow(30, 22, 0, 440)).toBe(31 * 22 - 440);
    expect(scrollToShow(2, 22, 220, 440)).toBe(44);
  });
});

describe("waterfall", () => {
  it("covers every known span and the trace's duration", () => {
    const start = Float64Array.from([0, 10, Number.NaN, 50]);
    const duration = Float64Array.from([100, 200, 5, Number.NaN]);
    expect(extent(start, duration)).toEqual([0, 210]);
    expect(extent(start, duration, 500)).toEqual([0, 500]);
    expect(extent(Float64Array.from([-5]), Float64Array.from([10]))).toEqual([-5, 5]);
    expect(extent(new Float64Array(0), new Float64Array(0))).toEqual([0, 1]);
    expect(extent(Float64Array.from([Number.NaN]), Float64Array.from([Number.NaN]))).toEqual([0, 1]);
  });

  it("places bars as fractions of the extent", () => {
    expect(barGeometry(50, 25, 0, 100)).toEqual({ left: 0.5, width: 0.25, known: true });
    expect(barGeometry(90, 50, 0, 100)).toEqual({ left: 0.9, width: expect.closeTo(0.1, 9), known: true });
    expect(barGeometry(20, Number.NaN, 0, 100)).toEqual({ left: 0.2, width: 0, known: false });
    expect(barGeometry(Number.NaN, 5, 0, 100)).toBeNull();
    expect(barGeometry(-10, 5, 0, 100)?.left).toBe(0);
  });

  it("picks round tick steps, in clock units past half a second", () => {
    expect(niceStep(1000, 5)).toBe(200);
    expect(niceStep(1000, 4)).toBe(250 * 2);
    expect(niceStep(56 * 60_000, 4)).toBe(15 * 60_000);
    expect(niceStep(50_000, 4)).toBe(15_000);
    expect(niceStep(10 * 3_600_000, 4)).toBe(3 * 3_600_000);
    expect(niceStep(40 * 86_400_000, 4)).toBe(10 * 86_400_000);
    expect(niceStep(7, 7)).toBe(1);
    expect(niceStep(0.3, 3)).toBeCloseTo(0.1);
    expect(niceStep(0, 3)).toBe(1);
  });

  it("puts ticks at round times within the extent, spaced for the width", () => {
    const ticks = timeTicks(0, 1000, 500, 100);
    expect(ticks.map((t) => t.value)).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(ticks.map((t) => t.at)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(ticks.map((t) => t.label)).toEqual(["0", "0.2 s", "0.4 s", "0.6 s", "0.8 s", "1.0 s"]);
    expect(timeTicks(0, 1000, 0)).toEqual([]);
    expect(timeTicks(5, 5, 500)).toEqual([]);
    const narrow = timeTicks(0, 7_200_000, 300, 90);
    expect(narrow.length).toBeGreaterThanOrEqual(2);
    expect(narrow.length).toBeLessThanOrEqual(5);
  });

  it("labels ticks in the unit the axis needs", () => {
    expect(tickLabel(250, 50, 900)).toBe("250 ms");
    expect(tickLabel(0.5, 0.1, 2)).toBe("0.5 ms");
    expect(tickLabel(1500, 500, 3000)).toBe("1.5 s");
    expect(tickLabel(240_000, 60_000, 600_000)).toBe("4 min");
    expect(tickLabel(45_000, 15_000, 600_000)).toBe("45 s");
    expect(tickLabel(3 * 3_600_000, 3_600_000, 10 * 3_600_000)).toBe("3 h");
    expect(timeTicks(0, 56 * 60_000, 400).map((t) => t.label)).toEqual(["0", "15 min", "30 min", "45 min"]);
    expect(tickLabel(0, 10)).toBe("0");
  });

  it("writes durations for people", () => {
    expect([0.42, 4.56, 850.4, 1240, 95_000, 7_560_000].map(formatMs)).toEqual([
      "0.42 ms",
      "4.6 ms",
      "850 ms",
      "1.24 s",
      "1.6 min",
      "2.1 h",
    ]);
    expect(formatMs(Number.NaN)).toBe("");
    expect(formatMs(null)).toBe("");
  });

  it("draws grid lines at the inner ticks only", () => {
    const ticks = timeTicks(0, 1000, 500, 100);
    const css = gridBackground(ticks, "red");
    expect(css.startsWith("linear-gradient(to right,")).toBe(true);
    expect(css.match(/red \d/g)?.length).toBe(4); // 200..800, not 0 or 1000
    expect(gridBackground([], "red")).toBe("none");
  });
});

describe("cut values and attributes", () => {
  const cut = { __cut__: true as const, preview: "<img src=x onerror=alert(1)>", length: 12_345 };

  it("recognises the cut marker, and only it", () => {
    expect(isCut(cut)).toBe(true);
    expect(isCut({ __cut__: "yes" })).toBe(false);
    expect(isCut({ preview: "x" })).toBe(false);
    expect(isCut([cut])).toBe(false);
    expect(isCut(null)).toBe(false);
    expect(isCut("text")).toBe(false);
  });

  it("shows a cut value's preview and its full length", () => {
    expect(textOf(cut)).toEqual({ text: cut.preview, cut });
    expect(textOf("plain")).toEqual({ text: "plain", cut: null });
    expect(textOf(null)).toEqual({ text: "", cut: null });
    expect(textOf({ a: 1 }).text).toBe('{\n "a": 1\n}');
    expect(cutNote(cut)).toBe("cut: 12,345 long in full");
  });

  it("treats a cut marker as a leaf, objects and lists as branches", () => {
    expect(isBranch(cut)).toBe(false);
    expect(isBranch({ a: 1 })).toBe(true);
    expect(isBranch([1])).toBe(true);
    expect(isBranch("s")).toBe(false);
    expect(entriesOf({ a: 1, b: cut })).toEqual([
      ["a", 1],
      ["b", cut],
    ]);
    expect(entriesOf(["x", "y"])).toEqual([
      [0, "x"],
      [1, "y"],
    ]);
    expect(entriesOf(cut)).toEqual([]);
    expect([branchSummary({ a: 1 }), branchSummary([1, 2]), branchSummary([])]).toEqual([
      "{1 key}",
      "[2 items]",
      "[0 items]",
    ]);
    expect([leafText("a"), leafText(null), leafText(1.5), leafText(true)]).toEqual(["a", "null", "1.5", "true"]);
  });

  it("pages long objects", () => {
    expect(nextPage(0, 250, 100)).toEqual([0, 100]);
    expect(nextPage(200, 250, 100)).toEqual([200, 250]);
    expect(nextPage(250, 250, 100)).toEqual([250, 250]);
  });

  it("writes paths the way attribute_value takes them, for people", () => {
    expect(pathLabel(["messages", 3, "content"])).toBe("messages[3].content");
    expect(pathLabel(["attributes", "llm.model_name"])).toBe("attributes.llm.model_name");
  });

  it("lays out JSON tool arguments and leaves other text alone", () => {
    expect(prettyJson('{"q":"x","n":2}')).toBe('{\n  "q": "x",\n  "n": 2\n}');
    expect(prettyJson("{not json")).toBe("{not json");
    expect(prettyJson("plain")).toBe("plain");
  });
});

describe("kinds and numbers", () => {
  it("gives known kinds a badge and a class, anything else 'other'", () => {
    expect(kindBadge("LLM")).toEqual({ label: "LLM", cls: "ll-k-llm" });
    expect(kindBadge("retriever")).toEqual({ label: "RET", cls: "ll-k-retriever" });
    expect(kindBadge(null)).toEqual({ label: "?", cls: "ll-k-unknown" });
    expect(kindBadge("custom kind")).toEqual({ label: "CUS", cls: "ll-k-other" });
    expect(kindBadge('"><img src=x>').cls).toBe("ll-k-other");
  });

  it("formats costs and names", () => {
    expect([formatUsd(0), formatUsd(0.00123), formatUsd(12.5), formatUsd(null)]).toEqual([
      "$0",
      "$0.0012",
      "$12.50",
      "",
    ]);
    expect(oneLine("a\n  b\tc ")).toBe("a b c");
  });
});

describe("decoding the spans", () => {
  const ipc = () => {
    const table = tableFromColumns({
      span_id: columnFromArray(["r", "a", "a1", "a2", "b", "b1", "r2"], utf8()),
      parent: columnFromArray(PARENT, int32()),
      depth: columnFromArray(DEPTH, int32()),
      end: columnFromArray(END, int32()),
      name: columnFromArray(["root", "<img src=x onerror=alert(1)>", "a1", "a2", "b", "b1", null], utf8()),
      kind: columnFromArray(["AGENT", "LLM", "TOOL", "TOOL", "CHAIN", "RETRIEVER", "weird"], utf8()),
      start_ms: columnFromArray([0, 1, 2, 3, 4, 5, Number.NaN], float64()),
      duration_ms: columnFromArray([10, 3, 1, null, 6, 1, 2], float64()),
      status: columnFromArray(["OK", "ERROR", "OK", "UNSET", "OK", "OK", null], utf8()),
      model: columnFromArray([null, "gpt", null, null, null, null, null], utf8()),
      tokens: columnFromArray([null, 120, null, null, null, null, null], float64()),
      cost_usd: columnFromArray([null, 0.01, null, null, null, null, null], float64()),
      agent: columnFromArray(["planner", null, null, null, null, null, null], utf8()),
      critical: columnFromArray([true, true, false, false, null, false, false], bool()),
      orphan: columnFromArray([false, false, false, false, false, false, true], bool()),
      has_tokens: columnFromArray([false, true, false, false, false, false, false], bool()),
    });
    return tableToIPC(table, { format: "stream" }) as Uint8Array;
  };

  it("reads every column once into typed arrays", () => {
    const bytes = ipc();
    const spans = decodeSpans(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    expect(spans).not.toBeNull();
    if (!spans) return;
    expect(spans.count).toBe(7);
    expect(spans.id.at(2)).toBe("a1");
    expect(spans.parent).toBeInstanceOf(Int32Array);
    expect([...spans.end]).toEqual([...END]);
    expect(spans.name.at(1)).toBe("<img src=x onerror=alert(1)>");
    expect(spans.name.at(6)).toBeNull();
    expect(spans.duration).toBeInstanceOf(Float64Array);
    expect(Number.isNaN(spans.duration[3])).toBe(true);
    expect(Number.isNaN(spans.start[6])).toBe(true);
    expect(spans.tokens[1]).toBe(120);
    expect([...spans.critical]).toEqual([1, 1, 0, 0, 0, 0, 0]);
    expect([...spans.orphan]).toEqual([0, 0, 0, 0, 0, 0, 1]);
    expect([...spans.hasTokens]).toEqual([0, 1, 0, 0, 0, 0, 0]);
    expect([...spans.error]).toEqual([0, 1, 0, 0, 0, 0, 0]);
    expect(rowIndex(spans.id).get("b1")).toBe(5);
  });

  it("reads nothing from no bytes", () => {
    expect(decodeSpans(null)).toBeNull();
    expect(decodeSpans(new DataView(new ArrayBuffer(0)))).toBeNull();
  });

  it("derives the subtree ends from the depths when there is no end column", () => {
    expect([...subtreeEnds(DEPTH)]).toEqual([...END]);
    expect([...subtreeEnds([])]).toEqual([]);
  });

  it("turns nulls into the missing value", () => {
    expect([...toInt32([1, null, 3], 3, -1)]).toEqual([1, -1, 3]);
    expect([...toFloat64([1, null], 2)].map(String)).toEqual(["1", "NaN"]);
    const same = Int32Array.from([1, 2]);
    expect(toInt32(same, 2, 0)).toBe(same);
  });

  it("decodes an exported page's base64 tokens", () => {
    const view = base64View(btoa("\x00\x01\xff"));
    expect(view && [...new Uint8Array(view.buffer)]).toEqual([0, 1, 255]);
    expect(base64View("")).toBeNull();
    expect(base64View("***")).toBeNull();
  });
});

describe("the token viewer's local model", () => {
  it("holds the traits the token viewer reads, and tells its listeners of changes", () => {
    const tokens = new DataView(new ArrayBuffer(4));
    const traits = tokenTraits(
      { title: "t", alternative_count: 3, messages: [{ side: "input", role: "user", content: "hi" }] },
      tokens,
      null,
    );
    expect(traits).toMatchObject({
      title: "t",
      mode: "probability",
      selected: -1,
      _tokens: tokens,
      _alternative_count: 3,
    });
    expect(traits._messages).toEqual([{ side: "input", position: 0, role: "user", content: "hi" }]);
    const model = new LocalModel(traits);
    let heard = 0;
    const listener = () => heard++;
    model.on("change:mode", listener);
    model.set("mode", "entropy");
    model.set("mode", "entropy"); // unchanged: no event
    expect(model.get("mode")).toBe("entropy");
    expect(heard).toBe(1);
    model.off("change:mode", listener);
    model.set("mode", "rank");
    expect(heard).toBe(1);
  });
});

describe("where a span's detail comes from", () => {
  const kernel = () => {
    const calls: Array<[string, unknown]> = [];
    const experimental = {
      invoke: async <T>(name: string, msg?: unknown): Promise<[T, DataView[]]> => {
        calls.push([name, msg]);
        if (name === "span_detail") {
          const id = (msg as { span_id: string }).span_id;
          if (id === "bad") throw new Error("no span 'bad'");
          return [{ span_id: id } as T, [new DataView(new ArrayBuffer(1)), new DataView(new ArrayBuffer(2))]];
        }
        return [{ value: "the whole text" } as T, []];
      },
    };
    return { calls, experimental };
  };

  it("asks the kernel once per span, and keeps the tokens it sends", async () => {
    const { calls, experimental } = kernel();
    const source = new DetailSource({}, experimental);
    expect(source.live).toBe(true);
    expect(source.cached("s1")).toBeNull();
    const loaded = await source.load("s1");
    expect(loaded?.detail.span_id).toBe("s1");
    expect(loaded?.tokens?.byteLength).toBe(1);
    expect(loaded?.alternatives?.byteLength).toBe(2);
    await source.load("s1");
    expect(calls).toEqual([["span_detail", { span_id: "s1" }]]);
    expect(source.cached("s1")).toBe(loaded);
  });

  it("passes the kernel's error on, and asks for a cut value by its path", async () => {
    const { calls, experimental } = kernel();
    const source = new DetailSource({}, experimental);
    await expect(source.load("bad")).rejects.toThrow("no span 'bad'");
    expect(await source.full("s1", ["messages", 3, "content"])).toBe("the whole text");
    expect(calls.at(-1)).toEqual(["attribute_value", { span_id: "s1", path: ["messages", 3, "content"] }]);
  });

  it("reads an exported page's embedded details, tokens from base64, and asks nothing", async () => {
    const { calls, experimental } = kernel();
    const embedded = { s1: { span_id: "s1", tokens: { title: "t", tokens_b64: btoa("abc"), alternatives_b64: "" } } };
    const source = new DetailSource(embedded, experimental);
    expect(source.exported).toBe(true);
    expect(source.live).toBe(false);
    const loaded = await source.load("s1");
    expect(loaded?.tokens?.byteLength).toBe(3);
    expect(loaded?.alternatives).toBeNull();
    expect(calls).toEqual([]);
  });

  it("has nothing to give without a kernel or an embedded detail", async () => {
    const source = new DetailSource(undefined, undefined);
    expect(source.live).toBe(false);
    expect(await source.load("s1")).toBeNull();
    await expect(source.full("s1", ["input_text"])).rejects.toThrow("no kernel");
  });
});

import { describe, expect, it } from "vitest";
import { rowWindow } from "../src/lib/virtual";
import { edgeLabel, edgePath, layoutNodes } from "../src/traces/agents/layout";
import { formatCell, formatChecks, formatCost, formatDuration, formatTime, oneLine } from "../src/traces/table/format";
import { clickSelect, pagesFor } from "../src/traces/table/selection";

describe("trace table cells", () => {
  it("formats durations, costs and checks briefly", () => {
    expect([formatDuration(850.4), formatDuration(1240), formatDuration(95_000), formatDuration(7_560_000)]).toEqual([
      "850 ms",
      "1.24 s",
      "1.6 min",
      "2.1 h",
    ]);
    expect([formatCost(0), formatCost(0.00123), formatCost(12.5), formatCost(Number.NaN)]).toEqual([
      "$0",
      "$0.0012",
      "$12.50",
      "",
    ]);
    expect(formatChecks(3, 1)).toBe("✓3 ✗1");
    expect(formatChecks(0, 0)).toBe("");
  });

  it("keeps text on one line and never interprets it", () => {
    expect(oneLine("a\n\n b\t c ")).toBe("a b c");
    expect(formatCell("text", "<img src=x onerror=alert(1)>")).toBe("<img src=x onerror=alert(1)>");
    expect(formatCell("labels", ["correctness=bad", "tone=ok"])).toBe("correctness=bad, tone=ok");
    expect(formatCell("int", 1234567)).toBe("1,234,567");
    expect(formatTime(null)).toBe("");
    expect(formatTime(Date.UTC(2026, 0, 2, 3, 4, 5))).toMatch(/^2026-01-0[12] \d\d:04:05$/);
  });
});

describe("trace table rows", () => {
  it("shows only the rows in view, with some either side", () => {
    expect(rowWindow(0, 260, 26, 1_000_000, 8)).toEqual([0, 18]);
    expect(rowWindow(26_000, 260, 26, 1_000_000, 8)).toEqual([992, 1018]);
    expect(rowWindow(0, 260, 26, 3, 8)).toEqual([0, 3]);
    expect(rowWindow(0, 260, 26, 0, 8)).toEqual([0, 0]);
  });

  it("asks for the pages that hold the rows", () => {
    expect(pagesFor(0, 18, 100)).toEqual([0]);
    expect(pagesFor(95, 130, 100)).toEqual([0, 1]);
    expect(pagesFor(0, 0, 100)).toEqual([]);
  });

  it("selects with click, ctrl-click and shift-click", () => {
    const ids = ["a", "b", "c", "d", "e"];
    const idAt = (row: number) => (row === 3 ? null : (ids[row] ?? null)); // row 3 not loaded
    let state = clickSelect([], -1, { row: 1, id: "b", shift: false, toggle: false }, idAt);
    expect(state).toEqual({ selected: ["b"], anchor: 1 });
    state = clickSelect(state.selected, state.anchor, { row: 2, id: "c", shift: false, toggle: true }, idAt);
    expect(state.selected).toEqual(["b", "c"]);
    state = clickSelect(state.selected, state.anchor, { row: 2, id: "c", shift: false, toggle: true }, idAt);
    expect(state.selected).toEqual(["b"]);
    state = clickSelect(state.selected, 1, { row: 4, id: "e", shift: true, toggle: false }, idAt);
    expect(state).toEqual({ selected: ["b", "c", "e"], anchor: 1 });
  });
});

describe("agent network layout", () => {
  const nodes = [
    { type: "agent" as const, node: "triage", runs: 10, traces: 5, mean_ms: 900, failures: 0 },
    { type: "agent" as const, node: "billing", runs: 6, traces: 4, mean_ms: 2100, failures: 1 },
    { type: "tool" as const, node: "tool:get_account", runs: 6, traces: 4, mean_ms: 180, failures: 0 },
  ];
  const edges = [
    { kind: "handoff" as const, source: "triage", target: "billing", count: 6, traces: 4, mean_ms: 2100, failures: 1 },
    { kind: "handoff" as const, source: "billing", target: "triage", count: 2, traces: 2, mean_ms: 900, failures: 0 },
    {
      kind: "tool_call" as const,
      source: "billing",
      target: "tool:get_account",
      count: 6,
      traces: 4,
      mean_ms: 180,
      failures: 0,
    },
  ];

  it("places every node inside the box, apart from each other", () => {
    const at = layoutNodes(nodes, edges, 700, 400);
    expect([...at.keys()].sort()).toEqual(["billing", "tool:get_account", "triage"]);
    for (const p of at.values()) expect(p.x >= 0 && p.x <= 700 && p.y >= 0 && p.y <= 400).toBe(true);
    const [a, b] = [at.get("triage"), at.get("billing")];
    expect(Math.hypot((a?.x ?? 0) - (b?.x ?? 0), (a?.y ?? 0) - (b?.y ?? 0))).toBeGreaterThan(50);
  });

  it("bends an edge and its reverse apart, so a loop shows both ways", () => {
    const a = { x: 0, y: 0 };
    const b = { x: 100, y: 0 };
    const there = edgePath(a, b, 10);
    const back = edgePath(b, a, 10);
    expect(Math.sign(there.mid.y)).toBe(-Math.sign(back.mid.y));
    const [x, y] = there.d.split(" ").slice(1, 3).map(Number);
    expect(Math.hypot(x ?? 0, y ?? 0)).toBeCloseTo(10, 0); // stops short of the node's circle
    expect(edgePath(a, a, 10).d).toContain("a ");
  });

  it("labels edges with count, latency and failures", () => {
    expect(edgeLabel(edges[0] as (typeof edges)[0])).toBe("6× · 2.1 s · 1 failed");
    expect(edgeLabel(edges[2] as (typeof edges)[0])).toBe("6× · 180 ms");
  });
});

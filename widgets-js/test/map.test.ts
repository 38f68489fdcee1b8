import type { Experimental } from "@anywidget/types";
import { columnFromArray, float32, int16, int32, tableFromColumns, tableToIPC, utf8 } from "@uwdata/flechette";
import { describe, expect, it } from "vitest";
import {
  base64Bytes,
  colorSet,
  countsLine,
  cut,
  decodePoints,
  diagnosticsOf,
  GREY,
  int32sOf,
  int32View,
  legendEntries,
  lineLabel,
  numbersOf,
  palette,
  parseColor,
  parseRgb,
  perPoint,
  roleName,
  rowsOf,
  rowsWithCode,
  sizeOf,
  statusOf,
} from "../src/map/data";
import { endGesture, moveGesture, startGesture } from "../src/map/gesture";
import { GridIndex } from "../src/map/grid";
import { InfoSource, infoFrom } from "../src/map/info";
import { pointInPolygon, polygonBounds, selectBox, selectPolygon, simplify } from "../src/map/lasso";
import { LocalData, searchTexts } from "../src/map/local";
import { spreadLabels } from "../src/map/overlay";
import { CHOSEN, DIMMED, layerOf, MATCHED, NORMAL } from "../src/map/renderer";
import { MATCH, moveFlag, SELECTED } from "../src/map/state";
import {
  boundsOf,
  fitBounds,
  panBy,
  pictureMove,
  toData,
  toScreen,
  type View,
  viewAttribute,
  visibleBounds,
  zoomAt,
} from "../src/map/view";

/** Points on the integer lattice 0..side-1 x 0..side-1; row = y * side + x. */
function lattice(side: number): Float32Array {
  const xy = new Float32Array(2 * side * side);
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      xy[2 * (y * side + x)] = x;
      xy[2 * (y * side + x) + 1] = y;
    }
  return xy;
}

/** A deterministic pseudo-random generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ipc = (columns: Parameters<typeof tableFromColumns>[0]) => {
  const bytes = tableToIPC(tableFromColumns(columns), { format: "stream" }) as Uint8Array;
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
};

describe("view", () => {
  const view: View = { cx: 10, cy: 5, scale: 20, width: 400, height: 300 };

  it("draws data y upwards, as the data-view attribute documents", () => {
    expect(toScreen(view, 10, 5)).toEqual([200, 150]);
    expect(toScreen(view, 11, 6)).toEqual([220, 130]);
    expect(toData(view, 220, 130)).toEqual([11, 6]);
    expect(viewAttribute(view)).toBe("10,5,20");
  });

  it("pans by the dragged pixels", () => {
    const moved = panBy(view, 40, -20);
    // the data point that was under (200, 150) is now under (240, 130)
    expect(toScreen(moved, 10, 5)).toEqual([240, 130]);
  });

  it("zooms about the cursor: the data point under it stays under it", () => {
    const [x, y] = toData(view, 50, 70);
    const zoomed = zoomAt(view, 50, 70, 3);
    expect(zoomed.scale).toBe(60);
    const [sx, sy] = toScreen(zoomed, x, y);
    expect(sx).toBeCloseTo(50, 9);
    expect(sy).toBeCloseTo(70, 9);
    expect(zoomAt(view, 0, 0, 100, 1, 50).scale).toBe(50);
    expect(zoomAt(view, 0, 0, 0.001, 10, 50).scale).toBe(10);
  });

  it("fits the bounds, centred, with padding on the tighter side", () => {
    const fitted = fitBounds({ x0: 0, y0: 0, x1: 10, y1: 2 }, 220, 100, 10);
    expect(fitted.scale).toBe(20); // (220 - 20) / 10, less than (100 - 20) / 2
    expect([fitted.cx, fitted.cy]).toEqual([5, 1]);
    const [left] = toScreen(fitted, 0, 0);
    const [right] = toScreen(fitted, 10, 0);
    expect([left, right]).toEqual([10, 210]);
    const seen = visibleBounds(fitted);
    expect(seen.x0).toBeLessThanOrEqual(0);
    expect(seen.x1).toBeGreaterThanOrEqual(10);
    expect(fitBounds({ x0: 3, y0: 3, x1: 3, y1: 3 }, 100, 100).scale).toBe(1);
    expect(fitBounds(null, 100, 100)).toMatchObject({ cx: 0, cy: 0, scale: 1 });
  });

  it("bounds ignore points that are not finite", () => {
    expect(boundsOf(Float32Array.from([1, 2, Number.NaN, 50, -3, 4, Infinity, 0]))).toEqual({
      x0: -3,
      y0: 2,
      x1: 1,
      y1: 4,
    });
    expect(boundsOf(Float32Array.from([Number.NaN, 1]))).toBeNull();
  });
});

describe("grid index", () => {
  it("finds the nearest point within the radius, and none beyond it", () => {
    const grid = GridIndex.build(lattice(10));
    expect(grid.nearest(3.2, 4.1, 0.5)).toBe(43);
    expect(grid.nearest(9.3, 0.1, 0.5)).toBe(9);
    expect(grid.nearest(3.5, 4.5, 0.3)).toBe(-1);
    expect(grid.nearest(-2, 5, 1)).toBe(-1);
    expect(grid.nearest(-0.5, 0, 1)).toBe(0);
  });

  it("prefers the point drawn last among equally near ones", () => {
    const grid = GridIndex.build(Float32Array.from([0, 0, 1, 1, 1, 1]));
    expect(grid.nearest(1, 1, 0.1)).toBe(2);
  });

  it("gives exactly the points in a rectangle, edges included, ascending", () => {
    const grid = GridIndex.build(lattice(10));
    expect([...grid.inRect(2, 3, 4, 4)]).toEqual([32, 33, 34, 42, 43, 44]);
    expect([...grid.inRect(4, 4, 2, 3)]).toEqual([32, 33, 34, 42, 43, 44]);
    expect([...grid.inRect(20, 20, 30, 30)]).toEqual([]);
  });

  it("agrees with a brute-force search on random points, and leaves out points that are not finite", () => {
    const next = random(7);
    const n = 5000;
    const xy = new Float32Array(2 * n);
    for (let i = 0; i < xy.length; i++) xy[i] = next() * 100 - 50;
    xy[10] = Number.NaN;
    const grid = GridIndex.build(xy);
    for (let trial = 0; trial < 200; trial++) {
      const x = next() * 120 - 60;
      const y = next() * 120 - 60;
      const r = next() * 3;
      let best = -1;
      let bestD = r * r;
      for (let i = 0; i < n; i++) {
        const d = ((xy[2 * i] as number) - x) ** 2 + ((xy[2 * i + 1] as number) - y) ** 2;
        if (d < bestD || (d === bestD && i > best)) [best, bestD] = [i, d];
      }
      expect(grid.nearest(x, y, r)).toBe(best);
    }
    const inside: number[] = [];
    for (let i = 0; i < n; i++) {
      const x = xy[2 * i] as number;
      const y = xy[2 * i + 1] as number;
      if (x >= -10 && x <= 25 && y >= 0 && y <= 40) inside.push(i);
    }
    expect([...grid.inRect(-10, 0, 25, 40)]).toEqual(inside);
    const most: number[] = [];
    for (let i = 0; i < n; i++)
      if (Math.abs(xy[2 * i] as number) <= 45 && Math.abs(xy[2 * i + 1] as number) <= 45) most.push(i);
    expect([...grid.inRect(-45, -45, 45, 45)]).toEqual(most); // most of the map: the one-pass path
    expect([...grid.inRect(-60, -60, 60, 60)]).not.toContain(5);
    expect(grid.inRect(-60, -60, 60, 60).length).toBe(n - 1);
  });
});

describe("lasso", () => {
  const square = [0, 0, 4, 0, 4, 4, 0, 4];
  // a "C": the square with a notch cut from the right side
  const notched = [0, 0, 4, 0, 4, 1.5, 1.5, 1.5, 1.5, 2.5, 4, 2.5, 4, 4, 0, 4];

  it("tests points against a polygon (even-odd)", () => {
    expect(pointInPolygon(2, 2, square)).toBe(true);
    expect(pointInPolygon(5, 2, square)).toBe(false);
    expect(pointInPolygon(3, 2, notched)).toBe(false);
    expect(pointInPolygon(1, 2, notched)).toBe(true);
    expect(pointInPolygon(3, 3, notched)).toBe(true);
    expect(polygonBounds(notched)).toEqual([0, 0, 4, 4]);
  });

  it("selects exactly the lattice points inside a triangle", () => {
    const grid = GridIndex.build(lattice(10));
    // the triangle (0.5, 0.5) (6.5, 0.5) (0.5, 6.5) holds the lattice points with x >= 1, y >= 1, x + y <= 6
    const rows = selectPolygon(grid, [0.5, 0.5, 6.5, 0.5, 0.5, 6.5]);
    const expected: number[] = [];
    for (let y = 1; y <= 5; y++) for (let x = 1; x + y <= 6; x++) expected.push(y * 10 + x);
    expect([...rows]).toEqual(expected.sort((a, b) => a - b));
    expect(rows.length).toBe(15);
  });

  it("leaves out the notch of a concave lasso", () => {
    const grid = GridIndex.build(lattice(10));
    // the square 0.5..4.5 (points x, y in 1..4) less a notch from the right holding (3, 2) and (4, 2)
    const lasso = [0.5, 0.5, 4.5, 0.5, 4.5, 1.5, 2.5, 1.5, 2.5, 2.5, 4.5, 2.5, 4.5, 4.5, 0.5, 4.5];
    const expected: number[] = [];
    for (let y = 1; y <= 4; y++) for (let x = 1; x <= 4; x++) if (!(y === 2 && x >= 3)) expected.push(y * 10 + x);
    expect([...selectPolygon(grid, lasso)]).toEqual(expected);
    expect(expected).toHaveLength(14);
    expect(expected).not.toContain(23);
  });

  it("agrees with testing every point, for random, concave and self-crossing lassos", () => {
    const next = random(11);
    const n = 20_000;
    const xy = new Float32Array(2 * n);
    for (let i = 0; i < xy.length; i++) xy[i] = next() * 100;
    const grid = GridIndex.build(xy);
    for (let trial = 0; trial < 30; trial++) {
      // a star around a random centre (every other corner pulled in), sometimes with its corners shuffled
      const corners = 3 + Math.floor(next() * 40);
      const cx = next() * 120 - 10;
      const cy = next() * 120 - 10;
      const polygon: number[] = [];
      for (let k = 0; k < corners; k++) {
        const angle = (2 * Math.PI * k) / corners;
        const radius = (k % 2 ? 0.3 + next() * 0.3 : 0.7 + next() * 0.3) * (5 + next() * 60);
        polygon.push(cx + radius * Math.cos(angle), cy + radius * Math.sin(angle));
      }
      if (trial % 3 === 0) [polygon[0], polygon[4]] = [polygon[4] as number, polygon[0] as number];
      const expected: number[] = [];
      for (let i = 0; i < n; i++)
        if (pointInPolygon(xy[2 * i] as number, xy[2 * i + 1] as number, polygon)) expected.push(i);
      expect([...selectPolygon(grid, polygon)]).toEqual(expected);
    }
  });

  it("simplifies a drawn path, keeping its corners", () => {
    const path: number[] = [];
    for (let x = 0; x <= 100; x++) path.push(x, x % 2 ? 0.2 : 0); // a jittery straight line
    for (let y = 1; y <= 100; y++) path.push(100, y);
    expect(simplify(path, 0.5)).toEqual([0, 0, 100, 0, 100, 100]);
    expect(simplify([0, 0, 1, 1], 1)).toEqual([0, 0, 1, 1]);
    expect(simplify(path, 0.1).length).toBeGreaterThan(100);
  });

  it("selects by box, and nothing for a lasso of fewer than three corners", () => {
    const grid = GridIndex.build(lattice(10));
    expect([...selectBox(grid, 7.5, 8.5, 9.5, 9.9)]).toEqual([98, 99]);
    expect(selectPolygon(grid, [0, 0, 5, 5]).length).toBe(0);
  });
});

describe("trait decoding", () => {
  it("decodes the points table and maps point numbers to rows", () => {
    const bytes = ipc({
      x: columnFromArray(Float32Array.from([0, 1, 2]), float32()),
      y: columnFromArray(Float32Array.from([5, 6, 7]), float32()),
      point: columnFromArray(Int32Array.from([2, 0, 1]), int32()),
    });
    const points = decodePoints(bytes);
    expect(points.n).toBe(3);
    expect([...points.xy]).toEqual([0, 5, 1, 6, 2, 7]);
    expect([...points.rowOf]).toEqual([1, 2, 0]);
    expect([...rowsOf(points, [0, 2, 9])]).toEqual([1, 0]);
    expect([...numbersOf(points, [0, 1, 0])]).toEqual([0, 2]);
    expect(decodePoints(new DataView(new ArrayBuffer(0))).n).toBe(0);
    expect(decodePoints(null).n).toBe(0);
  });

  it("reads little-endian int32 bytes at any alignment, and writes them back", () => {
    const raw = new Uint8Array(1 + 12);
    const view = new DataView(raw.buffer, 1, 12); // unaligned
    [7, -1, 123456].forEach((v, i) => {
      view.setInt32(4 * i, v, true);
    });
    expect([...int32sOf(view)]).toEqual([7, -1, 123456]);
    expect([...int32sOf(int32View([3, 1, 2]))]).toEqual([3, 1, 2]);
    expect(int32View([3]).byteLength).toBe(4);
    expect([...int32sOf(null)]).toEqual([]);
  });

  it("takes per-point bytes only when there is one for each point", () => {
    const bytes = new DataView(Uint8Array.from([1, 2, 3]).buffer);
    expect([...(perPoint(bytes, 3) ?? [])]).toEqual([1, 2, 3]);
    expect(perPoint(bytes, 4)).toBeNull();
    expect(perPoint(new DataView(new ArrayBuffer(0)), 0)).toBeNull();
    expect([...rowsWithCode(Uint8Array.from([2, 0, 2, 1]), 2)]).toEqual([0, 2]);
    expect(sizeOf(0)).toBe(2);
    expect(sizeOf(255)).toBe(10);
  });

  it("builds the palette from the legend: listed codes in their colour, the rest grey", () => {
    const entries = legendEntries([
      { code: 0, label: "query", color: "#ff0000", count: 3 },
      { code: 7, label: "chunk", color: "#0f0", count: 2 },
      { code: 9, label: "bad colour", color: "red", count: 1 },
      { code: 300, label: "out of range", color: "#ffffff", count: 1 },
      "junk",
    ]);
    expect(entries.map((e) => e.code)).toEqual([0, 7, 9]);
    const rgba = palette(entries);
    expect(rgba.length).toBe(1024);
    expect([...rgba.slice(0, 4)]).toEqual([255, 0, 0, 255]);
    expect([...rgba.slice(28, 32)]).toEqual([0, 255, 0, 255]);
    expect([...rgba.slice(36, 40)]).toEqual([...GREY, 255]);
    expect([...rgba.slice(4, 8)]).toEqual([...GREY, 255]);
    expect(parseColor("#1976D2")).toEqual([25, 118, 210]);
    expect(parseColor("#12")).toBeNull();
    expect(legendEntries(undefined)).toEqual([]);
  });

  it("takes an exported page's colouring from its colour sets", () => {
    const sets = {
      label: { legend: [{ code: 1, label: "failed", color: "#ff0000", count: 2 }], codes_b64: btoa("\x01\x00\x01") },
    };
    const found = colorSet(sets, "label", 3);
    expect([...(found?.codes ?? [])]).toEqual([1, 0, 1]);
    expect(found?.legend.map((e) => e.label)).toEqual(["failed"]);
    expect(colorSet(sets, "label", 4)).toBeNull(); // not one code a point
    expect(colorSet(sets, "week", 3)).toBeNull();
    expect(colorSet(null, "label", 3)).toBeNull();
    expect([...base64Bytes("not base64!")]).toEqual([]);
  });

  it("gives the status and diagnostics their defaults", () => {
    expect(statusOf(null)).toEqual({ layout: "", progress: null, message: "" });
    expect(statusOf({ layout: "umap", progress: 1.5, message: "m" })).toEqual({
      layout: "umap",
      progress: 1,
      message: "m",
    });
    expect(diagnosticsOf({ computing: true })).toEqual({
      gaps: [],
      dead: { count: 0 },
      clusters: [],
      drift: null,
      computing: true,
    });
    const drift = { windows: ["a", "b"], clusters: [{ code: 3, n_a: 1, n_b: 4, share_change: 0.2, terms: ["x"] }] };
    expect(diagnosticsOf({ drift }).drift).toEqual(drift);
    expect(diagnosticsOf({ drift: { windows: [] } as never }).drift).toBeNull();
  });

  it("formats counts, line labels, roles and colours", () => {
    expect(countsLine(1234, 100000)).toBe("1,234 selected of 100,000");
    expect(countsLine(0, 1)).toBe("1 point");
    expect(lineLabel(0.8349, 0)).toBe("0.83 · #1");
    expect(lineLabel(0.5, 4)).toBe("0.50 · #5");
    expect(lineLabel(Number.NaN, 2)).toBe("#3");
    expect(roleName(2)).toBe("never-retrieved chunk");
    expect(roleName("query")).toBe("query");
    expect(cut("abcdef", 4)).toBe("abc…");
    expect(parseRgb("rgb(1, 2, 3)", [0, 0, 0])).toEqual([1, 2, 3]);
    expect(parseRgb("rgba(10 20 30 / 0.5)", [0, 0, 0])).toEqual([10, 20, 30]);
    expect(parseRgb("Canvas", [9, 9, 9])).toEqual([9, 9, 9]);
  });
});

describe("exported page: point info and search from _texts, _roles, _links", () => {
  // points 0, 1 are queries; 2, 3 chunks retrieved; 4 a chunk never retrieved. Rows are in point order.
  const points = decodePoints(
    ipc({
      x: columnFromArray(Float32Array.from([0, 1, 2, 3, 4]), float32()),
      y: columnFromArray(Float32Array.from([0, 0, 0, 0, 0]), float32()),
      point: columnFromArray(Int32Array.from([0, 1, 2, 3, 4]), int32()),
    }),
  );
  const texts = ipc({
    text: columnFromArray(["How do I reset?", "Billing FAQ", "Reset your password", "Refund policy", null], utf8()),
  });
  const links = ipc({
    src: columnFromArray(Int32Array.from([0, 0, 1]), int32()),
    dst: columnFromArray(Int32Array.from([3, 2, 3]), int32()),
    score: columnFromArray(Float32Array.from([0.5, 0.75, 0.25]), float32()),
    rank: columnFromArray(Int16Array.from([1, 0, 0]), int16()),
  });
  const roles = Uint8Array.from([0, 0, 1, 1, 2]);
  const local = new LocalData(points, texts, roles, links);

  it("answers point_info like the kernel: a query's chunks by rank, a chunk's queries", () => {
    expect(local.exported).toBe(true);
    expect(local.info(0)).toEqual({
      point: 0,
      role: 0,
      text: "How do I reset?",
      meta: {},
      neighbours: [
        { point: 2, score: 0.75, rank: 0 },
        { point: 3, score: 0.5, rank: 1 },
      ],
    });
    expect(local.info(3).neighbours.map((n) => n.point)).toEqual([1, 0]);
    expect(local.info(4)).toMatchObject({ role: 2, text: "", neighbours: [] });
    expect(local.info(99)).toMatchObject({ role: null, text: "", neighbours: [] });
  });

  it("searches the texts case-insensitively", () => {
    expect([...local.search("RESET")]).toEqual([0, 2]);
    expect([...local.search("  ")]).toEqual([]);
    expect([...searchTexts(["abc", null, "xABy"], "ab")]).toEqual([0, 2]);
  });

  it("is not an export when the page carries no texts or links", () => {
    expect(new LocalData(points, null, roles, null).exported).toBe(false);
  });
});

describe("point info source", () => {
  const points = decodePoints(
    ipc({
      x: columnFromArray(Float32Array.from([0, 1]), float32()),
      y: columnFromArray(Float32Array.from([0, 1]), float32()),
      point: columnFromArray(Int32Array.from([0, 1]), int32()),
    }),
  );

  it("asks the kernel once per point and keeps the answer", async () => {
    const asked: unknown[] = [];
    const experimental = {
      invoke: async (name: string, msg: unknown) => {
        asked.push([name, msg]);
        return [
          { point: 1, role: "query", text: "hi", meta: { k: 1 }, neighbours: [{ point: 0, score: 0.9, rank: 0 }] },
          [],
        ];
      },
    } as unknown as Experimental;
    const source = new InfoSource(new LocalData(points, null, null, null), experimental);
    expect(source.cached(1)).toBeNull();
    const info = await source.get(1);
    expect(info.text).toBe("hi");
    expect(info.neighbours).toEqual([{ point: 0, score: 0.9, rank: 0 }]);
    await source.get(1);
    expect(asked).toEqual([["point_info", { point: 1 }]]);
    expect(source.cached(1)?.meta).toEqual({ k: 1 });
  });

  it("falls back to the page when there is no kernel", async () => {
    const experimental = { invoke: () => Promise.reject(new Error("no kernel")) } as unknown as Experimental;
    const source = new InfoSource(new LocalData(points, null, Uint8Array.from([0, 2]), null), experimental);
    expect(await source.get(1)).toEqual({ point: 1, role: 2, text: "", meta: {}, neighbours: [] });
    expect(await new InfoSource(new LocalData(points, null, null, null), undefined).get(0)).toMatchObject({ point: 0 });
  });

  it("checks the kernel's answer", () => {
    expect(infoFrom(null, 4)).toEqual({ point: 4, role: null, text: "", meta: {}, neighbours: [] });
    expect(infoFrom({ neighbours: [{ point: 2, score: null, rank: 3 }, { nope: 1 }] }, 1).neighbours).toEqual([
      { point: 2, score: Number.NaN, rank: 3 },
    ]);
  });
});

describe("per-point state", () => {
  it("moves a flag and reports the span of rows that changed", () => {
    const state = new Uint8Array(10);
    expect(moveFlag(state, SELECTED, [], [2, 5])).toEqual([2, 6]);
    expect(moveFlag(state, MATCH, [], [5, 8])).toEqual([5, 9]);
    expect([...state]).toEqual([0, 0, 1, 0, 0, 3, 0, 0, 2, 0]);
    expect(moveFlag(state, SELECTED, [2, 5], [5, 7])).toEqual([2, 8]);
    expect([...state]).toEqual([0, 0, 0, 0, 0, 3, 0, 1, 2, 0]);
    expect(moveFlag(state, SELECTED, [5, 7], [5, 7])).toEqual([0, 0]);
    expect(moveFlag(state, SELECTED, [], [99])).toEqual([0, 0]);
  });

  it("puts selected points on top, then matches, and dims the rest", () => {
    const none = { selection: false, search: false };
    expect(layerOf(0, none)).toBe(NORMAL);
    expect(layerOf(SELECTED, { selection: true, search: false })).toBe(CHOSEN);
    expect(layerOf(0, { selection: true, search: false })).toBe(DIMMED);
    expect(layerOf(MATCH, { selection: false, search: true })).toBe(MATCHED);
    expect(layerOf(0, { selection: false, search: true })).toBe(DIMMED);
    expect(layerOf(SELECTED | MATCH, { selection: true, search: true })).toBe(CHOSEN);
  });
});

describe("line labels", () => {
  it("are moved down until they no longer overlap, and left where they are free", () => {
    // three labels at nearly one spot, one far to the right
    const tops = spreadLabels([10, 12, 11, 300], [50, 52, 49, 50], [40, 40, 40, 40], 16);
    expect(tops[2]).toBe(41); // the highest keeps its place
    expect(tops[0]).toBe(57);
    expect(tops[1]).toBe(73);
    expect(tops[3]).toBe(42);
    expect(spreadLabels([], [], [], 16)).toEqual([]);
  });
});

describe("gestures", () => {
  it("is a click when the press barely moves, toggling with shift", () => {
    const g = startGesture("lasso", false, 10, 10);
    expect(moveGesture(g, 12, 11)).toBeNull();
    expect(endGesture(g, 12, 11)).toEqual({ kind: "click", x: 10, y: 10, shift: false });
    expect(endGesture(startGesture("pan", true, 5, 6), 5, 6)).toEqual({ kind: "click", x: 5, y: 6, shift: true });
  });

  it("pans by each step of the drag", () => {
    const g = startGesture("pan", false, 0, 0);
    expect(moveGesture(g, 10, 0)).toEqual([10, 0]);
    expect(moveGesture(g, 15, -5)).toEqual([5, -5]);
    expect(endGesture(g, 15, -5)).toEqual({ kind: "pan" });
  });

  it("draws a lasso on shift-drag in any mode, skipping corners closer than 2 px", () => {
    const g = startGesture("pan", true, 0, 0);
    expect(g.kind).toBe("lasso");
    for (const [x, y] of [
      [10, 0],
      [11, 0],
      [10, 10],
      [0, 10],
    ])
      expect(moveGesture(g, x as number, y as number)).toBeNull();
    expect(endGesture(g, 0, 9)).toEqual({ kind: "lasso", path: [0, 0, 10, 0, 10, 10, 0, 10, 0, 9] });
  });

  it("gives a box its two corners", () => {
    const g = startGesture("box", false, 30, 40);
    moveGesture(g, 80, 90);
    expect(endGesture(g, 100, 20)).toEqual({ kind: "box", x0: 30, y0: 40, x1: 100, y1: 20 });
  });
});

describe("moving the last picture during a gesture", () => {
  it("puts every point where the new view draws it", () => {
    const drawn = fitBounds({ x0: -3, y0: -1, x1: 5, y1: 4 }, 400, 300, 16);
    const now = zoomAt(panBy(drawn, 37, -12), 120, 80, 1.7);
    const match = /translate\((.+)px, (.+)px\) scale\((.+)\)/.exec(pictureMove(drawn, now));
    expect(match).not.toBeNull();
    const [bx, by, k] = (match as RegExpExecArray).slice(1).map(Number) as [number, number, number];
    for (const [x, y] of [
      [0, 0],
      [-3, 4],
      [5, -1],
      [1.25, 2.5],
    ] as const) {
      const [sx, sy] = toScreen(drawn, x, y);
      const [ex, ey] = toScreen(now, x, y);
      expect(bx + k * sx).toBeCloseTo(ex, 6);
      expect(by + k * sy).toBeCloseTo(ey, 6);
    }
    expect(pictureMove(drawn, { ...drawn })).toBe("");
  });
});

describe("texts of an exported page", () => {
  it("are decoded only when read", () => {
    let reads = 0;
    const values = ["Refund", null, "refund policy"];
    const texts = {
      length: 3,
      at: (row: number) => {
        reads += 1;
        return values[row] ?? null;
      },
    };
    expect(reads).toBe(0);
    expect([...searchTexts(texts, "REFUND")]).toEqual([0, 2]);
    expect(reads).toBe(3);
  });
});

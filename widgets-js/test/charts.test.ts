import { describe, expect, it } from "vitest";
import { bucketAt, extentWhere, formatNumber, formatTick, logTicks, scale, segments, ticks } from "../src/charts/model";

describe("segments", () => {
  it("splits rows into per-chart, per-series runs", () => {
    const chart = [0, 0, 0, 0, 1, 1];
    const run = [2, 2, 0, 0, 0, 1];
    expect(segments(chart, run, 3)).toEqual([
      [
        { series: 2, start: 0, end: 2 },
        { series: 0, start: 2, end: 4 },
      ],
      [
        { series: 0, start: 4, end: 5 },
        { series: 1, start: 5, end: 6 },
      ],
      [],
    ]);
    expect(segments([], [], 2)).toEqual([[], []]);
  });
});

describe("extent", () => {
  it("ignores NaN and infinities, and positives only on a log axis", () => {
    const low = [Number.NaN, -2, 1, Number.POSITIVE_INFINITY];
    const high = [3, 0, 5, Number.NaN];
    expect(extentWhere([{ series: 0, start: 0, end: 4 }], false, low, high)).toEqual({ lo: -2, hi: 5 });
    expect(extentWhere([{ series: 0, start: 0, end: 4 }], true, low, high)).toEqual({ lo: 1, hi: 5 });
    expect(extentWhere([{ series: 0, start: 0, end: 1 }], false, [Number.NaN])).toBeNull();
  });
});

describe("ticks and scales", () => {
  it("gives round ticks", () => {
    expect(ticks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(ticks(0.13, 0.52, 4)).toEqual([0.2, 0.3, 0.4, 0.5].map((v) => expect.closeTo(v, 12)));
    expect(logTicks(0.003, 20)).toEqual([0.01, 0.1, 1, 10]);
  });
  it("maps both ways, linear and log", () => {
    const linear = scale({ lo: 0, hi: 100 }, 0, 200);
    expect(linear(50)).toBe(100);
    expect(linear.invert(100)).toBe(50);
    const log = scale({ lo: 1, hi: 1000 }, 300, 0, true);
    expect(log(10)).toBeCloseTo(200);
    expect(log.invert(100)).toBeCloseTo(100);
  });
  it("labels numbers, times and durations compactly", () => {
    expect(formatNumber(1_250_000)).toBe("1.25M");
    expect(formatNumber(35_000)).toBe("35k");
    expect(formatNumber(0.5)).toBe("0.5");
    expect(formatNumber(1.5e-7)).toBe("1.5e-7");
    expect(formatTick(7200, "relative", 10_000)).toBe("2h");
    expect(formatTick(Date.UTC(2026, 10, 14, 22, 5) / 1000, "wall_time", 7200)).toBe("22:05");
  });
});

describe("bucketAt", () => {
  it("finds the bucket holding x, or the nearest", () => {
    const x0 = [0, 10, 20, 30];
    const x1 = [5, 15, 25, 35];
    const all = { series: 0, start: 0, end: 4 };
    expect(bucketAt(x0, x1, all, 12)).toBe(1);
    expect(bucketAt(x0, x1, all, 18)).toBe(2);
    expect(bucketAt(x0, x1, all, -3)).toBe(0);
    expect(bucketAt(x0, x1, all, 99)).toBe(3);
    expect(bucketAt(x0, x1, { series: 0, start: 2, end: 2 }, 5)).toBe(-1);
  });
});

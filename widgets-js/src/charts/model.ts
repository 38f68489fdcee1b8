// Pure chart logic: where each series' buckets are, axis extents and ticks, scales, and the bucket under the mouse.

/** Rows [start, end) of one series (run or group) in one chart; rows of a series are contiguous and in x order. */
export interface Segment {
  series: number;
  start: number;
  end: number;
}

/** The segments of each chart, from the `chart` and `run` columns (rows grouped by chart, then by series). */
export function segments(chart: ArrayLike<number>, series: ArrayLike<number>, charts: number): Segment[][] {
  const out: Segment[][] = Array.from({ length: charts }, () => []);
  let start = 0;
  for (let i = 1; i <= chart.length; i++) {
    if (i < chart.length && chart[i] === chart[start] && series[i] === series[start]) continue;
    out[chart[start] ?? 0]?.push({ series: series[start] ?? 0, start, end: i });
    start = i;
  }
  return chart.length ? out : Array.from({ length: charts }, () => []);
}

export interface Extent {
  lo: number;
  hi: number;
}

/** The smallest and largest finite value of `values` over the rows of `parts` (log: positive values only). */
export function extent(parts: Segment[], ...columns: Array<ArrayLike<number>>): Extent | null {
  return extentWhere(parts, false, ...columns);
}

export function extentWhere(parts: Segment[], positive: boolean, ...columns: Array<ArrayLike<number>>): Extent | null {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const { start, end } of parts)
    for (const values of columns)
      for (let i = start; i < end; i++) {
        const v = values[i] ?? Number.NaN;
        if (!Number.isFinite(v) || (positive && v <= 0)) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
  if (lo > hi) return null;
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.05;
    return positive ? { lo: lo / 1.5, hi: hi * 1.5 } : { lo: lo - pad, hi: hi + pad };
  }
  return { lo, hi };
}

/** A linear or logarithmic map from data to pixels (and back). */
export interface Scale {
  (value: number): number;
  invert(pixel: number): number;
}

export function scale(domain: Extent, from: number, to: number, log = false): Scale {
  const f = log ? Math.log10 : (v: number) => v;
  const lo = f(domain.lo);
  const span = f(domain.hi) - lo || 1;
  const map = ((value: number) => from + ((f(value) - lo) / span) * (to - from)) as Scale;
  map.invert = (pixel: number) => {
    const v = lo + ((pixel - from) / (to - from)) * span;
    return log ? 10 ** v : v;
  };
  return map;
}

/** About `count` round tick values covering [lo, hi] (1, 2, 5 times a power of ten). */
export function ticks(lo: number, hi: number, count: number): number[] {
  if (!(Number.isFinite(lo) && Number.isFinite(hi)) || hi <= lo || count < 1) return Number.isFinite(lo) ? [lo] : [];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  const step = (unit < 1.5 ? 1 : unit < 3 ? 2 : unit < 7 ? 5 : 10) * power;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

/** Powers of ten within [lo, hi] for a log axis (at least the two ends when none fall inside). */
export function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let p = Math.ceil(Math.log10(lo)); p <= Math.floor(Math.log10(hi)); p++) out.push(10 ** p);
  return out.length ? out : [lo, hi];
}

/** A tick label: compact numbers; times of day (or dates) for wall time; durations for relative time. */
export function formatTick(value: number, axis: string, span: number): string {
  if (axis === "wall_time") {
    const iso = new Date(value * 1000).toISOString();
    return span > 2 * 86_400 ? iso.slice(5, 10) : span > 3600 ? iso.slice(11, 16) : iso.slice(11, 19);
  }
  if (axis === "relative") {
    if (span > 2 * 3600) return `${+(value / 3600).toFixed(1)}h`;
    if (span > 120) return `${+(value / 60).toFixed(1)}m`;
    return `${+value.toFixed(1)}s`;
  }
  return formatNumber(value);
}

/** A number in few characters: 1.2M, 35k, 0.0031, 1.5e-7. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const size = Math.abs(value);
  if (size >= 1e6 && size < 1e15) return `${+(value / 1e6).toPrecision(3)}M`;
  if (size >= 1e4 && size < 1e6) return `${+(value / 1e3).toPrecision(3)}k`;
  if (size !== 0 && (size < 1e-3 || size >= 1e15)) return value.toExponential(1);
  return String(+value.toPrecision(4));
}

/** The row of `segment` whose bucket holds `x` (or the nearest one), by binary search on the bucket starts. */
export function bucketAt(x0: ArrayLike<number>, x1: ArrayLike<number>, segment: Segment, x: number): number {
  let lo = segment.start;
  let hi = segment.end - 1;
  if (hi < lo) return -1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((x0[mid] ?? 0) <= x) lo = mid;
    else hi = mid - 1;
  }
  const next = lo + 1;
  if (next < segment.end && x > (x1[lo] ?? 0) && (x0[next] ?? 0) - x < x - (x1[lo] ?? 0)) return next;
  return lo;
}

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"];

/** The colour of series `i`: ten distinct ones, then evenly spread hues. */
export function colour(i: number): string {
  return PALETTE[i] ?? `hsl(${(i * 137.508) % 360}, 60%, 50%)`;
}

export const MARK_COLOURS: Record<string, string> = {
  non_finite: "#d62728",
  spike: "#ff7f0e",
  stall: "#7f7f7f",
  restart: "#9467bd",
};

// The waterfall's geometry: the trace's time extent, each span's bar as fractions of it, round time ticks, and
// durations written for people. Pure functions, unit-tested.

/** [t0, t1] in ms after the trace's start covering every known span (and the trace's own duration). */
export function extent(start: Float64Array, duration: Float64Array, traceDuration?: number | null): [number, number] {
  let t0 = 0;
  let t1 = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < start.length; i++) {
    const s = start[i] as number;
    if (!Number.isFinite(s)) continue;
    if (s < t0) t0 = s;
    const d = duration[i] as number;
    const e = Number.isFinite(d) && d > 0 ? s + d : s;
    if (e > t1) t1 = e;
  }
  if (traceDuration !== null && traceDuration !== undefined && Number.isFinite(traceDuration)) {
    t1 = Math.max(t1, traceDuration);
  }
  if (!Number.isFinite(t1) || t1 <= t0) t1 = t0 + 1;
  return [t0, t1];
}

/** A bar as fractions of the extent: where it starts and how wide it is; null when the start is unknown. An
 * unknown duration gives width 0 (drawn as a tick). */
export interface Bar {
  left: number;
  width: number;
  known: boolean;
}

export function barGeometry(start: number, duration: number, t0: number, t1: number): Bar | null {
  if (!Number.isFinite(start)) return null;
  const span = t1 - t0 || 1;
  const left = Math.max(0, Math.min(1, (start - t0) / span));
  const known = Number.isFinite(duration) && duration >= 0;
  const width = known ? Math.max(0, Math.min(1 - left, duration / span)) : 0;
  return { left, width, known };
}

export interface Tick {
  value: number;
  /** Position as a fraction of the extent. */
  at: number;
  label: string;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Round steps of clock time: seconds and minutes in 1, 2, 5, 10, 15, 30; hours in 1, 2, 3, 6, 12, 24. */
const CLOCK_STEPS = [
  ...[1, 2, 5, 10, 15, 30].map((n) => n * SECOND),
  ...[1, 2, 5, 10, 15, 30].map((n) => n * MINUTE),
  ...[1, 2, 3, 6, 12, 24].map((n) => n * HOUR),
];

/** The round step (ms) giving about `target` ticks over `span` ms: 1, 2 or 5 times a power of ten of ms under a
 * second and of days past a day, a round clock step between. */
export function niceStep(span: number, target: number): number {
  const raw = span / Math.max(1, target);
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  if (raw > 500 && raw <= DAY) {
    for (const step of CLOCK_STEPS) if (step >= raw) return step;
  }
  return raw > DAY ? decimalStep(raw / DAY) * DAY : decimalStep(raw);
}

/** 1, 2, 5 or 10 times the power of ten at or under `raw`, the smallest one not under it. */
function decimalStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  return (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10) * power;
}

/** Ticks over [t0, t1] for an axis `pixels` wide with at least `spacing` px between labels. */
export function timeTicks(t0: number, t1: number, pixels: number, spacing = 90): Tick[] {
  const span = t1 - t0;
  if (!(span > 0) || !(pixels > 0)) return [];
  const step = niceStep(span, Math.max(1, Math.floor(pixels / spacing)));
  const ticks: Tick[] = [];
  const first = Math.ceil(t0 / step - 1e-9);
  const largest = Math.max(Math.abs(t0), Math.abs(t1));
  for (let k = first; k * step <= t1 + step * 1e-9 && ticks.length < 1000; k++) {
    const value = k * step + 0; // + 0 turns -0 into 0
    ticks.push({ value, at: (value - t0) / span, label: tickLabel(value, step, largest) });
  }
  return ticks;
}

/** A tick's label in the unit the axis's `largest` value calls for, with as many decimals as the step needs:
 * 0, 250 ms, 0.5 s, 1.5 s, 2 min. */
export function tickLabel(value: number, step: number, largest = Math.abs(value)): string {
  if (value === 0) return "0";
  const [unit, size] =
    largest >= 2 * DAY && step >= DAY
      ? ["d", DAY]
      : largest >= 2 * HOUR && step >= HOUR
        ? ["h", HOUR]
        : largest >= 2 * MINUTE && step >= MINUTE
          ? ["min", MINUTE]
          : largest >= SECOND
            ? ["s", SECOND]
            : ["ms", 1];
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step / size) + 1e-9)));
  return `${(value / size).toFixed(decimals)} ${unit}`;
}

/** A duration in ms, short: 0.42 ms, 850 ms, 1.24 s, 3.5 min, 2.1 h; "" when unknown. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "";
  const a = Math.abs(ms);
  if (a < 1) return `${ms.toFixed(2)} ms`;
  if (a < 10) return `${ms.toFixed(1)} ms`;
  if (a < 1000) return `${Math.round(ms)} ms`;
  if (a < 60_000) return `${(ms / 1000).toFixed(a < 10_000 ? 2 : 1)} s`;
  if (a < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/**
 * A CSS background drawing a 1 px vertical line at each tick (as a percentage of the track), so every row's track
 * shows the grid without an element per line.
 */
export function gridBackground(ticks: Tick[], colour: string): string {
  const stops: string[] = [];
  for (const { at } of ticks) {
    if (at <= 0 || at >= 1) continue;
    const p = `${(at * 100).toFixed(3)}%`;
    stops.push(`transparent ${p}`, `${colour} ${p}`, `${colour} calc(${p} + 1px)`, `transparent calc(${p} + 1px)`);
  }
  return stops.length ? `linear-gradient(to right, ${stops.join(", ")})` : "none";
}

// Drawing one chart on a canvas: per series a band (lowest to highest value of each bucket) under its line, NaN/inf
// ticks along the bottom, anomaly marks along the top, axes with round ticks. Text goes through fillText only.
import type { Buckets, Mark } from "./data";
import {
  colour,
  type Extent,
  extentWhere,
  formatNumber,
  formatTick,
  logTicks,
  MARK_COLOURS,
  type Scale,
  type Segment,
  scale,
  ticks,
} from "./model";

export const MARGIN = { left: 52, right: 10, top: 12, bottom: 22 };

export interface View {
  chart: number;
  axis: string;
  log: boolean;
  smoothed: boolean;
  hidden: Set<number>;
  marks: Mark[];
  /** The x range zoomed to, drawn at once from the buckets in hand until the finer ones arrive; null for all. */
  range: Extent | null;
  width: number;
  height: number;
}

export interface Drawn {
  x: Scale;
  y: Scale;
  xDomain: Extent;
  segments: Segment[];
}

/** The segments shown (series not hidden) and their x and y extents. */
export function layout(data: Buckets, view: View): Drawn | null {
  const shown = (data.charts[view.chart] ?? []).filter((s) => !view.hidden.has(s.series));
  const xDomain = view.range ?? extentWhere(shown, false, data.x0, data.x1);
  const yDomain = extentWhere(shown, view.log, data.low, data.high, data.smooth);
  if (!xDomain || !yDomain) return null;
  const pad = view.log ? 0 : (yDomain.hi - yDomain.lo) * 0.04;
  const y = { lo: yDomain.lo - pad, hi: yDomain.hi + pad };
  return {
    x: scale(xDomain, MARGIN.left, view.width - MARGIN.right),
    y: scale(y, view.height - MARGIN.bottom, MARGIN.top, view.log),
    xDomain,
    segments: shown,
  };
}

export function draw(canvas: HTMLCanvasElement, data: Buckets, view: View, style: CSSStyleDeclaration): Drawn | null {
  const ratio = globalThis.devicePixelRatio || 1;
  canvas.width = Math.round(view.width * ratio);
  canvas.height = Math.round(view.height * ratio);
  const ctx = canvas.getContext("2d");
  if (!ctx) return null;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, view.width, view.height);
  const fg = style.getPropertyValue("color") || "#333";
  const drawn = layout(data, view);
  ctx.font = "11px system-ui, sans-serif";
  if (!drawn) {
    ctx.fillStyle = fg;
    ctx.fillText("no finite values", MARGIN.left + 8, view.height / 2);
    return null;
  }
  axes(ctx, drawn, view, fg);
  ctx.save();
  ctx.beginPath();
  ctx.rect(MARGIN.left, MARGIN.top, view.width - MARGIN.left - MARGIN.right, view.height - MARGIN.top - MARGIN.bottom);
  ctx.clip();
  for (const segment of drawn.segments) series(ctx, data, drawn, segment, view);
  ctx.restore();
  for (const segment of drawn.segments) nonFinite(ctx, data, drawn, segment, view);
  marks(ctx, drawn, view);
  return drawn;
}

function axes(ctx: CanvasRenderingContext2D, drawn: Drawn, view: View, fg: string): void {
  const { x, y, xDomain } = drawn;
  const bottom = view.height - MARGIN.bottom;
  ctx.strokeStyle = "rgba(128,128,128,0.25)";
  ctx.fillStyle = fg;
  ctx.lineWidth = 1;
  const yLo = y.invert(bottom);
  const yHi = y.invert(MARGIN.top);
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const v of view.log ? logTicks(yLo, yHi) : ticks(yLo, yHi, Math.max(2, Math.floor(view.height / 40)))) {
    const py = Math.round(y(v)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(MARGIN.left, py);
    ctx.lineTo(view.width - MARGIN.right, py);
    ctx.stroke();
    ctx.fillText(formatNumber(v), MARGIN.left - 4, py);
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const span = xDomain.hi - xDomain.lo;
  for (const v of ticks(xDomain.lo, xDomain.hi, Math.max(2, Math.floor(view.width / 90)))) {
    const px = Math.round(x(v)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(px, MARGIN.top);
    ctx.lineTo(px, bottom);
    ctx.stroke();
    ctx.fillText(formatTick(v, view.axis, span), px, bottom + 4);
  }
}

function series(ctx: CanvasRenderingContext2D, data: Buckets, drawn: Drawn, s: Segment, view: View): void {
  const { x, y } = drawn;
  const bottom = view.height - MARGIN.bottom;
  const clampY = (v: number) => (view.log && v <= 0 ? bottom : y(v));
  ctx.fillStyle = colour(s.series);
  ctx.globalAlpha = 0.22;
  // the band: each bucket's [low, high] over its x range, at least one pixel wide so a lone spike shows
  for (let i = s.start; i < s.end; i++) {
    const lo = data.low[i] ?? Number.NaN;
    const hi = data.high[i] ?? Number.NaN;
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) continue;
    const left = x(data.x0[i] ?? 0);
    const right = Math.max(left + 1, x(data.x1[i] ?? 0));
    const top = clampY(hi);
    ctx.fillRect(left, top, right - left, Math.max(1, clampY(lo) - top));
  }
  ctx.globalAlpha = 1;
  const line = (values: ArrayLike<number>, alpha: number) => {
    ctx.strokeStyle = colour(s.series);
    ctx.globalAlpha = alpha;
    ctx.lineWidth = 1.4;
    ctx.beginPath();
    let drawing = false;
    for (let i = s.start; i < s.end; i++) {
      const v = values[i] ?? Number.NaN;
      if (!Number.isFinite(v) || (view.log && v <= 0)) {
        drawing = false;
        continue;
      }
      const px = x(data.x1[i] ?? 0);
      const py = y(v);
      if (drawing) ctx.lineTo(px, py);
      else ctx.moveTo(px, py);
      drawing = true;
    }
    ctx.stroke();
    ctx.globalAlpha = 1;
  };
  if (view.smoothed) line(data.last, 0.3);
  line(view.smoothed ? data.smooth : data.last, 1);
}

function nonFinite(ctx: CanvasRenderingContext2D, data: Buckets, drawn: Drawn, s: Segment, view: View): void {
  ctx.fillStyle = MARK_COLOURS.non_finite ?? "red";
  const bottom = view.height - MARGIN.bottom;
  for (let i = s.start; i < s.end; i++)
    if ((data.nonFinite[i] ?? 0) > 0) ctx.fillRect(drawn.x(data.x0[i] ?? 0) - 1, bottom - 4, 2, 4);
}

function marks(ctx: CanvasRenderingContext2D, drawn: Drawn, view: View): void {
  for (const mark of view.marks) {
    if (view.hidden.has(mark.series)) continue;
    const px = drawn.x(mark.x);
    if (px < MARGIN.left || px > view.width - MARGIN.right) continue;
    ctx.fillStyle = MARK_COLOURS[mark.kind] ?? "#888";
    ctx.beginPath();
    ctx.moveTo(px - 4, MARGIN.top - 8);
    ctx.lineTo(px + 4, MARGIN.top - 8);
    ctx.lineTo(px, MARGIN.top);
    ctx.closePath();
    ctx.fill();
  }
}

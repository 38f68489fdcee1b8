// A uniform grid over the points' data coordinates, for hit testing on the CPU: the point nearest the cursor and
// the points in a rectangle touch only the cells nearby, so hover and lasso stay fast at a million points.
import { type Bounds, boundsOf } from "./view";

/** About this many points per cell. */
const PER_CELL = 4;
const MAX_SIDE = 2048;

export class GridIndex {
  /** For cell c, its points (row numbers) are items[starts[c]] .. items[starts[c + 1] - 1], ascending. */
  readonly starts: Int32Array;
  readonly items: Int32Array;

  private constructor(
    readonly xy: Float32Array,
    readonly bounds: Bounds,
    readonly cols: number,
    readonly rows: number,
    readonly cellW: number,
    readonly cellH: number,
  ) {
    const cells = cols * rows;
    const cellOf = new Int32Array(xy.length >> 1);
    const starts = new Int32Array(cells + 1);
    for (let i = 0; i < cellOf.length; i++) {
      const c = this.cellAt(xy[2 * i] as number, xy[2 * i + 1] as number);
      cellOf[i] = c;
      if (c >= 0) starts[c + 1] = (starts[c + 1] as number) + 1;
    }
    for (let c = 0; c < cells; c++) starts[c + 1] = (starts[c + 1] as number) + (starts[c] as number);
    const items = new Int32Array(starts[cells] as number);
    const next = starts.slice(0, cells);
    for (let i = 0; i < cellOf.length; i++) {
      const c = cellOf[i] as number;
      if (c < 0) continue;
      items[next[c] as number] = i;
      next[c] = (next[c] as number) + 1;
    }
    this.starts = starts;
    this.items = items;
  }

  /** The index of the points `xy` (x, y interleaved, one pair per row); points that are not finite are left out. */
  static build(xy: Float32Array): GridIndex {
    const n = xy.length >> 1;
    const bounds = boundsOf(xy) ?? { x0: 0, y0: 0, x1: 0, y1: 0 };
    const w = bounds.x1 - bounds.x0 || 1;
    const h = bounds.y1 - bounds.y0 || 1;
    const cells = Math.max(1, n / PER_CELL);
    const side = Math.sqrt(cells / (w * h));
    const cols = Math.max(1, Math.min(MAX_SIDE, Math.round(w * side)));
    const rows = Math.max(1, Math.min(MAX_SIDE, Math.round(h * side)));
    return new GridIndex(xy, bounds, cols, rows, w / cols, h / rows);
  }

  /** The column of the cells holding x (clamped to the grid). */
  col(x: number): number {
    return Math.min(this.cols - 1, Math.max(0, Math.floor((x - this.bounds.x0) / this.cellW)));
  }

  /** The row of the cells holding y (clamped to the grid). */
  row(y: number): number {
    return Math.min(this.rows - 1, Math.max(0, Math.floor((y - this.bounds.y0) / this.cellH)));
  }

  private cellAt(x: number, y: number): number {
    if (!Number.isFinite(x) || !Number.isFinite(y)) return -1;
    return this.row(y) * this.cols + this.col(x);
  }

  /** The points of the cell at column c, row r: items[first] .. items[end - 1]. */
  cell(c: number, r: number): [number, number] {
    const k = r * this.cols + c;
    return [this.starts[k] as number, this.starts[k + 1] as number];
  }

  /** The row of the point nearest (x, y) no farther than `radius` (data units), or -1. Of points equally near, the
   * one drawn last (on top). */
  nearest(x: number, y: number, radius: number): number {
    const { x0, y0, x1, y1 } = this.bounds;
    if (!(radius >= 0) || x < x0 - radius || x > x1 + radius || y < y0 - radius || y > y1 + radius) return -1;
    let best = -1;
    let bestD = radius * radius;
    const c0 = this.col(x - radius);
    const c1 = this.col(x + radius);
    const r0 = this.row(y - radius);
    const r1 = this.row(y + radius);
    for (let r = r0; r <= r1; r++)
      for (let c = c0; c <= c1; c++) {
        const cell = r * this.cols + c;
        for (let k = this.starts[cell] as number, end = this.starts[cell + 1] as number; k < end; k++) {
          const i = this.items[k] as number;
          const dx = (this.xy[2 * i] as number) - x;
          const dy = (this.xy[2 * i + 1] as number) - y;
          const d = dx * dx + dy * dy;
          if (d < bestD || (d === bestD && i > best)) {
            best = i;
            bestD = d;
          }
        }
      }
    return best;
  }

  /** The rows of the points inside the rectangle (edges included), ascending. */
  inRect(rx0: number, ry0: number, rx1: number, ry1: number): Int32Array {
    const xa = Math.min(rx0, rx1);
    const xb = Math.max(rx0, rx1);
    const ya = Math.min(ry0, ry1);
    const yb = Math.max(ry0, ry1);
    const { x0, y0, x1, y1 } = this.bounds;
    if (xb < x0 || xa > x1 || yb < y0 || ya > y1 || !(xa <= xb) || !(ya <= yb)) return new Int32Array(0);
    const c0 = this.col(xa);
    const c1 = this.col(xb);
    const r0 = this.row(ya);
    const r1 = this.row(yb);
    let candidates = 0;
    for (let r = r0; r <= r1; r++)
      candidates += (this.starts[r * this.cols + c1 + 1] as number) - (this.starts[r * this.cols + c0] as number);
    const xy = this.xy;
    const inside = (i: number) => {
      const x = xy[2 * i] as number;
      const y = xy[2 * i + 1] as number;
      return x >= xa && x <= xb && y >= ya && y <= yb;
    };
    const out = new Int32Array(candidates);
    let count = 0;
    if (candidates > this.items.length / 8) {
      // a large part of the map: one pass over every point, already in order
      for (let i = 0, n = xy.length >> 1; i < n; i++) if (inside(i)) out[count++] = i;
      return out.slice(0, count);
    }
    for (let r = r0; r <= r1; r++)
      for (
        let k = this.starts[r * this.cols + c0] as number, end = this.starts[r * this.cols + c1 + 1] as number;
        k < end;
        k++
      ) {
        const i = this.items[k] as number;
        if (inside(i)) out[count++] = i;
      }
    return out.slice(0, count).sort();
  }
}

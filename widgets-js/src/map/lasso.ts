// Selecting by a lasso (a polygon) or a box, in data coordinates. Grid cells that no edge of the lasso crosses are
// wholly inside or wholly outside it, decided once per cell; only the points of the cells on the lasso's outline
// are tested one by one. So a lasso around most of a million points costs about one pass over them.
import type { GridIndex } from "./grid";

/** A polygon as x, y pairs: [x0, y0, x1, y1, ...]; closed implicitly. */
export type Polygon = ArrayLike<number>;

/** Whether (x, y) is inside `polygon` (even-odd rule). */
export function pointInPolygon(x: number, y: number, polygon: Polygon): boolean {
  const n = polygon.length >> 1;
  let inside = false;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = polygon[2 * i] as number;
    const yi = polygon[2 * i + 1] as number;
    const xj = polygon[2 * j] as number;
    const yj = polygon[2 * j + 1] as number;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** The bounding box of `polygon`: [x0, y0, x1, y1]. */
export function polygonBounds(polygon: Polygon): [number, number, number, number] {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = 0; i + 1 < polygon.length; i += 2) {
    const x = polygon[i] as number;
    const y = polygon[i + 1] as number;
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x);
    y0 = Math.min(y0, y);
    y1 = Math.max(y1, y);
  }
  return [x0, y0, x1, y1];
}

/** A path with the corners that lie within `tolerance` of the line through their neighbours dropped
 * (Ramer–Douglas–Peucker), so a lasso drawn with a thousand mouse moves is tested against a few dozen edges. */
export function simplify(path: number[], tolerance: number): number[] {
  const n = path.length >> 1;
  if (n <= 3) return path.slice();
  const keep = new Uint8Array(n);
  keep[0] = 1;
  keep[n - 1] = 1;
  const stack: Array<[number, number]> = [[0, n - 1]];
  while (stack.length) {
    const [a, b] = stack.pop() as [number, number];
    const ax = path[2 * a] as number;
    const ay = path[2 * a + 1] as number;
    const dx = (path[2 * b] as number) - ax;
    const dy = (path[2 * b + 1] as number) - ay;
    const length = Math.hypot(dx, dy);
    let worst = -1;
    let far = tolerance;
    for (let i = a + 1; i < b; i++) {
      const px = (path[2 * i] as number) - ax;
      const py = (path[2 * i + 1] as number) - ay;
      const d = length > 0 ? Math.abs(px * dy - py * dx) / length : Math.hypot(px, py);
      if (d > far) {
        far = d;
        worst = i;
      }
    }
    if (worst >= 0) {
      keep[worst] = 1;
      stack.push([a, worst], [worst, b]);
    }
  }
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (keep[i]) out.push(path[2 * i] as number, path[2 * i + 1] as number);
  return out;
}

/** The cells (of the columns c0..c1, rows r0..r1 of `grid`) that an edge of `polygon` touches: 1 each. */
function outlineCells(grid: GridIndex, polygon: Polygon, c0: number, c1: number, r0: number, r1: number): Uint8Array {
  const width = c1 - c0 + 1;
  const marks = new Uint8Array(width * (r1 - r0 + 1));
  const gy = grid.bounds.y0;
  const ex = grid.cellW * 1e-6;
  const ey = grid.cellH * 1e-6;
  const n = polygon.length >> 1;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const ax = polygon[2 * j] as number;
    const ay = polygon[2 * j + 1] as number;
    const bx = polygon[2 * i] as number;
    const by = polygon[2 * i + 1] as number;
    const lo = Math.min(ay, by);
    const hi = Math.max(ay, by);
    for (let r = Math.max(r0, grid.row(lo - ey)); r <= Math.min(r1, grid.row(hi + ey)); r++) {
      // the part of the edge within this row's band (closed, a hair wider), as an x range
      const ya = Math.max(lo, gy + r * grid.cellH - ey);
      const yb = Math.min(hi, gy + (r + 1) * grid.cellH + ey);
      let xa: number;
      let xb: number;
      if (ay === by || ya > yb) {
        xa = Math.min(ax, bx);
        xb = Math.max(ax, bx);
      } else {
        const t = (bx - ax) / (by - ay);
        const p = ax + (ya - ay) * t;
        const q = ax + (yb - ay) * t;
        xa = Math.min(p, q);
        xb = Math.max(p, q);
      }
      const from = Math.max(c0, grid.col(xa - ex));
      const to = Math.min(c1, grid.col(xb + ex));
      for (let c = from; c <= to; c++) marks[(r - r0) * width + (c - c0)] = 1;
    }
  }
  return marks;
}

/** The rows of the points inside `polygon`, ascending (none for a polygon of fewer than 3 corners). */
export function selectPolygon(grid: GridIndex, polygon: Polygon): Int32Array {
  if (polygon.length < 6 || !grid.items.length) return new Int32Array(0);
  const [px0, py0, px1, py1] = polygonBounds(polygon);
  const b = grid.bounds;
  if (!(px0 <= b.x1 && px1 >= b.x0 && py0 <= b.y1 && py1 >= b.y0)) return new Int32Array(0);
  const c0 = grid.col(px0);
  const c1 = grid.col(px1);
  const r0 = grid.row(py0);
  const r1 = grid.row(py1);
  const width = c1 - c0 + 1;
  const outline = outlineCells(grid, polygon, c0, c1, r0, r1);
  const xy = grid.xy;
  const out = new Int32Array(grid.items.length);
  let count = 0;
  const crossings: number[] = [];
  const n = polygon.length >> 1;
  for (let r = r0; r <= r1; r++) {
    // where the line through the middle of this row crosses the polygon: a cell off the outline is inside when
    // an odd number of crossings lie left of its middle
    const y = b.y0 + (r + 0.5) * grid.cellH;
    crossings.length = 0;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const xi = polygon[2 * i] as number;
      const yi = polygon[2 * i + 1] as number;
      const xj = polygon[2 * j] as number;
      const yj = polygon[2 * j + 1] as number;
      if (yi > y !== yj > y) crossings.push(((xj - xi) * (y - yi)) / (yj - yi) + xi);
    }
    crossings.sort((p, q) => p - q);
    let left = 0;
    for (let c = c0; c <= c1; c++) {
      const [first, end] = grid.cell(c, r);
      if (first === end) continue;
      if (outline[(r - r0) * width + (c - c0)]) {
        for (let k = first; k < end; k++) {
          const i = grid.items[k] as number;
          if (pointInPolygon(xy[2 * i] as number, xy[2 * i + 1] as number, polygon)) out[count++] = i;
        }
        continue;
      }
      const x = b.x0 + (c + 0.5) * grid.cellW;
      while (left < crossings.length && (crossings[left] as number) < x) left++;
      if (left % 2 === 1) for (let k = first; k < end; k++) out[count++] = grid.items[k] as number;
    }
  }
  return out.slice(0, count).sort();
}

/** The rows of the points in the box with corners (x0, y0) and (x1, y1), ascending. */
export function selectBox(grid: GridIndex, x0: number, y0: number, x1: number, y1: number): Int32Array {
  return grid.inRect(x0, y0, x1, y1);
}

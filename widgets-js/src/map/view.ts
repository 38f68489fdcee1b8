// The view of the map: which data point sits at the middle of the canvas and how many CSS pixels one data unit
// spans. Data y grows upwards, screen y downwards. Pan and zoom only change these three numbers (uniforms).

export interface View {
  /** The data point at the middle of the canvas. */
  cx: number;
  cy: number;
  /** CSS pixels per data unit. */
  scale: number;
  /** The canvas's size in CSS pixels. */
  width: number;
  height: number;
}

export interface Bounds {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The CSS pixel (from the canvas's top-left) where data point (x, y) is drawn. */
export function toScreen(view: View, x: number, y: number): [number, number] {
  return [view.width / 2 + (x - view.cx) * view.scale, view.height / 2 - (y - view.cy) * view.scale];
}

/** The data point drawn at CSS pixel (sx, sy). */
export function toData(view: View, sx: number, sy: number): [number, number] {
  return [view.cx + (sx - view.width / 2) / view.scale, view.cy - (sy - view.height / 2) / view.scale];
}

/** The view moved by (dx, dy) CSS pixels, as when the map is dragged that far. */
export function panBy(view: View, dx: number, dy: number): View {
  return { ...view, cx: view.cx - dx / view.scale, cy: view.cy + dy / view.scale };
}

/** The view zoomed by `factor` about CSS pixel (sx, sy): the data point under it stays under it. The scale is kept
 * within [min, max]. */
export function zoomAt(view: View, sx: number, sy: number, factor: number, min = 0, max = Infinity): View {
  const scale = Math.min(max, Math.max(min, view.scale * factor));
  if (!(scale > 0) || !Number.isFinite(scale)) return view;
  const [x, y] = toData(view, sx, sy);
  return {
    ...view,
    scale,
    cx: x - (sx - view.width / 2) / scale,
    cy: y + (sy - view.height / 2) / scale,
  };
}

/** The view showing all of `bounds` in a canvas `width` x `height`, with `padding` CSS pixels around. */
export function fitBounds(bounds: Bounds | null, width: number, height: number, padding = 16): View {
  if (!bounds) return { cx: 0, cy: 0, scale: 1, width, height };
  const dx = bounds.x1 - bounds.x0;
  const dy = bounds.y1 - bounds.y0;
  const w = Math.max(1, width - 2 * padding);
  const h = Math.max(1, height - 2 * padding);
  const sx = dx > 0 ? w / dx : Infinity;
  const sy = dy > 0 ? h / dy : Infinity;
  let scale = Math.min(sx, sy);
  if (!Number.isFinite(scale)) scale = 1; // one point, or all on one spot
  return { cx: (bounds.x0 + bounds.x1) / 2, cy: (bounds.y0 + bounds.y1) / 2, scale, width, height };
}

/** The bounds of the finite points of `xy` (x, y interleaved), or null when there are none. */
export function boundsOf(xy: Float32Array): Bounds | null {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = 0; i + 1 < xy.length; i += 2) {
    const x = xy[i] as number;
    const y = xy[i + 1] as number;
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return x0 <= x1 ? { x0, y0, x1, y1 } : null;
}

/** The rectangle of data visible in `view`. */
export function visibleBounds(view: View): Bounds {
  const [x0, y1] = toData(view, 0, 0);
  const [x1, y0] = toData(view, view.width, view.height);
  return { x0, y0, x1, y1 };
}

/** The `data-view` attribute: "cx,cy,scale". */
export function viewAttribute(view: View): string {
  return `${view.cx},${view.cy},${view.scale}`;
}

/** The CSS transform that moves a picture drawn in view `drawn` to where view `now` puts it (a pan and a zoom are
 * a translation and a uniform scale), about the canvas's top-left corner; "" when the views are the same. */
export function pictureMove(drawn: View, now: View): string {
  if (drawn.cx === now.cx && drawn.cy === now.cy && drawn.scale === now.scale) return "";
  const k = now.scale / drawn.scale;
  const bx = (now.width / 2) * (1 - k) + (drawn.cx - now.cx) * now.scale;
  const by = (now.height / 2) * (1 - k) - (drawn.cy - now.cy) * now.scale;
  return `translate(${bx}px, ${by}px) scale(${k})`;
}

// A press on the map, followed until the button is released: a click, a pan, a lasso or a box, in CSS pixels
// relative to the canvas.

export type Mode = "pan" | "lasso" | "box";

/** A press that moves less than this (CSS px) is a click. */
export const CLICK_PX = 4;
/** Lasso corners closer than this (CSS px) to the previous one are skipped. */
const LASSO_STEP_PX = 2;

export interface Gesture {
  kind: Mode;
  /** Shift was held at the press: a drag is a lasso whatever the mode, a click toggles the point's selection. */
  shift: boolean;
  x0: number;
  y0: number;
  x: number;
  y: number;
  moved: boolean;
  /** The lasso drawn so far: x, y pairs. */
  lasso: number[];
}

export type Outcome =
  | { kind: "click"; x: number; y: number; shift: boolean }
  | { kind: "pan" }
  | { kind: "lasso"; path: number[] }
  | { kind: "box"; x0: number; y0: number; x1: number; y1: number };

/** A press at (sx, sy) in `mode`; shift makes it a lasso. */
export function startGesture(mode: Mode, shift: boolean, sx: number, sy: number): Gesture {
  return { kind: shift ? "lasso" : mode, shift, x0: sx, y0: sy, x: sx, y: sy, moved: false, lasso: [sx, sy] };
}

/** Follow the pointer to (sx, sy); returns how far to pan the map (a pan gesture that moved), else null. */
export function moveGesture(g: Gesture, sx: number, sy: number): [number, number] | null {
  if (!g.moved && Math.hypot(sx - g.x0, sy - g.y0) < CLICK_PX) return null;
  g.moved = true;
  const step: [number, number] | null = g.kind === "pan" ? [sx - g.x, sy - g.y] : null;
  if (g.kind === "lasso") {
    const lx = g.lasso[g.lasso.length - 2] as number;
    const ly = g.lasso[g.lasso.length - 1] as number;
    if (Math.hypot(sx - lx, sy - ly) >= LASSO_STEP_PX) g.lasso.push(sx, sy);
  }
  g.x = sx;
  g.y = sy;
  return step;
}

/** Release at (sx, sy): what the gesture amounts to. A lasso of fewer than three corners selects nothing, so it
 * counts as a box of no area. */
export function endGesture(g: Gesture, sx: number, sy: number): Outcome {
  if (!g.moved) return { kind: "click", x: g.x0, y: g.y0, shift: g.shift };
  if (g.kind === "pan") return { kind: "pan" };
  if (g.kind === "lasso") {
    const path = [...g.lasso];
    const lx = path[path.length - 2] as number;
    const ly = path[path.length - 1] as number;
    if (lx !== sx || ly !== sy) path.push(sx, sy);
    return { kind: "lasso", path };
  }
  return { kind: "box", x0: g.x0, y0: g.y0, x1: sx, y1: sy };
}

// What is drawn over the points on a 2D canvas: the hovered and focused points' rings, the focused point's
// retrieval lines (their labels are DOM elements, text only), and the lasso or box being drawn.
import { h } from "../lib/dom";
import { type RGB, sizeCanvas } from "./renderer";
import { toScreen, type View } from "./view";

/** Label boxes: their height and their distance right of the line's end, in CSS px. */
const LABEL_HEIGHT = 16;
const LABEL_GAP = 6;

export interface Line {
  /** The far end, in data coordinates. */
  x: number;
  y: number;
  label: string;
}

export interface Scene {
  /** Hovered point (data coordinates) and the radius of its ring in CSS px. */
  hover: { x: number; y: number; r: number } | null;
  focus: { x: number; y: number; r: number } | null;
  lines: Line[];
  /** The lasso being drawn, CSS px x, y pairs. */
  lasso: number[] | null;
  /** The box being drawn, CSS px corners. */
  box: [number, number, number, number] | null;
}

/** Label boxes moved down until none overlaps one placed before it: tops for labels at (x, y) (their left edge
 * and vertical middle) `widths` wide and `height` tall. */
export function spreadLabels(xs: number[], ys: number[], widths: number[], height: number): number[] {
  const tops: number[] = [];
  const order = ys.map((_, i) => i).sort((a, b) => (ys[a] as number) - (ys[b] as number));
  const placed: number[] = [];
  for (const i of order) {
    const x = xs[i] as number;
    const w = widths[i] as number;
    let top = (ys[i] as number) - height / 2;
    for (let moved = true, guard = 0; moved && guard < placed.length + 1; guard++) {
      moved = false;
      for (const j of placed) {
        const other = tops[j] as number;
        const overlapX = x < (xs[j] as number) + (widths[j] as number) && (xs[j] as number) < x + w;
        if (overlapX && top < other + height && other < top + height) {
          top = other + height;
          moved = true;
        }
      }
    }
    tops[i] = top;
    placed.push(i);
  }
  return tops;
}

export const EMPTY_SCENE: Scene = { hover: null, focus: null, lines: [], lasso: null, box: null };

export class Overlay {
  private readonly ctx: CanvasRenderingContext2D | null;
  private labels: HTMLElement[] = [];
  private shownLines: Line[] = [];

  constructor(
    readonly canvas: HTMLCanvasElement,
    readonly labelLayer: HTMLElement,
  ) {
    this.ctx = canvas.getContext("2d");
  }

  resize(width: number, height: number, dpr: number): void {
    sizeCanvas(this.canvas, width, height, dpr);
  }

  draw(view: View, scene: Scene, dpr: number, fg: RGB, accent: RGB): void {
    this.placeLabels(view, scene.lines);
    const ctx = this.ctx;
    if (!ctx) return;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const rgba = (c: RGB, a: number) => `rgba(${c[0]},${c[1]},${c[2]},${a})`;
    if (scene.focus && scene.lines.length) {
      const [fx, fy] = toScreen(view, scene.focus.x, scene.focus.y);
      ctx.strokeStyle = rgba(accent, 0.75);
      ctx.lineWidth = 1.25;
      ctx.beginPath();
      for (const line of scene.lines) {
        const [sx, sy] = toScreen(view, line.x, line.y);
        ctx.moveTo(fx, fy);
        ctx.lineTo(sx, sy);
      }
      ctx.stroke();
      ctx.fillStyle = rgba(accent, 0.9);
      for (const line of scene.lines) {
        const [sx, sy] = toScreen(view, line.x, line.y);
        ctx.beginPath();
        ctx.arc(sx, sy, 2.5, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
    const ring = (p: { x: number; y: number; r: number }, colour: string, width: number) => {
      const [sx, sy] = toScreen(view, p.x, p.y);
      ctx.strokeStyle = colour;
      ctx.lineWidth = width;
      ctx.beginPath();
      ctx.arc(sx, sy, p.r, 0, 2 * Math.PI);
      ctx.stroke();
    };
    if (scene.focus) ring(scene.focus, rgba(accent, 1), 2.5);
    if (scene.hover) ring(scene.hover, rgba(fg, 0.9), 1.5);
    if (scene.lasso && scene.lasso.length >= 4) {
      ctx.beginPath();
      ctx.moveTo(scene.lasso[0] as number, scene.lasso[1] as number);
      for (let i = 2; i + 1 < scene.lasso.length; i += 2)
        ctx.lineTo(scene.lasso[i] as number, scene.lasso[i + 1] as number);
      ctx.closePath();
      this.fillShape(ctx, accent);
    }
    if (scene.box) {
      const [x0, y0, x1, y1] = scene.box;
      ctx.beginPath();
      ctx.rect(Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0), Math.abs(y1 - y0));
      this.fillShape(ctx, accent);
    }
  }

  private fillShape(ctx: CanvasRenderingContext2D, accent: RGB): void {
    ctx.fillStyle = `rgba(${accent[0]},${accent[1]},${accent[2]},0.15)`;
    ctx.fill();
    ctx.setLineDash([5, 3]);
    ctx.strokeStyle = `rgb(${accent[0]},${accent[1]},${accent[2]})`;
    ctx.lineWidth = 1.5;
    ctx.stroke();
    ctx.setLineDash([]);
  }

  /** One label element a line (made when the lines change), moved to the line's far end. */
  private placeLabels(view: View, lines: Line[]): void {
    if (lines !== this.shownLines) {
      for (const label of this.labels) label.remove();
      this.labels = lines.map((line) => h("div", { class: "ll-map-line-label" }, line.label));
      this.labelLayer.append(...this.labels);
      this.shownLines = lines;
    }
    const xs: number[] = [];
    const ys: number[] = [];
    for (const line of lines) {
      const [sx, sy] = toScreen(view, line.x, line.y);
      xs.push(sx + LABEL_GAP);
      ys.push(sy);
    }
    const tops = spreadLabels(
      xs,
      ys,
      lines.map((line) => line.label.length * 6.5 + 8),
      LABEL_HEIGHT,
    );
    for (const [i, label] of this.labels.entries()) {
      label.style.left = `${(xs[i] as number).toFixed(1)}px`;
      label.style.top = `${(tops[i] as number).toFixed(1)}px`;
    }
  }
}

// What both scatter renderers (WebGL2, and Canvas 2D where WebGL2 is missing) offer the widget.
import { MATCH, SELECTED, type Span } from "./state";
import type { View } from "./view";

export type RGB = [number, number, number];

export interface DrawOptions {
  /** A selection exists: unselected points are dimmed, selected ones drawn on top. */
  selection: boolean;
  /** A search is set: matches get a ring and are drawn on top of the others, which are dimmed. */
  search: boolean;
  /** The ring colour of search matches (the theme's text colour, for contrast with any palette). */
  ring: RGB;
}

export interface Renderer {
  readonly kind: "webgl2" | "canvas2d";
  readonly canvas: HTMLCanvasElement;
  /** New points (x, y interleaved); colours, sizes and state are reset until set again. */
  setPoints(xy: Float32Array): void;
  /** One colour code a point, or null: every point grey. */
  setColors(codes: Uint8Array | null): void;
  /** One size byte a point (2 + v / 255 * 8 CSS px), or null: every point `uniform` CSS px. */
  setSizes(sizes: Uint8Array | null, uniform: number): void;
  /** 256 RGBA entries, indexed by colour code. */
  setPalette(rgba: Uint8Array): void;
  /** The state bytes (SELECTED, MATCH), of which rows span[0] .. span[1] - 1 changed. */
  setState(state: Uint8Array, span: Span): void;
  resize(width: number, height: number, dpr: number): void;
  draw(view: View, options: DrawOptions): void;
  destroy(): void;
}

/** Draw layers, back to front. */
export const DIMMED = 0;
export const NORMAL = 1;
export const MATCHED = 2;
export const CHOSEN = 3;

/** The layer a point is drawn in (the GLSL of the WebGL renderer follows the same rule). */
export function layerOf(state: number, options: Pick<DrawOptions, "selection" | "search">): number {
  const selected = (state & SELECTED) !== 0;
  const match = (state & MATCH) !== 0;
  if (options.selection && selected) return CHOSEN;
  if (options.search && match) return MATCHED;
  if ((options.selection && !selected) || options.search) return DIMMED;
  return NORMAL;
}

/** Opacity of a point by the number of points: dense maps need lighter points to show density. */
export function baseAlpha(n: number): number {
  return n > 200_000 ? 0.55 : n > 20_000 ? 0.7 : 0.85;
}

export const DIM_ALPHA = 0.2;

/** Give `canvas` a backing store of `width` x `height` CSS pixels at `dpr` device pixels each (1 at least). */
export function sizeCanvas(canvas: HTMLCanvasElement, width: number, height: number, dpr: number): void {
  const w = Math.max(1, Math.round(width * dpr));
  const h = Math.max(1, Math.round(height * dpr));
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
}

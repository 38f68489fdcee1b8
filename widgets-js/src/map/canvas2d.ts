// The Canvas 2D scatter renderer, for browsers without WebGL2: the same API, slower (every pan redraws every point
// on the CPU), drawn in layers so that selected points and search matches stay on top.
import { sizeOf } from "./data";
import {
  baseAlpha,
  CHOSEN,
  DIM_ALPHA,
  type DrawOptions,
  layerOf,
  MATCHED,
  type Renderer,
  sizeCanvas,
} from "./renderer";
import type { Span } from "./state";
import type { View } from "./view";

export class CanvasRenderer implements Renderer {
  readonly kind = "canvas2d";
  private readonly ctx: CanvasRenderingContext2D;
  private n = 0;
  private xy: Float32Array = new Float32Array(0);
  private codes: Uint8Array | null = null;
  private sizes: Uint8Array | null = null;
  private uniformSize = 4;
  private state: Uint8Array = new Uint8Array(0);
  private fills: string[] = [];
  private dpr = 1;

  constructor(readonly canvas: HTMLCanvasElement) {
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("llmlens: no canvas to draw on");
    this.ctx = ctx;
    this.setPalette(new Uint8Array(1024));
  }

  setPoints(xy: Float32Array): void {
    this.xy = xy;
    this.n = xy.length >> 1;
    this.codes = null;
    this.sizes = null;
    this.state = new Uint8Array(this.n);
  }

  setColors(codes: Uint8Array | null): void {
    this.codes = codes && codes.length === this.n ? codes : null;
  }

  setSizes(sizes: Uint8Array | null, uniform: number): void {
    this.sizes = sizes && sizes.length === this.n ? sizes : null;
    this.uniformSize = uniform;
  }

  setPalette(rgba: Uint8Array): void {
    this.fills = Array.from({ length: 256 }, (_, c) => `rgb(${rgba[4 * c]},${rgba[4 * c + 1]},${rgba[4 * c + 2]})`);
  }

  setState(state: Uint8Array, _span: Span): void {
    if (state.length === this.n) this.state = state;
  }

  resize(width: number, height: number, dpr: number): void {
    this.dpr = dpr;
    sizeCanvas(this.canvas, width, height, dpr);
  }

  draw(view: View, options: DrawOptions): void {
    const { ctx, dpr } = this;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    if (!this.n || view.width <= 0 || view.height <= 0) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const layers = options.selection || options.search ? [0, 1, 2, 3] : [1];
    const [ringR, ringG, ringB] = options.ring;
    const grey = "rgb(158,158,158)";
    const halfW = view.width / 2;
    const halfH = view.height / 2;
    for (const layer of layers) {
      ctx.globalAlpha = layer === 0 ? DIM_ALPHA : layer >= MATCHED ? 1 : baseAlpha(this.n);
      let fill = "";
      for (let i = 0; i < this.n; i++) {
        if (layers.length > 1 && layerOf(this.state[i] ?? 0, options) !== layer) continue;
        const sx = halfW + ((this.xy[2 * i] as number) - view.cx) * view.scale;
        const sy = halfH - ((this.xy[2 * i + 1] as number) - view.cy) * view.scale;
        let size = this.sizes ? sizeOf(this.sizes[i] as number) : this.uniformSize;
        if (layer === CHOSEN) size += 1;
        if (layer === MATCHED) size += 4;
        if (sx < -size || sy < -size || sx > view.width + size || sy > view.height + size || Number.isNaN(sx + sy))
          continue;
        const next = this.codes ? (this.fills[this.codes[i] as number] as string) : grey;
        if (next !== fill) ctx.fillStyle = fill = next;
        if (layer === MATCHED) {
          ctx.beginPath();
          ctx.arc(sx, sy, size / 2, 0, 2 * Math.PI);
          ctx.fill();
          ctx.strokeStyle = `rgb(${ringR},${ringG},${ringB})`;
          ctx.lineWidth = 1.5;
          ctx.stroke();
        } else ctx.fillRect(sx - size / 2, sy - size / 2, size, size);
      }
    }
    ctx.globalAlpha = 1;
  }

  destroy(): void {}
}

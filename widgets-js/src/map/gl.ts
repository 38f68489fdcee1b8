// The WebGL2 scatter renderer: one gl.POINTS draw of every point. Positions, colour codes, sizes and state live in
// GPU buffers; pan and zoom change only uniforms; the palette is a 256 x 1 texture read with texelFetch.
import { baseAlpha, DIM_ALPHA, type DrawOptions, type Renderer, sizeCanvas } from "./renderer";
import type { Span } from "./state";
import type { View } from "./view";

const VERTEX = `#version 300 es
layout(location = 0) in vec2 a_xy;
layout(location = 1) in uint a_code;
layout(location = 2) in float a_size;
layout(location = 3) in uint a_state;
uniform vec2 u_center;
uniform vec2 u_scale;
uniform float u_dpr;
uniform float u_uniform_size;
uniform float u_max_size;
uniform int u_flags;
uniform int u_plain;
uniform float u_alpha;
uniform float u_dim;
uniform sampler2D u_palette;
out vec4 v_color;
out float v_ring;
out float v_size;
void main() {
  bool selection = (u_flags & 1) != 0;
  bool search = (u_flags & 2) != 0;
  bool selected = (a_state & 1u) != 0u;
  bool match = (a_state & 2u) != 0u;
  float size = u_uniform_size > 0.0 ? u_uniform_size : 2.0 + a_size * 8.0;
  float depth = 0.5;
  float alpha = u_alpha;
  v_ring = 0.0;
  if (selection && selected) { depth = 0.0; alpha = 1.0; size += 1.0; }
  else if (search && match) { depth = 0.25; alpha = 1.0; size += 4.0; v_ring = 1.0; }
  else if (selection || search) { depth = 0.75; alpha = u_dim; }
  vec3 rgb = u_plain != 0 ? vec3(0.62) : texelFetch(u_palette, ivec2(int(a_code), 0), 0).rgb;
  v_color = vec4(rgb * alpha, alpha);
  v_size = min(size * u_dpr, u_max_size);
  gl_PointSize = v_size;
  gl_Position = vec4((a_xy - u_center) * u_scale, depth, 1.0);
}`;

const FRAGMENT = `#version 300 es
precision mediump float;
in vec4 v_color;
in float v_ring;
in float v_size;
uniform vec3 u_ring;
out vec4 color;
void main() {
  if (v_size < 3.0) { color = v_color; return; }
  vec2 d = gl_PointCoord * 2.0 - 1.0;
  float r = length(d);
  if (r > 1.0) discard;
  if (v_ring > 0.5 && r > 1.0 - 3.0 / v_size) { color = vec4(u_ring, 1.0); return; }
  color = v_color;
}`;

interface Resources {
  program: WebGLProgram;
  vao: WebGLVertexArrayObject;
  xy: WebGLBuffer;
  code: WebGLBuffer;
  size: WebGLBuffer;
  state: WebGLBuffer;
  palette: WebGLTexture;
  uniforms: Record<string, WebGLUniformLocation | null>;
  maxSize: number;
}

const UNIFORMS = [
  "u_center",
  "u_scale",
  "u_dpr",
  "u_uniform_size",
  "u_max_size",
  "u_flags",
  "u_plain",
  "u_alpha",
  "u_dim",
  "u_palette",
  "u_ring",
];

function compile(gl: WebGL2RenderingContext, type: number, source: string): WebGLShader {
  const shader = gl.createShader(type);
  if (!shader) throw new Error("llmlens: no WebGL shader");
  gl.shaderSource(shader, source);
  gl.compileShader(shader);
  if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS) && !gl.isContextLost())
    throw new Error(`llmlens: shader: ${gl.getShaderInfoLog(shader)}`);
  return shader;
}

function link(gl: WebGL2RenderingContext): WebGLProgram {
  const program = gl.createProgram();
  if (!program) throw new Error("llmlens: no WebGL program");
  gl.attachShader(program, compile(gl, gl.VERTEX_SHADER, VERTEX));
  gl.attachShader(program, compile(gl, gl.FRAGMENT_SHADER, FRAGMENT));
  gl.linkProgram(program);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS) && !gl.isContextLost())
    throw new Error(`llmlens: program: ${gl.getProgramInfoLog(program)}`);
  return program;
}

export class GLRenderer implements Renderer {
  readonly kind = "webgl2";
  private gl: WebGL2RenderingContext;
  private res: Resources | null = null;
  private n = 0;
  private xy: Float32Array = new Float32Array(0);
  private codes: Uint8Array | null = null;
  private sizes: Uint8Array | null = null;
  private uniformSize = 4;
  private state: Uint8Array = new Uint8Array(0);
  private palette: Uint8Array = new Uint8Array(1024);
  private dpr = 1;
  private lost = false;
  private readonly onLost = (event: Event) => {
    event.preventDefault(); // ask for it back
    this.lost = true;
    this.res = null;
  };
  private readonly onRestored = () => {
    this.lost = false;
    this.init();
    this.restored?.();
  };

  /** A renderer on `canvas`; throws when WebGL2 is not available there. `restored` is called when the GPU gave a
   * lost context back (the caller redraws). */
  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly restored?: () => void,
  ) {
    const gl = canvas.getContext("webgl2", {
      antialias: false,
      alpha: true,
      premultipliedAlpha: true,
      depth: true,
      preserveDrawingBuffer: true,
    });
    if (!gl) throw new Error("llmlens: WebGL2 is not available");
    this.gl = gl;
    canvas.addEventListener("webglcontextlost", this.onLost);
    canvas.addEventListener("webglcontextrestored", this.onRestored);
    this.init();
  }

  private init(): void {
    const gl = this.gl;
    const program = link(gl);
    const vao = gl.createVertexArray();
    const buffers = [gl.createBuffer(), gl.createBuffer(), gl.createBuffer(), gl.createBuffer()];
    const palette = gl.createTexture();
    if (!vao || !palette || buffers.some((b) => !b)) throw new Error("llmlens: WebGL resources");
    const [xy, code, size, state] = buffers as WebGLBuffer[];
    const uniforms: Record<string, WebGLUniformLocation | null> = {};
    for (const name of UNIFORMS) uniforms[name] = gl.getUniformLocation(program, name);
    const range = gl.getParameter(gl.ALIASED_POINT_SIZE_RANGE) as Float32Array | null;
    this.res = {
      program,
      vao,
      xy: xy as WebGLBuffer,
      code: code as WebGLBuffer,
      size: size as WebGLBuffer,
      state: state as WebGLBuffer,
      palette,
      uniforms,
      maxSize: range?.[1] ?? 64,
    };
    gl.bindVertexArray(vao);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.res.xy);
    gl.enableVertexAttribArray(0);
    gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.res.code);
    gl.enableVertexAttribArray(1);
    gl.vertexAttribIPointer(1, 1, gl.UNSIGNED_BYTE, 0, 0);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.res.size);
    gl.enableVertexAttribArray(2);
    gl.vertexAttribPointer(2, 1, gl.UNSIGNED_BYTE, true, 0, 0);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.res.state);
    gl.enableVertexAttribArray(3);
    gl.vertexAttribIPointer(3, 1, gl.UNSIGNED_BYTE, 0, 0);
    gl.bindVertexArray(null);
    gl.bindTexture(gl.TEXTURE_2D, palette);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    this.uploadAll();
  }

  private upload(buffer: WebGLBuffer, data: ArrayBufferView, usage: number): void {
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
    gl.bufferData(gl.ARRAY_BUFFER, data, usage);
  }

  private uploadAll(): void {
    const res = this.res;
    if (!res) return;
    const gl = this.gl;
    this.upload(res.xy, this.xy, gl.STATIC_DRAW);
    this.upload(res.code, this.codes ?? new Uint8Array(this.n), gl.STATIC_DRAW);
    this.upload(res.size, this.sizes ?? new Uint8Array(this.n), gl.STATIC_DRAW);
    this.upload(res.state, this.state, gl.DYNAMIC_DRAW);
    gl.bindTexture(gl.TEXTURE_2D, res.palette);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, 256, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, this.palette);
  }

  setPoints(xy: Float32Array): void {
    this.xy = xy;
    this.n = xy.length >> 1;
    this.codes = null;
    this.sizes = null;
    this.state = new Uint8Array(this.n);
    this.uploadAll();
  }

  setColors(codes: Uint8Array | null): void {
    this.codes = codes && codes.length === this.n ? codes : null;
    if (this.res) this.upload(this.res.code, this.codes ?? new Uint8Array(this.n), this.gl.STATIC_DRAW);
  }

  setSizes(sizes: Uint8Array | null, uniform: number): void {
    this.sizes = sizes && sizes.length === this.n ? sizes : null;
    this.uniformSize = uniform;
    if (this.res) this.upload(this.res.size, this.sizes ?? new Uint8Array(this.n), this.gl.STATIC_DRAW);
  }

  setPalette(rgba: Uint8Array): void {
    this.palette = rgba;
    const res = this.res;
    if (!res) return;
    const gl = this.gl;
    gl.bindTexture(gl.TEXTURE_2D, res.palette);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, 256, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, rgba);
  }

  setState(state: Uint8Array, [from, to]: Span): void {
    const res = this.res;
    if (state.length !== this.n) return;
    if (state !== this.state) {
      this.state = state;
      if (res) this.upload(res.state, state, this.gl.DYNAMIC_DRAW);
      return;
    }
    if (!res || from >= to) return;
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, res.state);
    gl.bufferSubData(gl.ARRAY_BUFFER, from, state, from, to - from);
  }

  resize(width: number, height: number, dpr: number): void {
    this.dpr = dpr;
    sizeCanvas(this.canvas, width, height, dpr);
  }

  draw(view: View, options: DrawOptions): void {
    const res = this.res;
    if (!res || this.lost) return;
    const gl = this.gl;
    const u = res.uniforms;
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.clearColor(0, 0, 0, 0);
    gl.clearDepth(1);
    gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
    if (!this.n || view.width <= 0 || view.height <= 0) return;
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    gl.enable(gl.DEPTH_TEST);
    gl.depthFunc(gl.LEQUAL);
    gl.useProgram(res.program);
    gl.uniform2f(u.u_center ?? null, view.cx, view.cy);
    gl.uniform2f(u.u_scale ?? null, (2 * view.scale) / view.width, (2 * view.scale) / view.height);
    gl.uniform1f(u.u_dpr ?? null, this.dpr);
    gl.uniform1f(u.u_uniform_size ?? null, this.sizes ? 0 : this.uniformSize);
    gl.uniform1f(u.u_max_size ?? null, res.maxSize);
    gl.uniform1i(u.u_flags ?? null, (options.selection ? 1 : 0) | (options.search ? 2 : 0));
    gl.uniform1i(u.u_plain ?? null, this.codes ? 0 : 1);
    gl.uniform1f(u.u_alpha ?? null, baseAlpha(this.n));
    gl.uniform1f(u.u_dim ?? null, DIM_ALPHA);
    gl.uniform3f(u.u_ring ?? null, options.ring[0] / 255, options.ring[1] / 255, options.ring[2] / 255);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, res.palette);
    gl.uniform1i(u.u_palette ?? null, 0);
    gl.bindVertexArray(res.vao);
    gl.drawArrays(gl.POINTS, 0, this.n);
    gl.bindVertexArray(null);
  }

  destroy(): void {
    this.canvas.removeEventListener("webglcontextlost", this.onLost);
    this.canvas.removeEventListener("webglcontextrestored", this.onRestored);
    const res = this.res;
    this.res = null;
    if (!res || this.lost) return;
    const gl = this.gl;
    for (const buffer of [res.xy, res.code, res.size, res.state]) gl.deleteBuffer(buffer);
    gl.deleteTexture(res.palette);
    gl.deleteVertexArray(res.vao);
    gl.deleteProgram(res.program);
    // free the context now rather than when collected: browsers allow only a few at once
    gl.getExtension("WEBGL_lose_context")?.loseContext();
  }
}

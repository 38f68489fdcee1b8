// The widget's traits, decoded: the points (Arrow), the per-point bytes (raw uint8 / int32), the legend's palette.
import { column, decodeArrow } from "../lib/arrow";

export interface LegendEntry {
  code: number;
  label: string;
  color: string;
  count: number;
}

export interface Status {
  layout: string;
  progress: number | null;
  message: string;
}

export interface Gap {
  point: number;
  text: string;
  similarity: number;
  /** The gap's group (-1 for a lone query), its size and its distinctive words. */
  gap?: number;
  gap_size?: number;
  terms?: string[];
}

/** How the clusters' share of the queries moved between two windows of time (earlier, later). */
export interface Drift {
  windows: string[];
  clusters: Array<{ code: number; n_a: number; n_b: number; share_change: number | null; terms: string[] }>;
}

export interface Cluster {
  code: number;
  size: number;
  terms: string[];
  failure_rate: number | null;
}

export interface Diagnostics {
  gaps: Gap[];
  dead: { count: number };
  clusters: Cluster[];
  drift: Drift | null;
  computing: boolean;
}

type Bytes = DataView | ArrayBuffer | Uint8Array | null | undefined;

export interface Model {
  title: string;
  _points: Bytes;
  _colors: Bytes;
  _legend: LegendEntry[];
  color_by: string;
  _color_options: string[];
  _sizes: Bytes;
  size_by: string;
  _size_options: string[];
  _selection: Bytes;
  search: string;
  _matches: Bytes;
  focus: number;
  _status: Partial<Status> | null;
  _diagnostics: Partial<Diagnostics> | null;
  _roles: Bytes;
  _clusters: Bytes;
  _texts: Bytes;
  _links: Bytes;
  /** An exported page only: every colouring, so colour-by works without a kernel. */
  _color_sets?: Record<string, { legend?: unknown; codes_b64?: string }> | null;
}

/** The bytes of a binary trait (a view, no copy); empty when there are none. */
export function bytesOf(value: Bytes): Uint8Array {
  if (!value) return new Uint8Array(0);
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return new Uint8Array(0);
}

/** The little-endian int32 values of a binary trait (any alignment); a trailing partial value is ignored. */
export function int32sOf(value: Bytes): Int32Array {
  const bytes = bytesOf(value);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Int32Array(bytes.byteLength >> 2);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt32(4 * i, true);
  return out;
}

/** `values` as the DataView a binary trait is set to (little-endian int32, as numpy writes them). */
export function int32View(values: ArrayLike<number>): DataView {
  const view = new DataView(new ArrayBuffer(values.length * 4));
  for (let i = 0; i < values.length; i++) view.setInt32(4 * i, values[i] as number, true);
  return view;
}

/** One byte per point, or null when the trait is empty or does not have one byte for each of the `n` points. */
export function perPoint(value: Bytes, n: number): Uint8Array | null {
  const bytes = bytesOf(value);
  return bytes.length === n && n > 0 ? bytes : null;
}

export interface Points {
  n: number;
  /** x, y interleaved, one pair per row of `_points`. */
  xy: Float32Array;
  /** The point number of each row. */
  point: Int32Array;
  /** The row of each point number (-1: none). */
  rowOf: Int32Array;
}

export const NO_POINTS: Points = {
  n: 0,
  xy: new Float32Array(0),
  point: new Int32Array(0),
  rowOf: new Int32Array(0),
};

/** The `_points` table (columns x, y float32 and point int32); without a `point` column row i is point i. */
export function decodePoints(value: Bytes): Points {
  const table = decodeArrow(value ?? null);
  if (!table || table.numRows === 0) return NO_POINTS;
  const n = table.numRows;
  const x = column<number>(table, "x");
  const y = column<number>(table, "y");
  const xy = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    xy[2 * i] = x[i] ?? Number.NaN;
    xy[2 * i + 1] = y[i] ?? Number.NaN;
  }
  const numbers = table.getChild("point") ? column<number>(table, "point") : null;
  const point = new Int32Array(n);
  let max = -1;
  for (let i = 0; i < n; i++) {
    const p = numbers ? (numbers[i] ?? -1) : i;
    point[i] = p;
    if (p > max) max = p;
  }
  const rowOf = new Int32Array(max + 1).fill(-1);
  for (let i = 0; i < n; i++) if ((point[i] as number) >= 0) rowOf[point[i] as number] = i;
  return { n, xy, point, rowOf };
}

/** The rows of the given point numbers (unknown numbers are dropped). */
export function rowsOf(points: Points, numbers: ArrayLike<number>): Int32Array {
  const out = new Int32Array(numbers.length);
  let count = 0;
  for (let i = 0; i < numbers.length; i++) {
    const row = points.rowOf[numbers[i] as number];
    if (row !== undefined && row >= 0) out[count++] = row;
  }
  return out.slice(0, count);
}

/** The point numbers of the given rows, ascending and without repeats. */
export function numbersOf(points: Points, rows: ArrayLike<number>): Int32Array {
  const out = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = points.point[rows[i] as number] ?? -1;
  out.sort();
  let count = 0;
  for (let i = 0; i < out.length; i++) {
    const p = out[i] as number;
    if (p >= 0 && (count === 0 || out[count - 1] !== p)) out[count++] = p;
  }
  return out.slice(0, count);
}

/** The rows whose byte in `codes` is `code`. */
export function rowsWithCode(codes: Uint8Array | null, code: number): Int32Array {
  if (!codes) return new Int32Array(0);
  let count = 0;
  for (let i = 0; i < codes.length; i++) if (codes[i] === code) count++;
  const out = new Int32Array(count);
  count = 0;
  for (let i = 0; i < codes.length; i++) if (codes[i] === code) out[count++] = i;
  return out;
}

/** The bytes of base64 `text`; empty when it is not base64. */
export function base64Bytes(text: unknown): Uint8Array {
  if (typeof text !== "string" || !text) return new Uint8Array(0);
  try {
    const raw = atob(text);
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  } catch {
    return new Uint8Array(0);
  }
}

export interface Coloring {
  codes: Uint8Array | null;
  legend: LegendEntry[];
}

/** The colouring `option` from an exported page's `_color_sets`, or null when the page has none for it (or it does
 * not have one code a point). */
export function colorSet(sets: Model["_color_sets"], option: string, n: number): Coloring | null {
  const set = sets && typeof sets === "object" ? sets[option] : undefined;
  if (!set || typeof set !== "object") return null;
  const codes = base64Bytes(set.codes_b64);
  return codes.length === n && n > 0 ? { codes, legend: legendEntries(set.legend) } : null;
}

export const GREY: [number, number, number] = [158, 158, 158];

/** "#rrggbb" or "#rgb" as [r, g, b], or null. */
export function parseColor(text: unknown): [number, number, number] | null {
  if (typeof text !== "string") return null;
  const long = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(text.trim());
  if (long) return [parseInt(long[1] as string, 16), parseInt(long[2] as string, 16), parseInt(long[3] as string, 16)];
  const short = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/i.exec(text.trim());
  if (short) return [1, 2, 3].map((k) => parseInt((short[k] as string).repeat(2), 16)) as [number, number, number];
  return null;
}

/** The legend's entries that are well formed (code an integer 0..255), in order. */
export function legendEntries(legend: unknown): LegendEntry[] {
  if (!Array.isArray(legend)) return [];
  const out: LegendEntry[] = [];
  for (const item of legend) {
    if (!item || typeof item !== "object") continue;
    const { code, label, color, count } = item as Partial<LegendEntry>;
    if (typeof code !== "number" || !Number.isInteger(code) || code < 0 || code > 255) continue;
    out.push({
      code,
      label: typeof label === "string" ? label : String(label ?? code),
      color: typeof color === "string" ? color : "",
      count: typeof count === "number" ? count : 0,
    });
  }
  return out;
}

/** The 256-entry RGBA palette (4 bytes a code) of the legend; codes not in it (or with a bad colour) are grey. */
export function palette(legend: LegendEntry[]): Uint8Array {
  const out = new Uint8Array(256 * 4);
  for (let code = 0; code < 256; code++) out.set([...GREY, 255], code * 4);
  for (const entry of legend) {
    const rgb = parseColor(entry.color);
    if (rgb) out.set([...rgb, 255], entry.code * 4);
  }
  return out;
}

/** A point's size in CSS pixels from its `_sizes` byte. */
export function sizeOf(value: number): number {
  return 2 + (value / 255) * 8;
}

/** The size of every point when `_sizes` is empty: smaller as there are more points. */
export function defaultSize(n: number): number {
  if (n <= 5_000) return 6;
  if (n <= 50_000) return 4;
  if (n <= 300_000) return 3;
  return 2;
}

export const ROLES = ["query", "retrieved chunk", "never-retrieved chunk"];

/** A role code (or the kernel's role text) as words. */
export function roleName(role: unknown): string {
  if (typeof role === "number") return ROLES[role] ?? `role ${role}`;
  return typeof role === "string" ? role : "";
}

/** The status trait with its defaults. */
export function statusOf(value: Partial<Status> | null | undefined): Status {
  const progress = value?.progress;
  return {
    layout: typeof value?.layout === "string" ? value.layout : "",
    progress: typeof progress === "number" && Number.isFinite(progress) ? Math.min(1, Math.max(0, progress)) : null,
    message: typeof value?.message === "string" ? value.message : "",
  };
}

/** The diagnostics trait with its defaults. */
export function diagnosticsOf(value: Partial<Diagnostics> | null | undefined): Diagnostics {
  return {
    gaps: Array.isArray(value?.gaps) ? value.gaps : [],
    dead: { count: typeof value?.dead?.count === "number" ? value.dead.count : 0 },
    clusters: Array.isArray(value?.clusters) ? value.clusters : [],
    drift: value?.drift && Array.isArray(value.drift.clusters) ? value.drift : null,
    computing: Boolean(value?.computing),
  };
}

/** A count with thousands separators: 1,234. */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** "1,234 selected of 100,000", or "100,000 points" while nothing is selected. */
export function countsLine(selected: number, total: number): string {
  return selected > 0
    ? `${formatCount(selected)} selected of ${formatCount(total)}`
    : `${formatCount(total)} point${total === 1 ? "" : "s"}`;
}

/** A retrieval line's label: "0.83 · #1" (rank is 0-based); "#1" when the score is not known. */
export function lineLabel(score: number, rank: number): string {
  return Number.isFinite(score) ? `${score.toFixed(2)} · #${rank + 1}` : `#${rank + 1}`;
}

/** `text` cut to `max` characters, with an ellipsis when cut. */
export function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A computed CSS colour "rgb(r, g, b)" / "rgba(r, g, b, a)" as [r, g, b], or `fallback`. */
export function parseRgb(text: string, fallback: [number, number, number]): [number, number, number] {
  const match = /rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/.exec(text);
  if (!match) return fallback;
  return [Number(match[1]), Number(match[2]), Number(match[3])].map((v) => Math.round(Math.min(255, v))) as [
    number,
    number,
    number,
  ];
}

// The spans of one trace, decoded once from the `_spans` Arrow IPC trait into flat typed arrays (tree order), and
// the shapes of the trace summary and of a span's detail.
import { decodeArrow, type Table } from "../../lib/arrow";

/** The `_trace_meta` trait: the trace's summary. */
export interface TraceMeta {
  trace_id?: string;
  root_name?: string | null;
  start_time?: string | null;
  duration_ms?: number | null;
  n_spans?: number;
  n_errors?: number | null;
  input_tokens?: number | null;
  output_tokens?: number | null;
  cost_usd?: number | null;
  session_id?: string | null;
  user_id?: string | null;
  truncated?: boolean;
  shown?: number;
}

/** A string (or list) the kernel cut to a preview; the full value is asked for with `attribute_value`. */
export interface Cut {
  __cut__: true;
  preview: string;
  length: number;
}

export type Text = string | Cut | null;

export interface ToolCall {
  id: string | null;
  name: string | null;
  arguments: Text;
}

export interface Message {
  side: string;
  position: number;
  role: string | null;
  name: string | null;
  content: Text;
  finish_reason: string | null;
  tool_calls: ToolCall[];
}

export interface Document {
  position: number;
  document_id: string | null;
  content: Text;
  score: number | null;
  metadata: unknown;
}

export interface SpanEvent {
  name: string | null;
  time: string | null;
  attributes: unknown;
}

export interface TokenSummary {
  title?: string;
  note?: string;
  count?: number;
  alternative_count?: number;
  messages?: Array<{ side: string; position?: number; role: string | null; content: string | null }>;
  tokens_b64?: string;
  alternatives_b64?: string;
}

/** What `span_detail` answers (and what `_details` holds per span in an exported page). */
export interface Detail {
  span_id: string;
  trace_id?: string;
  name?: string | null;
  kind?: string | null;
  status_code?: string | null;
  status_message?: string | null;
  model?: string | null;
  provider?: string | null;
  start_time?: string | null;
  duration_ms?: number | null;
  input_tokens?: number | null;
  output_tokens?: number | null;
  cost_usd?: number | null;
  agent?: string | null;
  input_text?: Text;
  output_text?: Text;
  messages?: Message[];
  documents?: Document[];
  attributes?: unknown;
  events?: SpanEvent[];
  cut?: string[];
  tokens?: TokenSummary | null;
}

/** A column of strings read one value at a time (an Arrow column decodes a value only when it is asked for, so the
 * 30,000 names of a trace cost nothing until their rows scroll into view). Arrays qualify too. */
export interface Strings {
  readonly length: number;
  at(index: number): string | null | undefined;
}

/** The spans of a trace in tree order, as columns: strings decoded on demand; numbers and flags typed arrays. */
export interface Spans {
  count: number;
  id: Strings;
  name: Strings;
  kind: Strings;
  status: Strings;
  model: Strings;
  agent: Strings;
  /** Row of the parent, -1 for a root. */
  parent: Int32Array;
  depth: Int32Array;
  /** Row just past the last descendant: the subtree of row i is [i, end[i]). */
  end: Int32Array;
  start: Float64Array;
  duration: Float64Array;
  tokens: Float64Array;
  cost: Float64Array;
  critical: Uint8Array;
  orphan: Uint8Array;
  hasTokens: Uint8Array;
  /** 1 where the span failed (status ERROR); worked out over every row on first use. */
  readonly error: Uint8Array;
}

/** The spans in the `_spans` trait, or null when there are none. */
export function decodeSpans(bytes: DataView | ArrayBuffer | Uint8Array | null | undefined): Spans | null {
  const table = decodeArrow(bytes);
  return table && table.numRows > 0 ? spansFromTable(table) : null;
}

/** The columns of a spans table (missing optional columns read as unknown). Numbers are read once, zero-copy
 * where Arrow allows; strings stay in their Arrow columns. */
export function spansFromTable(table: Table): Spans {
  const n = table.numRows;
  const get = (name: string) => table.getChild(name)?.toArray() as ArrayLike<unknown> | undefined;
  const none: Strings = { length: n, at: () => null };
  const strings = (name: string): Strings => (table.getChild(name) as Strings | null) ?? none;
  const depth = toInt32(get("depth"), n, 0);
  const endColumn = get("end");
  const status = strings("status");
  let error: Uint8Array | undefined;
  return {
    count: n,
    id: strings("span_id"),
    name: strings("name"),
    kind: strings("kind"),
    status,
    model: strings("model"),
    agent: strings("agent"),
    parent: toInt32(get("parent"), n, -1),
    depth,
    end: endColumn ? toInt32(endColumn, n, 0) : subtreeEnds(depth),
    start: toFloat64(get("start_ms"), n),
    duration: toFloat64(get("duration_ms"), n),
    tokens: toFloat64(get("tokens"), n),
    cost: toFloat64(get("cost_usd"), n),
    critical: toFlags(get("critical"), n),
    orphan: toFlags(get("orphan"), n),
    hasTokens: toFlags(get("has_tokens"), n),
    get error() {
      error ??= errorFlags(status, n);
      return error;
    },
  };
}

/** 1 where the status is ERROR. */
export function errorFlags(status: Strings, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (status.at(i) === "ERROR") out[i] = 1;
  return out;
}

/** An integer column as an Int32Array (nulls become `missing`); the Arrow data itself when it already is one. */
export function toInt32(values: ArrayLike<unknown> | undefined, n: number, missing: number): Int32Array {
  if (values instanceof Int32Array && values.length === n) return values;
  const out = new Int32Array(n).fill(missing);
  if (!values) return out;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v !== null && v !== undefined) out[i] = Number(v);
  }
  return out;
}

/** A number column as a Float64Array (nulls become NaN). */
export function toFloat64(values: ArrayLike<unknown> | undefined, n: number): Float64Array {
  if (values instanceof Float64Array && values.length === n) return values;
  const out = new Float64Array(n).fill(Number.NaN);
  if (!values) return out;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v !== null && v !== undefined) out[i] = Number(v);
  }
  return out;
}

/** A boolean column as 0/1 flags (null is 0). */
export function toFlags(values: ArrayLike<unknown> | undefined, n: number): Uint8Array {
  const out = new Uint8Array(n);
  if (!values) return out;
  for (let i = 0; i < n; i++) if (values[i]) out[i] = 1;
  return out;
}

/** The `end` of every row from the depths of rows in tree order (for data without an `end` column). */
export function subtreeEnds(depth: ArrayLike<number>): Int32Array {
  const n = depth.length;
  const end = new Int32Array(n).fill(n);
  const open: number[] = [];
  for (let i = 0; i < n; i++) {
    const d = depth[i] ?? 0;
    while (open.length && (depth[open[open.length - 1] as number] ?? 0) >= d) end[open.pop() as number] = i;
    open.push(i);
  }
  return end;
}

/** Row of each span id (first one wins when an id repeats). */
export function rowIndex(ids: Strings): Map<string, number> {
  const rows = new Map<string, number>();
  for (let i = 0; i < ids.length; i++) {
    const id = ids.at(i) ?? "";
    if (!rows.has(id)) rows.set(id, i);
  }
  return rows;
}

/** The bytes of a base64 string (an exported page's tokens), as a DataView; null for none or bad input. */
export function base64View(text: string | null | undefined): DataView | null {
  if (!text) return null;
  try {
    const raw = atob(text);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return new DataView(bytes.buffer);
  } catch {
    return null;
  }
}

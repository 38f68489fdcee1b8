// How the trace view reads and writes values: cut markers, the entries of an attribute object, kinds and their
// badges, numbers for people. Pure functions, unit-tested.
import type { Cut } from "./data";

/** A path into a span's detail, as `attribute_value` takes it: ["attributes", "llm.model_name"],
 * ["messages", 3, "content"], ["input_text"]. */
export type Path = Array<string | number>;

/** Whether `value` is the marker the kernel puts in place of a cut string or list. */
export function isCut(value: unknown): value is Cut {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    (value as { __cut__?: unknown }).__cut__ === true
  );
}

/** What a text field shows: its text (the preview when cut), and the cut when there is one. */
export function textOf(value: unknown): { text: string; cut: Cut | null } {
  if (value === null || value === undefined) return { text: "", cut: null };
  if (isCut(value)) return { text: String(value.preview ?? ""), cut: value };
  return { text: typeof value === "string" ? value : JSON.stringify(value, null, 1), cut: null };
}

/** A note on a cut value: how long the whole is. */
export function cutNote(cut: Cut): string {
  const length = Number(cut.length);
  return Number.isFinite(length) ? `cut: ${length.toLocaleString("en-US")} long in full` : "cut";
}

/** Whether the attribute tree shows `value` as a node with children (objects and lists, not cut markers). */
export function isBranch(value: unknown): value is object {
  return typeof value === "object" && value !== null && !isCut(value);
}

/** The children of an object or list, in order, as [key, value]. */
export function entriesOf(value: unknown): Array<[string | number, unknown]> {
  if (Array.isArray(value)) return value.map((item, i) => [i, item]);
  if (isBranch(value)) return Object.entries(value);
  return [];
}

/** A short description of a branch: "{3 keys}", "[10 items]". */
export function branchSummary(value: unknown): string {
  if (Array.isArray(value)) return `[${value.length} item${value.length === 1 ? "" : "s"}]`;
  const n = isBranch(value) ? Object.keys(value).length : 0;
  return `{${n} key${n === 1 ? "" : "s"}}`;
}

/** A leaf value as text: strings as they are, others as JSON (null, numbers, booleans). */
export function leafText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined) return "";
  return JSON.stringify(value) ?? String(value);
}

/** A path written for people: attributes › llm.model_name, messages[3].content. */
export function pathLabel(path: Path): string {
  let out = "";
  for (const step of path) out += typeof step === "number" ? `[${step}]` : out ? `.${step}` : step;
  return out;
}

/** Tool-call arguments laid out as indented JSON when they parse as JSON object or list, else as they are. */
export function prettyJson(text: string): string {
  const trimmed = text.trim();
  if (!(trimmed.startsWith("{") || trimmed.startsWith("["))) return text;
  try {
    return JSON.stringify(JSON.parse(trimmed), null, 2);
  } catch {
    return text;
  }
}

/** The next page of a list of `total` entries of which `shown` are shown, `page` at a time: [from, to). */
export function nextPage(shown: number, total: number, page: number): [number, number] {
  const from = Math.max(0, Math.min(shown, total));
  return [from, Math.min(total, from + Math.max(1, page))];
}

const KINDS: Record<string, string> = {
  LLM: "LLM",
  CHAIN: "CHN",
  RETRIEVER: "RET",
  EMBEDDING: "EMB",
  RERANKER: "RRK",
  TOOL: "TOL",
  AGENT: "AGT",
  GUARDRAIL: "GRD",
  EVALUATOR: "EVL",
  PROMPT: "PRM",
  HANDOFF: "HND",
  UNKNOWN: "?",
};

/** A kind's badge: a short label and a class (a kind outside the known ones gets "other"). */
export function kindBadge(kind: string | null | undefined): { label: string; cls: string } {
  const key = (kind ?? "UNKNOWN").toUpperCase();
  const label = KINDS[key];
  if (label) return { label, cls: `ll-k-${key.toLowerCase()}` };
  return { label: key.slice(0, 3) || "?", cls: "ll-k-other" };
}

/** An integer count with thousands separators; "" when unknown. */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "";
  return Math.round(n).toLocaleString("en-US");
}

/** Dollars with enough digits to tell small costs apart; "" when unknown. */
export function formatUsd(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) return "";
  if (usd === 0) return "$0";
  if (Math.abs(usd) >= 1) return `$${usd.toFixed(2)}`;
  return `$${usd.toPrecision(2)}`;
}

/** A timestamp (ISO) as local `YYYY-MM-DD HH:MM:SS.mmm`; the text itself when it does not parse. */
export function formatTimestamp(iso: string | null | undefined): string {
  if (!iso) return "";
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return iso;
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
  );
}

/** One line: newlines and runs of blanks become single spaces (for a row's name). */
export function oneLine(text: string | null | undefined): string {
  return text ? text.replace(/\s+/g, " ").trim() : "";
}

// How the trace table shows each kind of value; pure functions, unit-tested.

export type ColumnKind = "time" | "text" | "ms" | "int" | "usd" | "status" | "labels" | "checks";

const pad = (n: number) => String(n).padStart(2, "0");

/** A timestamp (ms since the epoch) as local `YYYY-MM-DD HH:MM:SS`; "" when unknown. */
export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "";
  const d = new Date(ms);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** A duration in ms, short: 850 ms, 1.24 s, 3.5 min, 2.1 h. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** Dollars with enough digits to tell small costs apart. */
export function formatCost(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) return "";
  if (usd === 0) return "$0";
  if (Math.abs(usd) >= 1) return `$${usd.toFixed(2)}`;
  return `$${usd.toPrecision(2)}`;
}

/** An integer with thousands separators. */
export function formatInt(n: number | bigint | null | undefined): string {
  if (n === null || n === undefined) return "";
  const value = Number(n);
  return Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "";
}

/** Checks passed and failed, e.g. "✓3 ✗1"; "" when none ran. */
export function formatChecks(passed: number, failed: number): string {
  const parts = [];
  if (passed) parts.push(`✓${passed}`);
  if (failed) parts.push(`✗${failed}`);
  return parts.join(" ");
}

/** One line of text: newlines and runs of blanks become single spaces. */
export function oneLine(text: string | null | undefined): string {
  return text ? text.replace(/\s+/g, " ").trim() : "";
}

/** A cell's text for a value of the given kind. */
export function formatCell(kind: ColumnKind, value: unknown): string {
  switch (kind) {
    case "time":
      return formatTime(value as number);
    case "ms":
      return formatDuration(value as number);
    case "int":
      return formatInt(value as number);
    case "usd":
      return formatCost(value as number);
    case "labels":
      return Array.isArray(value) ? value.join(", ") : "";
    default:
      return oneLine(value === null || value === undefined ? "" : String(value));
  }
}

// The buckets and anomaly marks of every chart, read from the widget's binary traits.
import { column, decodeArrow } from "../lib/arrow";
import { type Segment, segments } from "./model";

export interface Model {
  title: string;
  metrics: string[];
  series: string[];
  x: string;
  smoothing: "none" | "ema" | "twema";
  weight: number;
  group_by: string;
  log_y: boolean;
  hidden: number[];
  zoom: number[];
  pixels: number;
  _buckets: DataView | null;
  _origin: number;
  _marks: DataView | null;
}

const EMPTY = new Float64Array(0);

/** Columns of the buckets table, and each chart's segments (one per series). */
export class Buckets {
  readonly x0: ArrayLike<number> = EMPTY;
  readonly x1: ArrayLike<number> = EMPTY;
  readonly low: ArrayLike<number> = EMPTY;
  readonly high: ArrayLike<number> = EMPTY;
  readonly last: ArrayLike<number> = EMPTY;
  readonly smooth: ArrayLike<number> = EMPTY;
  readonly nonFinite: ArrayLike<number> = EMPTY;
  readonly charts: Segment[][];
  readonly rows: number;

  constructor(bytes: DataView | null, charts: number, origin = 0) {
    const table = decodeArrow(bytes);
    this.rows = table ? table.numRows : 0;
    if (table) {
      this.x0 = shifted(column<number>(table, "x0"), origin);
      this.x1 = shifted(column<number>(table, "x1"), origin);
      this.low = column<number>(table, "low");
      this.high = column<number>(table, "high");
      this.last = column<number>(table, "last");
      this.smooth = table.getChild("smooth") ? column<number>(table, "smooth") : this.last;
      this.nonFinite = column<number>(table, "non_finite");
      this.charts = segments(column<number>(table, "chart"), column<number>(table, "run"), charts);
    } else this.charts = segments([], [], charts);
  }
}

/** x offsets (float32, from the origin) as absolute float64 values. */
export function shifted(offsets: ArrayLike<number>, origin: number): Float64Array {
  const out = new Float64Array(offsets.length);
  for (let i = 0; i < offsets.length; i++) out[i] = origin + (offsets[i] ?? 0);
  return out;
}

export interface Mark {
  chart: number;
  series: number;
  x: number;
  kind: string;
  detail: string;
}

/** The anomaly marks (few), as plain objects. */
export function marks(bytes: DataView | null): Mark[] {
  const table = decodeArrow(bytes);
  if (!table) return [];
  const chart = column<number>(table, "chart");
  const run = column<number>(table, "run");
  const x = column<number>(table, "x");
  const kind = column<string>(table, "kind");
  const detail = column<string>(table, "detail");
  return Array.from({ length: table.numRows }, (_, i) => ({
    chart: chart[i] ?? -1,
    series: run[i] ?? 0,
    x: x[i] ?? 0,
    kind: kind[i] ?? "",
    detail: detail[i] ?? "",
  }));
}

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
  readonly points: ArrayLike<number> = EMPTY;
  readonly nonFinite: ArrayLike<number> = EMPTY;
  readonly charts: Segment[][];
  readonly rows: number;

  constructor(bytes: DataView | null, charts: number) {
    const table = decodeArrow(bytes);
    this.rows = table ? table.numRows : 0;
    if (table) {
      this.x0 = column<number>(table, "x0");
      this.x1 = column<number>(table, "x1");
      this.low = column<number>(table, "low");
      this.high = column<number>(table, "high");
      this.last = column<number>(table, "last");
      this.smooth = column<number>(table, "smooth");
      this.points = column<number>(table, "points");
      this.nonFinite = column<number>(table, "non_finite");
      this.charts = segments(column<number>(table, "chart"), column<number>(table, "run"), charts);
    } else this.charts = segments([], [], charts);
  }
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

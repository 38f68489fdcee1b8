// What an exported page (no kernel) knows about the points: the cut texts (`_texts`), the roles (`_roles`) and the
// retrieval links (`_links`). From them it answers `point_info` and the search itself.
import { column, decodeArrow } from "../lib/arrow";
import type { Points } from "./data";

export interface Neighbour {
  point: number;
  score: number;
  rank: number;
}

/** The answer of the kernel's `point_info` command. */
export interface PointInfo {
  point: number;
  role: string | number | null;
  text: string;
  meta: Record<string, unknown>;
  neighbours: Neighbour[];
}

type Bytes = DataView | ArrayBuffer | Uint8Array | null | undefined;

/** Texts by row, each decoded when first asked for: a page may carry a million, and only hover cards and the
 * search read them (decoding them all up front held the first picture back by a second). */
export interface Texts {
  readonly length: number;
  at(row: number): string | null;
}

/** An array of texts as {@link Texts}. */
export function textsOf(array: ArrayLike<string | null>): Texts {
  return { length: array.length, at: (row) => array[row] ?? null };
}

/** The rows of `texts` containing `query` (case-insensitive); none for a blank query. `lower` caches the lowered
 * texts between searches. */
export function searchTexts(texts: Texts | ArrayLike<string | null>, query: string, lower?: string[]): Int32Array {
  const q = query.trim().toLowerCase();
  if (!q) return new Int32Array(0);
  const source =
    "at" in texts && typeof texts.at === "function" ? (texts as Texts) : textsOf(texts as ArrayLike<string | null>);
  const out: number[] = [];
  for (let i = 0; i < source.length; i++) {
    let text = lower?.[i];
    if (text === undefined) {
      text = (source.at(i) ?? "").toLowerCase();
      if (lower) lower[i] = text;
    }
    if (text.includes(q)) out.push(i);
  }
  return Int32Array.from(out);
}

/** Links grouped by point: for each point, the indices of the links it is either end of. */
interface Adjacency {
  starts: Int32Array;
  items: Int32Array;
}

function adjacency(src: ArrayLike<number>, dst: ArrayLike<number>, points: number): Adjacency {
  const starts = new Int32Array(points + 1);
  const bump = (p: number) => {
    if (p >= 0 && p < points) starts[p + 1] = (starts[p + 1] as number) + 1;
  };
  for (let k = 0; k < src.length; k++) {
    bump(src[k] as number);
    if (dst[k] !== src[k]) bump(dst[k] as number);
  }
  for (let p = 0; p < points; p++) starts[p + 1] = (starts[p + 1] as number) + (starts[p] as number);
  const items = new Int32Array(starts[points] as number);
  const next = starts.slice(0, points);
  const put = (p: number, k: number) => {
    if (p < 0 || p >= points) return;
    items[next[p] as number] = k;
    next[p] = (next[p] as number) + 1;
  };
  for (let k = 0; k < src.length; k++) {
    put(src[k] as number, k);
    if (dst[k] !== src[k]) put(dst[k] as number, k);
  }
  return { starts, items };
}

export class LocalData {
  private readonly texts: Texts;
  private readonly lower: string[] = [];
  private readonly src: ArrayLike<number> = [];
  private readonly dst: ArrayLike<number> = [];
  private readonly score: ArrayLike<number> = [];
  private readonly rank: ArrayLike<number> = [];
  private links: Adjacency | null = null;

  /** `roles` and the rows of `texts` follow the rows of `_points`; `_links` holds point numbers. */
  constructor(
    private readonly points: Points,
    texts: Bytes,
    private readonly roles: Uint8Array | null,
    links: Bytes,
  ) {
    const table = decodeArrow(texts ?? null);
    const text = table?.getChild("text");
    this.texts = text ? { length: text.length, at: (row) => (text.at(row) as string | null) ?? null } : textsOf([]);
    const linkTable = decodeArrow(links ?? null);
    if (linkTable) {
      this.src = column<number>(linkTable, "src");
      this.dst = column<number>(linkTable, "dst");
      this.score = column<number>(linkTable, "score");
      this.rank = column<number>(linkTable, "rank");
    }
  }

  /** Whether this page carries the data itself (an export): then it is the source of point info and search. */
  get exported(): boolean {
    return this.texts.length > 0 || this.src.length > 0;
  }

  /** The point numbers whose text contains `query` (case-insensitive), ascending. */
  search(query: string): Int32Array {
    const rows = searchTexts(this.texts, query, this.lower);
    const out = new Int32Array(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = this.points.point[rows[i] as number] ?? -1;
    return out.sort();
  }

  /** `point_info` as the kernel would answer it, from what the page holds (meta is empty). */
  info(point: number): PointInfo {
    const row = this.points.rowOf[point] ?? -1;
    const role = row >= 0 && this.roles ? (this.roles[row] ?? null) : null;
    const text = row >= 0 ? (this.texts.at(row) ?? "") : "";
    return { point, role, text, meta: {}, neighbours: this.neighbours(point) };
  }

  /** The other ends of the links at `point` (a query's chunks, a chunk's queries), by rank then score. */
  neighbours(point: number): Neighbour[] {
    if (!this.src.length) return [];
    if (!this.links) {
      let max = this.points.rowOf.length - 1;
      for (let k = 0; k < this.src.length; k++) max = Math.max(max, this.src[k] as number, this.dst[k] as number);
      this.links = adjacency(this.src, this.dst, max + 1);
    }
    const { starts, items } = this.links;
    if (point < 0 || point + 1 >= starts.length) return [];
    const out: Neighbour[] = [];
    for (let j = starts[point] as number; j < (starts[point + 1] as number); j++) {
      const k = items[j] as number;
      const other = this.src[k] === point ? (this.dst[k] as number) : (this.src[k] as number);
      out.push({ point: other, score: this.score[k] ?? Number.NaN, rank: this.rank[k] ?? 0 });
    }
    return out.sort((a, b) => a.rank - b.rank || b.score - a.score);
  }
}

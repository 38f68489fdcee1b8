// Where a point's info comes from: the kernel's `point_info` command (answers cached), or, in an exported page,
// the page's own texts, roles and links.
import type { Experimental } from "@anywidget/types";
import { invokeWithin } from "../lib/rpc";
import type { LocalData, PointInfo } from "./local";

const TIMEOUT_MS = 20_000;
/** Answers kept (the oldest go first). */
const KEEP = 2_000;

/** A kernel answer checked and given its defaults (the kernel's role may be a code or words). */
export function infoFrom(reply: unknown, point: number): PointInfo {
  const r = (reply && typeof reply === "object" ? reply : {}) as Partial<PointInfo>;
  const neighbours = Array.isArray(r.neighbours) ? r.neighbours : [];
  return {
    point: typeof r.point === "number" ? r.point : point,
    role: typeof r.role === "number" || typeof r.role === "string" ? r.role : null,
    text: typeof r.text === "string" ? r.text : r.text == null ? "" : String(r.text),
    meta: r.meta && typeof r.meta === "object" ? r.meta : {},
    neighbours: neighbours
      .filter((n) => n && typeof n.point === "number")
      .map((n) => ({
        point: n.point,
        score: typeof n.score === "number" ? n.score : Number.NaN, // null: the score is not known
        rank: Number(n.rank) || 0,
      })),
  };
}

export class InfoSource {
  private readonly cache = new Map<number, PointInfo>();

  constructor(
    private readonly local: LocalData,
    private readonly experimental: Experimental | undefined,
  ) {}

  /** The info at hand without asking (an exported page, or asked before). */
  cached(point: number): PointInfo | null {
    if (this.local.exported) return this.local.info(point);
    return this.cache.get(point) ?? null;
  }

  /** The info of `point`: from the kernel when there is one, else from the page. */
  async get(point: number): Promise<PointInfo> {
    const known = this.cached(point);
    if (known) return known;
    if (!this.experimental) return this.local.info(point);
    let info: PointInfo;
    try {
      const [reply] = await this.invoke(point);
      info = infoFrom(reply, point);
    } catch {
      return this.local.info(point); // no kernel (an exported page without texts), or it failed: what the page has
    }
    this.cache.set(point, info);
    if (this.cache.size > KEEP) this.cache.delete(this.cache.keys().next().value as number);
    return info;
  }

  private invoke(point: number): Promise<[unknown, DataView[]]> {
    return invokeWithin<unknown>(this.experimental as Experimental, "point_info", { point }, TIMEOUT_MS);
  }
}

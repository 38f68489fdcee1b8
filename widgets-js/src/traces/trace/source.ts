// Where a span's detail comes from: the `_details` trait of an exported page, else the kernel's `span_detail`
// command (answers cached per trace); and the full text of a cut value (`attribute_value`, kernel only).
import type { Experimental } from "@anywidget/types";
import { invokeWithin } from "../../lib/rpc";
import { base64View, type Detail } from "./data";
import type { Path } from "./values";

/** A span's detail and, for a span with tokens, its tokens and alternatives as Arrow IPC. */
export interface Loaded {
  detail: Detail;
  tokens: DataView | null;
  alternatives: DataView | null;
}

const TIMEOUT_MS = 30_000;
/** Details kept after they were shown (the oldest go first). */
const KEEP = 200;

export class DetailSource {
  private readonly cache = new Map<string, Loaded>();
  private readonly embedded: Record<string, Detail>;

  constructor(
    embedded: Record<string, Detail> | null | undefined,
    private readonly experimental: Experimental | undefined,
  ) {
    this.embedded = embedded ?? {};
  }

  /** Whether the page carries details itself (an export, where there is no kernel to ask for more). */
  get exported(): boolean {
    return Object.keys(this.embedded).length > 0;
  }

  /** Whether the full value of a cut can be asked for. */
  get live(): boolean {
    return Boolean(this.experimental) && !this.exported;
  }

  /** The detail when it is at hand without asking (embedded, or asked before). */
  cached(spanId: string): Loaded | null {
    const known = this.cache.get(spanId);
    if (known) return known;
    const detail = this.embedded[spanId];
    if (!detail) return null;
    const loaded = {
      detail,
      tokens: base64View(detail.tokens?.tokens_b64),
      alternatives: base64View(detail.tokens?.alternatives_b64),
    };
    this.cache.set(spanId, loaded);
    return loaded;
  }

  /** The detail of `spanId`: at hand, or from the kernel; null when there is no kernel to ask. Rejects with the
   * kernel's error. */
  async load(spanId: string): Promise<Loaded | null> {
    const known = this.cached(spanId);
    if (known) return known;
    if (!this.experimental) return null;
    const [reply, buffers] = await this.invoke<Detail>("span_detail", { span_id: spanId });
    if (!reply || typeof reply !== "object") throw new Error("the kernel sent no detail");
    const loaded = { detail: reply, tokens: buffers[0] ?? null, alternatives: buffers[1] ?? null };
    this.cache.set(spanId, loaded);
    if (this.cache.size > KEEP) this.cache.delete(this.cache.keys().next().value as string);
    return loaded;
  }

  /** The full text of the value at `path` in the detail of `spanId` (rejects without a kernel). */
  async full(spanId: string, path: Path): Promise<string> {
    if (!this.experimental) throw new Error("no kernel: the full value is not in this page");
    const [reply] = await this.invoke<{ value?: unknown }>("attribute_value", { span_id: spanId, path });
    const value = reply?.value;
    return typeof value === "string" ? value : JSON.stringify(value, null, 1);
  }

  private invoke<T>(name: string, msg: unknown): Promise<[T, DataView[]]> {
    return invokeWithin<T>(this.experimental as Experimental, name, msg, TIMEOUT_MS);
  }
}

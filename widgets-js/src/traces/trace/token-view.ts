// The token viewer inside a span's detail: the existing viewer (src/tokens) mounted on a small local model that
// holds the traits it reads, with the alternatives already filled in, so it never needs a kernel of its own.
import type { AnyModel, RenderProps } from "@anywidget/types";
import type { Model as TokenModel } from "../../tokens/data";
import tokenViewer from "../../tokens/index";
import type { TokenSummary } from "./data";

type Listener = () => void;

/** A model living only in the page: get/set/on/off like a widget's, and nothing is sent anywhere. */
export class LocalModel<T extends object> {
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(private readonly traits: T) {}

  get<K extends keyof T>(key: K): T[K] {
    return this.traits[key];
  }

  set<K extends keyof T>(key: K, value: T[K]): void {
    if (this.traits[key] === value) return;
    this.traits[key] = value;
    for (const listener of this.listeners.get(`change:${String(key)}`) ?? []) listener();
  }

  on(event: string, listener: Listener): void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener);
  }

  off(event?: string | null, listener?: Listener | null): void {
    if (!event) this.listeners.clear();
    else if (!listener) this.listeners.delete(event);
    else this.listeners.get(event)?.delete(listener);
  }

  save_changes(): void {}

  send(): void {}
}

/** The token viewer's traits for a span's tokens. */
export function tokenTraits(summary: TokenSummary, tokens: DataView, alternatives: DataView | null): TokenModel {
  return {
    title: summary.title || "tokens",
    note: summary.note ?? "",
    mode: "probability",
    threshold: 0.5,
    selected: -1,
    _tokens: tokens,
    _alternatives: alternatives,
    _alternative_count: Number(summary.alternative_count ?? 0),
    _messages: (summary.messages ?? []).map((m, i) => ({
      side: m.side,
      position: m.position ?? i,
      role: m.role ?? null,
      content: m.content ?? null,
    })),
    labels: [],
    _alignment: null,
  };
}

/** Mount the token viewer for a span's tokens into `el`; returns its cleanup. */
export function mountTokens(
  el: HTMLElement,
  summary: TokenSummary,
  tokens: DataView,
  alternatives: DataView | null,
): () => void {
  const model = new LocalModel(tokenTraits(summary, tokens, alternatives));
  const props = {
    model: model as unknown as AnyModel<TokenModel>,
    el,
    experimental: undefined, // the alternatives are in the model: nothing to ask a kernel for
  } as unknown as RenderProps<TokenModel>;
  const cleanup = tokenViewer.render(props);
  return typeof cleanup === "function" ? cleanup : () => {};
}

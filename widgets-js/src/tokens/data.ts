// What the token viewer shows, read from the widget's binary traits: tokens, alternatives (on demand), and where
// two completions differ.
import type { AnyModel, Experimental } from "@anywidget/types";
import { column, decodeArrow } from "../lib/arrow";
import { fetchTable } from "../lib/rpc";
import { type Mode, type Piece, percent, rankOf, surprise, TokenDecoder } from "./model";

export interface Message {
  side: string;
  position: number;
  role: string | null;
  content: string | null;
}

export interface Model {
  title: string;
  note: string;
  mode: Mode;
  threshold: number;
  selected: number;
  _tokens: DataView | null;
  _alternatives: DataView | null;
  _messages: Message[];
  labels: string[];
  _alignment: DataView | null;
  _alternative_count: number;
}

/** Everything the view reads, from the binary traits. Text and ranks are computed on demand, block by block,
 * so the first tokens paint without decoding all of them. */
export class Tokens {
  readonly count: number;
  readonly side: ArrayLike<string>;
  readonly choice: ArrayLike<number>;
  readonly bytes: ArrayLike<Uint8Array | null>;
  readonly tokens: ArrayLike<string | null>;
  readonly logprob: ArrayLike<number>;
  readonly altStart: ArrayLike<number>;
  readonly altEnd: ArrayLike<number>;
  readonly runs: Array<[number, number]>;
  private readonly pieces: Array<Piece | undefined>;
  private readonly decoders: TokenDecoder[];
  private readonly decodedTo: number[];
  private readonly ranks: Int32Array;
  private readonly model: AnyModel<Model>;
  private alts?: { bytes: ArrayLike<Uint8Array | null>; token: ArrayLike<string | null>; logprob: ArrayLike<number> };

  constructor(model: AnyModel<Model>) {
    const table = decodeArrow(model.get("_tokens"));
    this.count = table ? table.numRows : 0;
    const empty: never[] = [];
    this.side = table ? column<string>(table, "side") : empty;
    this.choice = table ? column<number>(table, "choice") : empty;
    this.bytes = table ? column<Uint8Array | null>(table, "bytes") : empty;
    this.tokens = table ? column<string | null>(table, "token") : empty;
    this.logprob = table ? column<number>(table, "logprob") : empty;
    this.altStart = table ? column<number>(table, "alt_start") : empty;
    this.altEnd = table ? column<number>(table, "alt_end") : empty;
    this.model = model;
    this.runs = this.groups();
    this.pieces = new Array(this.count);
    this.decoders = this.runs.map(() => new TokenDecoder());
    this.decodedTo = this.runs.map(([start]) => start);
    this.ranks = new Int32Array(this.count).fill(-1);
  }

  /** [start, end) of each run of one side and choice (rows arrive sorted by side, choice, position). */
  private groups(): Array<[number, number]> {
    const runs: Array<[number, number]> = [];
    let start = 0;
    for (let i = 1; i <= this.count; i++) {
      if (i === this.count || this.side[i] !== this.side[start] || this.choice[i] !== this.choice[start]) {
        runs.push([start, i]);
        start = i;
      }
    }
    return runs;
  }

  /** Index of the run (side and choice) that token i belongs to, -1 for none. */
  runOf(i: number): number {
    return this.runs.findIndex(([start, end]) => i >= start && i < end);
  }

  /** Token i decoded (the tokens before it in its run are decoded first: split characters need them). */
  piece(i: number): Piece {
    const known = this.pieces[i];
    if (known) return known;
    const g = this.runOf(i);
    const run = this.runs[g];
    const decoder = this.decoders[g];
    if (!run || !decoder) return { text: "", lossy: false, continued: false };
    for (let k = this.decodedTo[g] ?? run[0]; k <= i; k++)
      this.pieces[k] = decoder.next(this.bytes[k] ?? null, this.tokens[k], k === run[1] - 1);
    this.decodedTo[g] = i + 1;
    return this.pieces[i] as Piece;
  }

  rank(i: number): number {
    if ((this.ranks[i] ?? 0) < 0) this.ranks[i] = rankOf(this.bytes[i] ?? null, this.alternativeBytes(i));
    return this.ranks[i] ?? 0;
  }

  /** Whether the alternatives are at hand (they come after the first paint: from the page, or from the kernel). */
  get alternativesLoaded(): boolean {
    return this.alts !== undefined || !this.model.get("_alternative_count");
  }

  /** Get the alternatives: embedded in an exported page, else asked of the kernel once. */
  async loadAlternatives(experimental: Experimental | undefined): Promise<void> {
    if (this.alts) return;
    const table = decodeArrow(this.model.get("_alternatives")) ?? (await fetchTable(experimental, "alternatives_ipc"));
    this.alts = {
      bytes: table ? column<Uint8Array | null>(table, "bytes") : [],
      token: table ? column<string | null>(table, "token") : [],
      logprob: table ? column<number>(table, "logprob") : [],
    };
    this.ranks.fill(-1);
  }

  private alternatives() {
    return this.alts ?? { bytes: [], token: [], logprob: [] };
  }

  alternativeLabel(k: number): string {
    const { bytes, token } = this.alternatives();
    const raw = bytes[k];
    return raw ? new TextDecoder().decode(raw) : (token[k] ?? "");
  }

  alternativeBytes(i: number): ArrayLike<Uint8Array | null> {
    return slice(this.alternatives().bytes, this.altStart[i] ?? 0, this.altEnd[i] ?? 0);
  }

  alternativeLogprobs(i: number): ArrayLike<number> {
    return slice(this.alternatives().logprob, this.altStart[i] ?? 0, this.altEnd[i] ?? 0);
  }

  surprise(mode: Mode, i: number): number {
    if (mode === "probability") return surprise(mode, this.logprob[i] ?? Number.NaN, [], 0);
    return surprise(mode, this.logprob[i] ?? Number.NaN, this.alternativeLogprobs(i), this.rank(i));
  }
}

/** Where two completions (choices 0 and 1 of a diff) differ, from the alignment opcodes computed in Python. */
export class Diff {
  readonly changed: Uint8Array;
  readonly starts = new Map<number, { other: number; logprob: number }>();
  readonly summary: string;

  constructor(data: Tokens, model: AnyModel<Model>) {
    this.changed = new Uint8Array(data.count);
    const table = decodeArrow(model.get("_alignment"));
    const [a, b] = data.runs;
    if (!table || !a || !b) {
      this.summary = "";
      return;
    }
    const op = column<string>(table, "op");
    const [aStart, aEnd, bStart, bEnd] = ["a_start", "a_end", "b_start", "b_end"].map((name) =>
      column<number>(table, name),
    );
    const aOfB = column<number>(table, "a_logprob_of_b");
    const bOfA = column<number>(table, "b_logprob_of_a");
    let shared = 0;
    let first = -1;
    let regions = 0;
    for (let r = 0; r < table.numRows; r++) {
      const [i1, i2, j1, j2] = [aStart?.[r] ?? 0, aEnd?.[r] ?? 0, bStart?.[r] ?? 0, bEnd?.[r] ?? 0];
      if (op[r] === "equal") {
        shared += i2 - i1;
        continue;
      }
      regions++;
      if (first < 0) first = i1;
      for (let i = i1; i < i2; i++) this.changed[a[0] + i] = 1;
      for (let j = j1; j < j2; j++) this.changed[b[0] + j] = 1;
      // where they part: the token each took, and the probability the other gave it
      if (i1 < i2) this.starts.set(a[0] + i1, { other: j1 < j2 ? b[0] + j1 : -1, logprob: aOfB[r] ?? Number.NaN });
      if (j1 < j2) this.starts.set(b[0] + j1, { other: i1 < i2 ? a[0] + i1 : -1, logprob: bOfA[r] ?? Number.NaN });
    }
    const longest = Math.max(a[1] - a[0], b[1] - b[0]) || 1;
    this.summary = regions
      ? `first divergence at token ${first} · ${regions} differing region${regions > 1 ? "s" : ""} · ` +
        `${percent(shared / longest)} of tokens shared`
      : "identical token sequences";
  }
}

export function slice<T>(values: ArrayLike<T>, start: number, end: number): ArrayLike<T> {
  if (ArrayBuffer.isView(values))
    return (values as unknown as Float32Array).subarray(start, end) as unknown as ArrayLike<T>;
  return Array.prototype.slice.call(values, start, end) as T[];
}

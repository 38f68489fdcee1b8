// Pure token logic, tested with vitest: decoding split UTF-8, statistics, entropy, rank and colouring.

export type Mode = "probability" | "entropy" | "rank";

export interface Decoded {
  /** What each token shows: its characters; "" when its bytes only start a character the next token ends. */
  text: string[];
  /** 1 where the token's bytes do not decode (or the provider sent U+FFFD): the token is lossy. */
  lossy: Uint8Array;
  /** 1 where the token's character is completed by a following token (split UTF-8). */
  continued: Uint8Array;
}

/** One decoded token: what it shows, whether its bytes are lossy, whether a later token completes its character. */
export interface Piece {
  text: string;
  lossy: boolean;
  continued: boolean;
}

/**
 * Decodes a sequence of tokens one at a time, from their bytes concatenated, so a multi-byte character split
 * across tokens renders once: on the token that completes it; the tokens before it are `continued`.
 */
export class TokenDecoder {
  private readonly decoder = new TextDecoder("utf-8", { fatal: false });
  private need = 0; // continuation bytes the current character still needs, across token boundaries

  next(bytes: Uint8Array | null, fallback?: string | null, last = false): Piece {
    let text = bytes ? this.decoder.decode(bytes, { stream: !last }) : (fallback ?? "");
    if (!bytes && last) text += this.decoder.decode();
    if (bytes) this.need = stillNeeded(bytes, this.need);
    return { text, lossy: text.includes("\uFFFD"), continued: this.need > 0 && !last };
  }
}

/** Decode a whole sequence of tokens (see :class:`TokenDecoder`). */
export function decodeTokens(bytes: ArrayLike<Uint8Array | null>, fallback?: ArrayLike<string | null>): Decoded {
  const n = bytes.length;
  const text: string[] = new Array(n);
  const lossy = new Uint8Array(n);
  const continued = new Uint8Array(n);
  const decoder = new TokenDecoder();
  for (let i = 0; i < n; i++) {
    const piece = decoder.next(bytes[i] ?? null, fallback?.[i], i === n - 1);
    text[i] = piece.text;
    lossy[i] = piece.lossy ? 1 : 0;
    continued[i] = piece.continued ? 1 : 0;
  }
  return { text, lossy, continued };
}

/** The continuation bytes still needed after `bytes`, given how many were needed before them. */
function stillNeeded(bytes: Uint8Array, before: number): number {
  let need = before;
  for (const b of bytes) {
    if (need > 0 && (b & 0xc0) === 0x80) need--;
    else need = b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : b >= 0xc0 ? 1 : 0;
  }
  return need;
}

export interface Stats {
  tokens: number;
  known: number;
  meanLogprob: number;
  perplexity: number;
  lowConfidence: number;
}

/** The logprob under which a token counts as low-confidence for `threshold` probability (float32 logprobs sit a
 * hair off the float64 threshold, so the cut leaves them room). */
export function lowCut(threshold: number): number {
  return Math.log(threshold) - 1e-6;
}

/** Mean logprob, perplexity and count of tokens under `threshold` probability in [start, end). */
export function stats(logprobs: ArrayLike<number>, start: number, end: number, threshold: number): Stats {
  let sum = 0;
  let known = 0;
  let low = 0;
  const cut = lowCut(threshold);
  for (let i = start; i < end; i++) {
    const lp = logprobs[i] as number;
    if (!Number.isFinite(lp)) continue;
    sum += lp;
    known++;
    if (lp < cut) low++;
  }
  const mean = known ? sum / known : Number.NaN;
  return { tokens: end - start, known, meanLogprob: mean, perplexity: Math.exp(-mean), lowConfidence: low };
}

/** Entropy (nats) over the returned alternatives plus the residual mass as one "other" outcome. */
export function entropy(logprobs: ArrayLike<number>): { entropy: number; residual: number } {
  let h = 0;
  let mass = 0;
  for (let i = 0; i < logprobs.length; i++) {
    const lp = logprobs[i] as number;
    if (!Number.isFinite(lp)) continue;
    const p = Math.exp(lp);
    mass += p;
    h -= p * lp;
  }
  const residual = Math.max(0, 1 - mass);
  if (residual > 1e-9) h -= residual * Math.log(residual);
  return { entropy: h, residual };
}

/** 1-based rank of `chosen` among `alternatives` (compared by bytes), or 0 when it is not among them. */
export function rankOf(chosen: Uint8Array | null, alternatives: ArrayLike<Uint8Array | null>): number {
  if (!chosen) return 0;
  for (let i = 0; i < alternatives.length; i++) {
    const alt = alternatives[i];
    if (alt && sameBytes(alt, chosen)) return i + 1;
  }
  return 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** How surprising a token is in [0, 1] under `mode`: 0 is a sure token, 1 the least likely. */
export function surprise(mode: Mode, logprob: number, altLogprobs: ArrayLike<number>, rank: number): number {
  if (mode === "probability") return Number.isFinite(logprob) ? 1 - Math.exp(logprob) : Number.NaN;
  if (mode === "entropy") {
    if (!altLogprobs.length) return Number.NaN;
    const { entropy: h } = entropy(altLogprobs);
    return Math.min(1, h / Math.log(altLogprobs.length + 1));
  }
  if (!altLogprobs.length) return Number.NaN;
  return rank === 1 ? 0 : rank === 0 ? 1 : Math.min(1, 0.25 + 0.15 * rank);
}

/** Whitespace made visible: a token of only spaces, tabs and newlines shows symbols for them. */
export function visible(text: string): string {
  if (text === "" || /\S/.test(text)) return text;
  return text.replace(/ /g, "·").replace(/\t/g, "⇥").replace(/\r?\n/g, "↵");
}

/** Format a probability for people: 0.4% / 12.3% / 99.96%. */
export function percent(p: number): string {
  if (!Number.isFinite(p)) return "–";
  const value = p * 100;
  if (value >= 99.95 && value < 100) return `${value.toFixed(2)}%`;
  return value < 1 ? `${value.toFixed(2)}%` : `${value.toFixed(1)}%`;
}

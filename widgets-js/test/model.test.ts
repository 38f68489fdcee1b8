import { describe, expect, it } from "vitest";
import { decodeTokens, entropy, percent, rankOf, stats, surprise, visible } from "../src/tokens/model";

const utf8 = (s: string) => new TextEncoder().encode(s);

describe("decodeTokens", () => {
  it("renders a character split across tokens once, on the token that completes it", () => {
    const euro = utf8("€"); // e2 82 ac
    const decoded = decodeTokens([utf8("Hi "), euro.slice(0, 1), euro.slice(1), utf8("!")]);
    expect(decoded.text).toEqual(["Hi ", "", "€", "!"]);
    expect([...decoded.continued]).toEqual([0, 1, 0, 0]);
    expect([...decoded.lossy]).toEqual([0, 0, 0, 0]);
  });

  it("handles a four-byte character split three ways", () => {
    const emoji = utf8("🙂"); // f0 9f 99 82
    const decoded = decodeTokens([emoji.slice(0, 1), emoji.slice(1, 2), emoji.slice(2)]);
    expect(decoded.text).toEqual(["", "", "🙂"]);
    expect([...decoded.continued]).toEqual([1, 1, 0]);
  });

  it("flags replacement characters and a character never completed as lossy", () => {
    const decoded = decodeTokens([utf8("\uFFFD"), utf8("ok"), new Uint8Array([0xe2, 0x82])]);
    expect([...decoded.lossy]).toEqual([1, 0, 1]);
    expect(decoded.text[2]).toContain("\uFFFD");
  });

  it("falls back to the token text when bytes are missing", () => {
    expect(decodeTokens([null, utf8("b")], ["a", "b"]).text).toEqual(["a", "b"]);
  });
});

describe("statistics", () => {
  it("computes mean logprob, perplexity and low-confidence tokens, skipping unknown ones", () => {
    const lp = new Float32Array([Math.log(0.9), Math.log(0.2), Number.NaN, Math.log(0.5)]);
    const s = stats(lp, 0, 4, 0.5);
    expect(s.known).toBe(3);
    expect(s.lowConfidence).toBe(1);
    expect(s.meanLogprob).toBeCloseTo((Math.log(0.9) + Math.log(0.2) + Math.log(0.5)) / 3, 5);
    expect(s.perplexity).toBeCloseTo(Math.exp(-s.meanLogprob), 6);
  });

  it("entropy counts the residual mass as one more outcome", () => {
    const { entropy: h, residual } = entropy([Math.log(0.5), Math.log(0.3)]);
    expect(residual).toBeCloseTo(0.2, 6);
    expect(h).toBeCloseTo(-(0.5 * Math.log(0.5) + 0.3 * Math.log(0.3) + 0.2 * Math.log(0.2)), 6);
  });

  it("ranks by bytes and scores surprise per mode", () => {
    expect(rankOf(utf8("b"), [utf8("a"), utf8("b")])).toBe(2);
    expect(rankOf(utf8("z"), [utf8("a")])).toBe(0);
    expect(surprise("probability", Math.log(0.25), [], 0)).toBeCloseTo(0.75, 6);
    expect(surprise("rank", 0, [0], 1)).toBe(0);
    expect(surprise("rank", 0, [0], 0)).toBe(1);
    expect(Number.isNaN(surprise("entropy", 0, [], 0))).toBe(true);
  });
});

describe("text", () => {
  it("makes whitespace-only tokens visible and leaves words alone", () => {
    expect(visible("\n")).toBe("↵");
    expect(visible("  ")).toBe("··");
    expect(visible(" the")).toBe(" the");
    expect(percent(0.12345)).toBe("12.3%");
    expect(percent(0.004)).toBe("0.40%");
  });
});

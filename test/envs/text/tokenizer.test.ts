import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/core/errors.js";
import { Rng } from "../../../src/core/rng.js";
import { makeTask, listTasks } from "../../../src/envs/text/registry.js";
import { BOS, CharTokenizer, DEFAULT_CHARS, EOS, PAD } from "../../../src/envs/text/tokenizer.js";

describe("CharTokenizer", () => {
  const tok = new CharTokenizer();

  it("numbers specials 0, 1, 2 and characters from 3 in the order of chars", () => {
    expect([PAD, BOS, EOS]).toEqual([0, 1, 2]);
    expect(new Set(DEFAULT_CHARS).size).toBe(DEFAULT_CHARS.length);
    expect(tok.vocabSize).toBe(3 + DEFAULT_CHARS.length);
    // "0" is the first default char, "+" the 12th (after ten digits and the space).
    expect(Array.from(tok.encode("0+"))).toEqual([3, 3 + 11]);
    expect(Array.from(new CharTokenizer("ab").encode("bab"))).toEqual([4, 3, 4]);
    expect(new CharTokenizer("ab").vocabSize).toBe(5);
    expect(tok.toJSON()).toEqual({ chars: DEFAULT_CHARS });
  });

  it("round-trips the prompts and solutions of every built-in task", () => {
    for (const { name } of listTasks()) {
      const task = makeTask(name);
      const rng = new Rng(3);
      for (let i = 0; i < 200; i++) {
        const p = task.sample(rng, i % 2 ? "train" : "test");
        for (const text of [p.prompt, p.solution]) expect(tok.decode(tok.encode(text))).toBe(text);
      }
    }
  });

  it("decode skips PAD and BOS and stops at EOS", () => {
    const ids = [BOS, ...tok.encode("12"), PAD, ...tok.encode("3"), EOS, ...tok.encode("99")];
    expect(tok.decode(ids)).toBe("123");
    expect(tok.decode([EOS, 5])).toBe("");
    expect(tok.decode(new Int32Array(0))).toBe("");
  });

  it("an unknown character is a ConfigError naming it, its position and the fix", () => {
    expect(() => tok.encode("12#4")).toThrow(ConfigError);
    expect(() => tok.encode("12#4")).toThrow(/"#" at position 2.*Fix: add the character/);
    expect(() => tok.encode("A")).toThrow(/"A" at position 0/);
  });

  it("duplicate chars and out-of-range ids are ConfigErrors", () => {
    expect(() => new CharTokenizer("abca")).toThrow(/"a" twice \(positions 0 and 3\)/);
    expect(() => new CharTokenizer("")).toThrow(ConfigError);
    expect(() => tok.decode([3, tok.vocabSize])).toThrow(/token id \d+ at position 1 is not in the vocabulary/);
    expect(() => tok.decode([-1])).toThrow(ConfigError);
    expect(() => tok.decode([1.5])).toThrow(ConfigError);
  });

  it("charOf maps PAD and BOS to the invalid character", () => {
    expect(tok.charOf(PAD)).toBe("\uFFFD");
    expect(tok.charOf(BOS)).toBe("\uFFFD");
    expect(tok.charOf(EOS)).toBe("");
    expect(tok.charOf(3)).toBe("0");
  });
});

import { describe, expect, it } from "vitest";
import { PieceBook } from "../../src/scale/piece_book.js";

const held = (name: string, weights: number) => () => ({ piece: name, bytes: name.length, weights });

describe("PieceBook: one piece per (iteration, shard), at most maxStaleness versions old", () => {
  it("keeps pieces within the bound, asks again for too-stale ones, drops duplicates and trained iterations", () => {
    const book = new PieceBook<string>(2, 1);
    expect(book.offer(3, 3, 0, 3, held("a", 3))).toBe("kept");
    expect(book.offer(3, 3, 0, 3, held("a2", 3))).toBe("duplicate");
    expect(book.offer(3, 2, 1, 2, held("old", 2))).toBe("stale"); // iteration 2 is trained already
    expect(book.offer(3, 4, 1, 2, held("lagging", 2))).toBe("requeue"); // 4 − 2 > 1, and shard 1 of 4 is missing
    expect(book.offer(3, 4, 1, 3, held("b4", 3))).toBe("kept");
    expect(book.offer(3, 4, 1, 2, held("lagging", 2))).toBe("stale"); // too old, but the shard is held now
    expect(book.complete(3)).toBe(false);
    expect(book.offer(3, 3, 1, 2, held("b", 2))).toBe("kept");
    expect(book.complete(3)).toBe(true);
    expect([...book.received().get(4) ?? []]).toEqual([1]);
    expect(book.take(3)).toEqual({ pieces: ["a", "b"], lags: [0, 1], bytes: 2 });
    expect(book.complete(3)).toBe(false);
  });

  it("with maxStaleness 0 only pieces collected with their own iteration's weights are kept", () => {
    const book = new PieceBook<string>(1, 0);
    expect(book.offer(0, 1, 0, 0, held("ahead", 0))).toBe("requeue");
    expect(book.offer(0, 0, 0, 0, held("x", 0))).toBe("kept");
    expect(book.take(0).lags).toEqual([0]);
    expect(() => book.offer(1, 1, 0, 1, () => { throw new Error("does not decode"); })).toThrow(/does not decode/);
    expect(book.complete(1)).toBe(false);
  });
});

import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend, type BackendName } from "../../src/core/backend.js";
import { ConfigError } from "../../src/core/errors.js";
import { Rng } from "../../src/core/rng.js";
import { backendPlan, gemm, GEMM_JS_MAX_WORK, transpose } from "../../src/nn/gemm.js";

/** op(A)·op(B) in float64 by the definition, the reference for every path. */
function naive(A: Float32Array, B: Float32Array, m: number, k: number, n: number, transA: boolean, transB: boolean): Float64Array {
  const C = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const a = transA ? A[p * m + i] : A[i * k + p];
        const b = transB ? B[j * k + p] : B[p * n + j];
        s += a * b;
      }
      C[i * n + j] = s;
    }
  }
  return C;
}

function randomArray(rng: Rng, size: number): Float32Array {
  return Float32Array.from({ length: size }, () => rng.normal());
}

function expectClose(got: Float32Array, want: Float64Array, k: number): void {
  expect(got.length).toBeGreaterThanOrEqual(want.length);
  // Float32 inputs, float32 (XNNPACK) or float64 (JS) sums: error grows like √k.
  const tol = 2e-6 * Math.sqrt(k) * 4;
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
  expect(worst).toBeLessThan(tol);
}

const COMBOS: [boolean, boolean][] = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];

describe.each<BackendName>(["wasm", "cpu"])("gemm on %s", (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  for (const path of ["simd", "js", "backend", "auto"] as const) {
    it(`matches the naive product for all transpose combinations and odd sizes (${path} path)`, () => {
      const rng = new Rng(11);
      // Odd sizes hit every remainder of the 4×4 blocking; the big ones take the tfjs
      // path under "auto" on wasm, in both formulations (direct and Cᵀ, see below).
      const shapes: [number, number, number][] = [[1, 1, 1], [3, 5, 7], [5, 1, 6], [9, 13, 6], [37, 50, 23], [70, 129, 9], [9, 129, 70]];
      for (const [m, k, n] of shapes) {
        for (const [transA, transB] of COMBOS) {
          const A = randomArray(rng, m * k);
          const B = randomArray(rng, k * n);
          const got = gemm(A, B, m, k, n, { transA, transB, path });
          expect(got.length).toBe(m * n);
          expectClose(got, naive(A, B, m, k, n, transA, transB), k);
        }
      }
    });

    it(`accumulates into out and leaves entries past m·n alone (${path} path)`, () => {
      const rng = new Rng(12);
      const [m, k, n] = [11, 17, 10];
      for (const [transA, transB] of COMBOS) {
        const A = randomArray(rng, m * k);
        const B = randomArray(rng, k * n);
        const start = randomArray(rng, m * n + 3);
        const out = start.slice();
        gemm(A, B, m, k, n, { transA, transB, out, accumulate: true, path });
        const want = naive(A, B, m, k, n, transA, transB).map((x, i) => x + start[i]);
        expectClose(out, want, k);
        expect(Array.from(out.subarray(m * n))).toEqual(Array.from(start.subarray(m * n)));
        // Without accumulate the old contents are overwritten.
        const fresh = start.slice();
        gemm(A, B, m, k, n, { transA, transB, out: fresh, path });
        expectClose(fresh, naive(A, B, m, k, n, transA, transB), k);
      }
    });
  }

  it("the backend path's shapes above exercise both formulations", () => {
    const plans = new Set<string>();
    for (const [m, k, n] of [[37, 50, 23], [70, 129, 9], [9, 129, 70]]) for (const [tA, tB] of COMBOS) plans.add(`${backendPlan(m, k, n, tA, tB)}:${tA}:${tB}`);
    expect(plans).toContain("flipped:true:false");
    expect(plans).toContain("flipped:true:true");
    expect(plans).toContain("direct:true:false");
    expect(plans).toContain("direct:false:true");
    // A weight gradient X[N,in]ᵀ·dY[N,out] packs the narrower operand.
    expect(backendPlan(64, 2048, 256, true, false)).toBe("flipped");
    expect(backendPlan(256, 2048, 64, true, false)).toBe("direct");
  });

  it("adds a bias row, fused or not, with and without accumulate", () => {
    const rng = new Rng(15);
    for (const path of ["simd", "js", "backend"] as const) {
      for (const [m, k, n, transA] of [[13, 7, 9, false], [9, 129, 70, true]] as const) {
        const A = randomArray(rng, m * k);
        const B = randomArray(rng, k * n);
        const bias = randomArray(rng, n);
        const start = randomArray(rng, m * n);
        const want = naive(A, B, m, k, n, transA, false);
        const plain = gemm(A, B, m, k, n, { transA, bias, path });
        expectClose(plain, want.map((x, i) => x + bias[i % n]), k);
        const acc = start.slice();
        gemm(A, B, m, k, n, { transA, bias, out: acc, accumulate: true, path });
        expectClose(acc, want.map((x, i) => x + bias[i % n] + start[i]), k);
      }
    }
  });

  it("uses operands longer than needed (subarray views) by their first entries", () => {
    const rng = new Rng(13);
    const [m, k, n] = [40, 40, 40];
    expect(m * k * n).toBeGreaterThan(GEMM_JS_MAX_WORK);
    const A = randomArray(rng, m * k + 5);
    const B = randomArray(rng, k * n + 7);
    for (const path of ["simd", "js", "backend"] as const) {
      expectClose(gemm(A, B, m, k, n, { path }), naive(A, B, m, k, n, false, false), k);
      expectClose(gemm(A, B, m, k, n, { transA: true, path }), naive(A, B, m, k, n, true, false), k);
    }
  });

  it("leaks no tensors", () => {
    const rng = new Rng(14);
    const A = randomArray(rng, 64 * 96);
    const B = randomArray(rng, 96 * 80);
    gemm(A, B, 64, 96, 80, { path: "backend" });
    const before = tf.memory().numTensors;
    for (const [transA, transB] of COMBOS) {
      gemm(A, B, 64, 96, 80, { transA, transB, path: "backend" });
      gemm(A, B, 64, 96, 80, { transA, transB });
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it("handles empty dimensions", () => {
    const out = Float32Array.from([5, 6]);
    gemm(new Float32Array(0), new Float32Array(0), 1, 0, 2, { out });
    expect(Array.from(out)).toEqual([0, 0]);
    const acc = Float32Array.from([5, 6]);
    gemm(new Float32Array(0), new Float32Array(0), 1, 0, 2, { out: acc, accumulate: true });
    expect(Array.from(acc)).toEqual([5, 6]);
    expect(gemm(new Float32Array(0), new Float32Array(6), 0, 3, 2).length).toBe(0);
  });
});

describe("gemm argument checks", () => {
  it("rejects short operands, short outputs, accumulate without out and aliasing", () => {
    const A = new Float32Array(6);
    const B = new Float32Array(6);
    expect(() => gemm(A, B, 2, 4, 2)).toThrow(ConfigError);
    expect(() => gemm(A, B, 2, 3, 2, { out: new Float32Array(3) })).toThrow(/at least m·n = 4/);
    expect(() => gemm(A, B, 2, 3, 2, { accumulate: true })).toThrow(/accumulate needs an out/);
    expect(() => gemm(A, B, 2, 3, 2, { out: A })).toThrow(/overlaps/);
    expect(() => gemm(A, B, 2.5, 3, 2)).toThrow(/non-negative integer/);
  });
});

describe("transpose", () => {
  it("transposes odd shapes", () => {
    for (const [r, c] of [[1, 1], [5, 3], [4, 8], [7, 9]]) {
      const a = Float32Array.from({ length: r * c }, (_, i) => i);
      const t = transpose(a, r, c);
      for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) expect(t[j * r + i]).toBe(a[i * c + j]);
    }
  });
});

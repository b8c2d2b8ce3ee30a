import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { fmaKernelsAvailable, gemmSimd, simdKernelsAvailable, tanhSimd } from "../../src/nn/kernels/simd.js";

describe("WebAssembly SIMD kernels", () => {
  it("are available on the Node this project supports (SIMD is on since Node 16.4)", () => {
    expect(simdKernelsAvailable()).toBe(true);
  });

  it("the shipped bytes are the assembled .wat (npm run kernels)", () => {
    // Exits 1 and names the stale file when gemm_wasm.ts does not match gemm.wat.
    expect(() => execFileSync(process.execPath, ["scripts/build-kernels.mjs", "--check"], { stdio: "pipe" })).not.toThrow();
  });

  it("fuses bias and relu: max(A·B + bias, 0), padding never leaks into the result", () => {
    const rng = new Rng(3);
    for (const [m, k, n] of [[1, 1, 1], [5, 3, 9], [8, 16, 16], [13, 7, 30]] as const) {
      const A = Float32Array.from({ length: m * k }, () => rng.normal());
      const B = Float32Array.from({ length: k * n }, () => rng.normal());
      const bias = Float32Array.from({ length: n }, () => rng.normal());
      const out = new Float32Array(m * n + 4).fill(7);
      gemmSimd(A, B, m, k, n, { bias, activation: "relu", out });
      let negatives = 0;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = bias[j];
          for (let p = 0; p < k; p++) s += A[i * k + p] * B[p * n + j];
          if (s < 0) negatives++;
          expect(out[i * n + j]).toBeCloseTo(Math.max(s, 0), 5);
        }
      }
      expect(Array.from(out.subarray(m * n))).toEqual([7, 7, 7, 7]);
      if (m * n > 20) expect(negatives).toBeGreaterThan(0); // the relu had something to clip
    }
  });

  it("long products (k past the 128-step chunks) sum in k's order: bit for bit a float32 loop, with accumulate, bias and relu", () => {
    const rng = new Rng(5);
    const f = Math.fround;
    for (const [transA, accumulate] of [[false, false], [false, true], [true, false], [true, true]]) {
      for (const [m, k, n] of [[5, 127, 9], [4, 128, 8], [6, 129, 10], [2, 257, 8], [3, 600, 17]] as const) {
        const A = Float32Array.from({ length: m * k }, () => rng.normal()); // [m,k], or [k,m] with transA
        const B = Float32Array.from({ length: k * n }, () => rng.normal());
        const bias = Float32Array.from({ length: n }, () => rng.normal());
        const start = Float32Array.from({ length: m * n }, () => rng.normal());
        const out = gemmSimd(A, B, m, k, n, { transA, accumulate, bias, activation: "relu", out: start.slice() });
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let c = accumulate ? start[i * n + j] : 0;
            for (let p = 0; p < k; p++) c = f(c + f((transA ? A[p * m + i] : A[i * k + p]) * B[p * n + j]));
            const want = Math.max(f(c + bias[j]), 0);
            // The fused build (where relaxed SIMD validates) rounds each multiply-add once.
            if (fmaKernelsAvailable()) expect(out[i * n + j]).toBeCloseTo(want, 3);
            else expect(out[i * n + j]).toBe(want);
          }
        }
      }
    }
  });

  it("tanh (fused or alone) is within 4e-7 of Math.tanh from −12 to 12, and odd", () => {
    const xs = Float32Array.from({ length: 24001 }, (_, i) => -12 + i * 0.001);
    const ys = tanhSimd(xs.slice());
    let worst = 0;
    for (let i = 0; i < xs.length; i++) worst = Math.max(worst, Math.abs(ys[i] - Math.tanh(xs[i])));
    expect(worst).toBeLessThan(4e-7);
    expect(worst).toBeGreaterThan(0); // an approximation, not Math.tanh itself
    const negated = tanhSimd(xs.map((x) => -x));
    for (let i = 0; i < xs.length; i++) expect(negated[i] + ys[i]).toBe(0);
    // Fused: tanh(x·1 + 0) row by row equals the standalone kernel.
    const fused = gemmSimd(xs, Float32Array.of(1), xs.length, 1, 1, { activation: "tanh" });
    expect(Array.from(fused)).toEqual(Array.from(ys));
  });

  it("reuses its memory across calls of different sizes without stale values", () => {
    const big = gemmSimd(new Float32Array(64 * 64).fill(1), new Float32Array(64 * 64).fill(1), 64, 64, 64);
    expect(big[0]).toBe(64);
    // A smaller product after a bigger one: padding rows/columns are re-zeroed.
    const small = gemmSimd(Float32Array.of(1, 2, 3), Float32Array.of(4, 5, 6), 1, 3, 1);
    expect(Array.from(small)).toEqual([32]);
    const odd = gemmSimd(Float32Array.of(1, 2), Float32Array.of(1, 2, 3, 4, 5, 6), 1, 2, 3);
    expect(Array.from(odd)).toEqual([9, 12, 15]);
  });
});

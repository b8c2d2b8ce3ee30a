import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/core/backend.js";
import { Rng } from "../../src/core/rng.js";
import { orthogonal, zeros } from "../../src/nn/init.js";

function matMulT(a: Float32Array, rows: number, cols: number, transposeFirst: boolean): Float64Array {
  // transposeFirst: aᵀa (cols×cols); else a aᵀ (rows×rows)
  const n = transposeFirst ? cols : rows;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      if (transposeFirst) for (let k = 0; k < rows; k++) s += a[k * cols + i] * a[k * cols + j];
      else for (let k = 0; k < cols; k++) s += a[i * cols + k] * a[j * cols + k];
      out[i * n + j] = s;
    }
  }
  return out;
}

beforeAll(async () => {
  // init.ts is plain JS; initialised anyway so every nn test file runs under the same set-up.
  await initBackend("cpu");
});

describe("orthogonal", () => {
  const shapes: [number, number][] = [[64, 4], [4, 64], [64, 64], [2, 64], [1, 5], [5, 1], [3, 3]];

  it.each(shapes)("%i×%i is (semi-)orthogonal times the gain", (rows, cols) => {
    const gain = 1.7;
    const w = orthogonal(rows, cols, new Rng(3), gain);
    expect(w.length).toBe(rows * cols);
    const tall = rows >= cols;
    const gram = matMulT(w, rows, cols, tall);
    const n = tall ? cols : rows;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        expect(Math.abs(gram[i * n + j] - (i === j ? gain * gain : 0))).toBeLessThan(1e-5);
      }
    }
  });

  it.each(shapes)("%i×%i is torch's sign convention: Qᵀ·A is upper triangular with positive diagonal", (rows, cols) => {
    const rng = new Rng(11);
    const copy = Rng.fromState(rng.getState());
    const w = orthogonal(rows, cols, rng, 1);
    // The Gaussian matrix orthogonal() drew, row-major; torch factorises it (or its transpose if wide).
    const a = Float64Array.from({ length: rows * cols }, () => copy.normal());
    const wide = rows < cols;
    const m = wide ? cols : rows;
    const n = wide ? rows : cols;
    const aTall = (i: number, j: number) => (wide ? a[j * cols + i] : a[i * cols + j]);
    const qTall = (i: number, j: number) => (wide ? w[j * cols + i] : w[i * cols + j]);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let r = 0;
        for (let k = 0; k < m; k++) r += qTall(k, i) * aTall(k, j);
        if (i > j) expect(Math.abs(r)).toBeLessThan(1e-5);
        if (i === j) expect(r).toBeGreaterThan(0);
      }
    }
  });

  it("is deterministic per seed and differs across seeds", () => {
    expect(orthogonal(8, 5, new Rng(1))).toEqual(orthogonal(8, 5, new Rng(1)));
    expect(orthogonal(8, 5, new Rng(1))).not.toEqual(orthogonal(8, 5, new Rng(2)));
  });

  it("scales linearly with the gain", () => {
    const a = orthogonal(6, 4, new Rng(5), 1);
    const b = orthogonal(6, 4, new Rng(5), 0.01);
    for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i] * 0.01, 7);
  });

  it("rejects bad sizes and gains", () => {
    expect(() => orthogonal(0, 3, new Rng(0))).toThrow(/positive integer/);
    expect(() => orthogonal(2, 3, new Rng(0), Number.NaN)).toThrow(/gain/);
  });
});

describe("zeros", () => {
  it("gives a zero bias", () => {
    expect(zeros(3)).toEqual(new Float32Array([0, 0, 0]));
  });
});

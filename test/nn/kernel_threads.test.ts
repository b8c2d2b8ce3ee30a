import { execFileSync } from "node:child_process";
import { afterAll, describe, expect, it, vi } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { KernelArena } from "../../src/nn/kernels/arena.js";
import { gemmSimd, gemmSimdArena, setGemmThreads } from "../../src/nn/kernels/simd.js";
import { kernelThreadsAvailable } from "../../src/nn/kernels/threads.js";
import { TransformerArena } from "../../src/nn/kernels/transformer_arena.js";
import { TransformerLM, type TransformerConfig } from "../../src/nn/transformer.js";

// The kernels' second thread (src/nn/kernels/threads.ts): a helper thread on the arena's
// shared memory runs half of each large product and of attention. These tests make the
// helper run every half it is handed (takeBack off, no size threshold) and check that the
// results are bit for bit those of one thread; that the fallback without shared memory is
// one thread with the same results; and that the helper never keeps a process alive.

const rng = new Rng(7);
const normals = (count: number) => Float32Array.from({ length: count }, () => rng.normal());

/** An arena whose helper (threads 2) runs every split half, or a one-thread arena. */
function arena(threads: 1 | 2): KernelArena {
  const a = new KernelArena(65536, { threads, fma: false });
  if (threads === 2) {
    expect(a.helper).not.toBeNull();
    expect(a.helper!.waitUntilReady()).toBe(true);
    a.helper!.takeBack = false;
    a.minSplitMacs = 0;
  }
  return a;
}

const arenas: KernelArena[] = [];
afterAll(() => arenas.forEach((a) => a.close()));

/** Bit patterns, so -0 vs 0 and NaN payloads count as differences. */
const bits = (x: Float32Array) => new Uint32Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength));

describe("kernel helper thread", () => {
  it("is available in Node (shared WebAssembly memory and worker_threads)", () => {
    expect(kernelThreadsAvailable()).toBe(true);
  });

  it("splits gemm by rows and by columns with results identical to one thread", () => {
    const one = arena(1);
    const two = arena(2);
    arenas.push(one, two);
    // [m, k, n, bias, accumulate, act]: rows split (m ≥ 8 and m ≥ n), columns split (m = 4, or n > m), odd halves.
    const cases: [number, number, number, boolean, boolean, number][] = [
      [64, 48, 64, true, false, 0],
      [44, 33, 40, false, true, 1],
      [4, 17, 56, true, true, 2],
      [12, 0, 16, true, false, 1],
      [8, 130, 8, false, false, 0],
      [8, 20, 40, true, true, 1],
    ];
    let splits = 0;
    for (const [m, k, n, withBias, accumulate, act] of cases) {
      const A = normals(m * k);
      const B = normals(k * n);
      const C0 = normals(m * n);
      const bias = normals(n);
      const outs = [one, two].map((a) => {
        const [pa, pb, pc, pbias] = [A, B, C0, bias].map((x) => {
          const p = a.alloc(x.length);
          a.f32.set(x, p / 4);
          return p;
        });
        a.matmul(pa, pb, pc, m, k, n, withBias ? pbias : 0, accumulate, act);
        return a.f32.slice(pc / 4, pc / 4 + m * n);
      });
      expect(bits(outs[1])).toEqual(bits(outs[0]));
      if (m >= 8 || n >= 16) splits++;
    }
    expect(two.helper!.counts).toEqual({ helped: splits, stolen: 0 });
  });

  it("splits the blocked Aᵀ·B (weight gradients) with results identical to one thread", () => {
    const one = arena(1);
    const two = arena(2);
    arenas.push(one, two);
    for (const [m, k, n] of [
      [8, 50, 32],
      [64, 300, 24],
      [4, 130, 48],
      [20, 7, 8],
    ]) {
      const A = normals(k * m);
      const B = normals(k * n);
      const outs = [one, two].map((a) => {
        const [pa, pb] = [A, B].map((x) => {
          const p = a.alloc(x.length);
          a.f32.set(x, p / 4);
          return p;
        });
        const pc = a.alloc(m * n);
        a.matmulTn(pa, pb, pc, m, k, n);
        return a.f32.slice(pc / 4, pc / 4 + m * n);
      });
      expect(bits(outs[1])).toEqual(bits(outs[0]));
    }
    expect(two.helper!.counts.helped).toBe(4);
  });

  it("gemmSimd (the MLP networks' products) hands half of a large product to a helper, bit-identical, and starts none for small ones", () => {
    try {
      const [m, k, n] = [256, 96, 256];
      const A = normals(m * k);
      const B = normals(k * n);
      const bias = normals(n);
      const product = (transA: boolean) => gemmSimd(A, B, m, k, n, { transA, bias, activation: "relu" });
      setGemmThreads(1);
      const one = [product(false), product(true)];
      expect(gemmSimdArena()!.helper).toBeNull();
      setGemmThreads(2);
      product(false);
      const shared = gemmSimdArena()!;
      arenas.push(shared);
      expect(shared.helper!.waitUntilReady()).toBe(true);
      shared.helper!.takeBack = false;
      const two = [product(false), product(true)];
      expect(shared.helper!.counts.helped).toBeGreaterThanOrEqual(2);
      expect(bits(two[0])).toEqual(bits(one[0]));
      expect(bits(two[1])).toEqual(bits(one[1]));
      // A small product never starts the helper.
      setGemmThreads(1);
      setGemmThreads(2);
      gemmSimd(normals(64), normals(64), 8, 8, 8);
      expect(gemmSimdArena()!.helper).toBeNull();
    } finally {
      setGemmThreads("auto");
    }
  });

  it("gives a transformer training step and sampling steps identical to one thread", () => {
    const config: TransformerConfig = { vocabSize: 13, contextLength: 12, layers: 2, width: 16, heads: 2, ffWidth: 24 };
    const model = new TransformerLM(config, new Rng(3));
    const params = model.parameters();
    const shape = model.config;
    const runs = ([1, 2] as const).map((threads) => {
      const ta = new TransformerArena(shape, params, { threads, fma: false });
      if (threads === 2) {
        expect(ta.arena.helper!.waitUntilReady()).toBe(true);
        ta.arena.helper!.takeBack = false;
        ta.arena.minSplitMacs = 0;
      }
      arenas.push(ta.arena);
      const n = 5;
      const T = 11;
      const r = new Rng(9);
      const tokens = Int32Array.from({ length: n * T }, () => r.integer(0, 13));
      const starts = Int32Array.from([0, 3, 0, 1, 10]);
      const dLogits = Float32Array.from({ length: n * T * 13 }, () => r.normal());
      const { logits, trace } = ta.forward(tokens, n, T, starts, true);
      const grads = ta.backward(trace!, dLogits);
      const cache = ta.createCache(n, starts);
      const stepLogits = [0, 1, 2].map((t) => ta.step(cache, tokens.subarray(t * n, t * n + n)));
      return { out: [logits, ...grads, ...stepLogits], helped: ta.arena.helper?.counts.helped ?? 0 };
    });
    expect(runs[1].helped).toBeGreaterThan(0);
    expect(runs[1].out.length).toBe(runs[0].out.length);
    runs[0].out.forEach((x, i) => expect(bits(runs[1].out[i]), `array ${i}`).toEqual(bits(x)));
  });

  it("a model on 2 threads at the default threshold trains like one on 1 thread", () => {
    const config: TransformerConfig = { vocabSize: 24, contextLength: 16, layers: 1, width: 32, heads: 4 };
    const grads = ([1, 2] as const).map((threads) => {
      const model = new TransformerLM(config, new Rng(5));
      model.setBackend("kernels", { threads, fma: false });
      if (threads === 2) expect(model.waitForKernelThreads()).toBe(true);
      expect(model.kernelThreads).toBe(threads);
      const r = new Rng(6);
      const n = 64;
      const tokens = Int32Array.from({ length: n * 16 }, () => r.integer(0, 24));
      const dLogits = Float32Array.from({ length: n * 16 * 24 }, () => r.normal());
      const { trace } = model.forward(tokens, n, 16, null, true);
      const g = model.backward(trace!, dLogits);
      model.dispose();
      expect(model.kernelThreads).toBe(1);
      return g;
    });
    grads[0].forEach((g, i) => expect(bits(grads[1][i])).toEqual(bits(g)));
  });

  it("falls back to one thread on an ordinary memory where shared memory is missing", () => {
    vi.stubGlobal("SharedArrayBuffer", undefined);
    try {
      expect(kernelThreadsAvailable()).toBe(false);
      const a = new KernelArena(65536, { threads: 2, fma: false });
      expect(a.helper).toBeNull();
      expect(a.threads).toBe(1);
      const one = arena(1);
      const [A, B] = [normals(32 * 16), normals(16 * 24)];
      const outs = [a, one].map((x) => {
        const pa = x.alloc(A.length);
        const pb = x.alloc(B.length);
        const pc = x.alloc(32 * 24);
        x.f32.set(A, pa / 4);
        x.f32.set(B, pb / 4);
        x.matmul(pa, pb, pc, 32, 16, 24, 0, false);
        return x.f32.slice(pc / 4, pc / 4 + 32 * 24);
      });
      expect(bits(outs[0])).toEqual(bits(outs[1]));
    } finally {
      vi.unstubAllGlobals();
    }
    expect(kernelThreadsAvailable()).toBe(true);
  });

  it("stops the helper on close, and never keeps a process from exiting", () => {
    const a = arena(2);
    a.close();
    expect(a.threads).toBe(1);
    // A process that trains on 2 threads and ends without dispose() exits at once.
    const script = [
      'import { Rng } from "./src/core/rng.ts";',
      'import { TransformerLM } from "./src/nn/transformer.ts";',
      "const m = new TransformerLM({ vocabSize: 16, contextLength: 8, layers: 1, width: 32, heads: 4 }, new Rng(1));",
      'm.setBackend("kernels", { threads: 2 });',
      "if (!m.waitForKernelThreads()) throw new Error('helper did not start');",
      "const { trace } = m.forward(new Int32Array(64 * 8), 64, 8, null, true);",
      "m.backward(trace, new Float32Array(64 * 8 * 16));",
      "console.log('threads', m.kernelThreads);",
    ].join("\n");
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 60000 });
    expect(out.trim()).toBe("threads 2");
  });
});

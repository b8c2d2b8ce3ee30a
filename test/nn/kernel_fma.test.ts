import v8 from "node:v8";
import { afterAll, describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { KernelArena } from "../../src/nn/kernels/arena.js";
import { fmaKernelsAvailable } from "../../src/nn/kernels/simd.js";
import { TransformerLM, type TransformerConfig } from "../../src/nn/transformer.js";

// The fused multiply-add build of the gemm kernels (relaxed SIMD's f32x4.relaxed_madd),
// which the kernels use wherever WebAssembly.validate accepts it: Node ≥ 22 and current
// browsers by default, Node 20 behind --experimental-wasm-relaxed-simd, which this file
// turns on for its own process (the flag is read when a module is validated). Fused
// products round once per multiply-add instead of twice, so they differ from the plain
// build in the last bits: these tests compare them within float32 rounding, and where FMA
// is the default the other kernel tests' tolerances (1e-5 on logits, 1e-4 on gradients
// against the JS path) cover it too. One thread and two stay bit-identical under FMA.

v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
afterAll(() => v8.setFlagsFromString("--no-experimental-wasm-relaxed-simd"));

const rng = new Rng(11);
const normals = (count: number) => Float32Array.from({ length: count }, () => rng.normal());

/** max |a − b| / max |b|. */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

const bits = (x: Float32Array) => new Uint32Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength));

describe("fused multiply-add gemm kernels (relaxed SIMD)", () => {
  it("validate here once relaxed SIMD is on, and arenas use them by default", () => {
    expect(fmaKernelsAvailable()).toBe(true);
    const a = new KernelArena();
    expect(a.fma).toBe(true);
    expect(new KernelArena(65536, { fma: false }).fma).toBe(false);
  });

  it("agree with the plain build to float32 rounding, and with float64 sums", () => {
    const [m, k, n] = [36, 200, 40];
    const A = normals(m * k);
    const B = normals(k * n);
    const outs = [false, true].map((fma) => {
      const a = new KernelArena(65536, { fma });
      const pa = a.alloc(A.length);
      const pb = a.alloc(B.length);
      const pc = a.alloc(m * n);
      a.f32.set(A, pa / 4);
      a.f32.set(B, pb / 4);
      a.matmul(pa, pb, pc, m, k, n, 0, false);
      return a.f32.slice(pc / 4, pc / 4 + m * n);
    });
    const exact = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) exact[i * n + j] += A[i * k + p] * B[p * n + j];
    expect(relError(outs[1], outs[0])).toBeLessThan(1e-5);
    expect(relError(outs[1], exact)).toBeLessThan(1e-5);
    expect(relError(outs[0], exact)).toBeLessThan(1e-5);
  });

  it("train the transformer like the JS path (within the kernel tests' tolerances), bit-identical on 1 and 2 threads", () => {
    const config: TransformerConfig = { vocabSize: 40, contextLength: 32, layers: 2, width: 64, heads: 4 };
    const [n, T] = [16, 32];
    const r = new Rng(2);
    const tokens = Int32Array.from({ length: n * T }, () => r.integer(0, 40));
    const dLogits = Float32Array.from({ length: n * T * 40 }, () => r.normal());
    const run = (backend: "js" | "kernels", threads: 1 | 2) => {
      const model = new TransformerLM(config, new Rng(1));
      model.setBackend(backend, { threads, fma: backend === "kernels" ? true : undefined });
      if (threads === 2) expect(model.waitForKernelThreads()).toBe(true);
      expect(model.kernelFma).toBe(backend === "kernels");
      const { logits, trace } = model.forward(tokens, n, T, null, true);
      const grads = model.backward(trace!, dLogits);
      model.dispose();
      return [logits, ...grads];
    };
    const js = run("js", 1);
    const one = run("kernels", 1);
    const two = run("kernels", 2);
    expect(relError(one[0], js[0])).toBeLessThan(1e-5);
    one.slice(1).forEach((g, i) => expect(relError(g, js[i + 1]), `gradient ${i}`).toBeLessThan(1e-4));
    two.forEach((x, i) => expect(bits(x)).toEqual(bits(one[i])));
  });
});

import { ConfigError } from "../../core/errors.js";
import { GEMM_FMA_SHARED_WASM_BASE64, GEMM_FMA_WASM_BASE64, GEMM_SHARED_WASM_BASE64, GEMM_WASM_BASE64 } from "./gemm_wasm.js";
import { decodeBase64, fmaKernelsAvailable, type GemmExports } from "./modules.js";
import { CONTROL_WORDS, HelperOp, kernelThreadsAvailable, KernelHelper } from "./threads.js";
import { TRANSFORMER_SHARED_WASM_BASE64, TRANSFORMER_WASM_BASE64 } from "./transformer_wasm.js";

/**
 * One WebAssembly memory per model (its arena) with refinery's kernels instantiated on
 * it: gemm.wat and transformer.wat share the memory, so a network's weights, gradients
 * and activations stay where the kernels read them between calls. Blocks are addressed
 * by byte offset (16-aligned) and never move; views are re-made after the memory grows
 * (growing detaches the old ArrayBuffer).
 *
 * With `threads: 2` the memory is shared and a helper thread (threads.ts) runs half of
 * each large product (`matmul`, `matmulTn`) on it; with `fma` the gemm kernels fuse their
 * multiply-adds (relaxed SIMD), which changes results in the last bits.
 */

export interface TransformerKernelExports {
  exp(px: number, n: number): void;
  layernorm(px: number, pg: number, pb: number, pout: number, phat: number, prstd: number, rows: number, d: number): void;
  layernorm_back(pdy: number, phat: number, prstd: number, pg: number, rows: number, d: number, pdx: number, pdg: number, pdb: number): void;
  gelu(pu: number, pth: number, pact: number, n: number): void;
  gelu_back(pu: number, pth: number, pgrad: number, n: number): void;
  relu(pu: number, pact: number, n: number): void;
  relu_back(pu: number, pgrad: number, n: number): void;
  colsum(px: number, rows: number, cols: number, pout: number): void;
  attention(pqkv: number, pprobs: number, pattn: number, pscratch: number, n: number, T: number, H: number, hd: number, pstarts: number, scale: number): void;
  attention_back(pqkv: number, pprobs: number, pdattn: number, pdqkv: number, pscratch: number, n: number, T: number, H: number, hd: number, pstarts: number, scale: number): void;
  attention_step(pqkv: number, pkeys: number, pvalues: number, pattn: number, pscratch: number, n: number, H: number, hd: number, C: number, t: number, pstarts: number, scale: number): void;
  sumsq(px: number, n: number): number;
  adam(pw: number, pg: number, pm: number, pv: number, n: number, gscale: number, b1: number, b2: number, c1: number, c2: number, eps: number, step: number, rbc2: number): void;
}

export interface KernelArenaOptions {
  /** 1: everything on the calling thread; 2: a helper thread takes half of each large product (needs shared WebAssembly memory). Default 1. */
  threads?: 1 | 2;
  /** Fused multiply-adds in the gemm kernels (relaxed SIMD). Default: where WebAssembly.validate accepts them. */
  fma?: boolean;
}

const modules = new Map<string, WebAssembly.Module>();
function kernelModule(base64: string): WebAssembly.Module {
  let mod = modules.get(base64);
  if (mod === undefined) {
    mod = new WebAssembly.Module(decodeBase64(base64));
    modules.set(base64, mod);
  }
  return mod;
}

const PAGE = 65536;
/** A shared memory must declare its maximum; the kernels' shared builds import up to 65536 pages (4 GiB). */
const SHARED_MAX_PAGES = 65536;
/**
 * Products below this many multiply-adds run on one thread: handing half to the helper
 * costs a few microseconds (measured with bench/kernels.ts), which a smaller product
 * does not win back.
 */
export const MIN_SPLIT_MACS = 1 << 20;

/**
 * Whether a split product halves C's rows (else its columns): each thread then reads half
 * of A and all of B, or all of A and half of B, so the larger operand is the one halved
 * (m rows of A against n columns of B, both over k; rows need m ≥ 8, columns n ≥ 16).
 */
function byRows(m: number, n: number): boolean {
  return m >= 8 && (n < 16 || m >= n);
}

/** Stops a helper thread when its arena is garbage-collected without close(). */
const helpers = new FinalizationRegistry<KernelHelper>((helper) => helper.close());

export class KernelArena {
  readonly memory: WebAssembly.Memory;
  readonly gemm: GemmExports;
  readonly k: TransformerKernelExports;
  /** Whether the gemm kernels fuse multiply-adds (relaxed SIMD). */
  readonly fma: boolean;
  /** The helper thread, when the arena was made with threads: 2 and threads are available here. */
  readonly helper: KernelHelper | null = null;
  /** Splits below this many multiply-adds are not worth the hand-off (tests set 0 to split everything). */
  minSplitMacs = MIN_SPLIT_MACS;
  private top = 16; // offset 0 stays unused: a null pointer means "no bias" to gemm
  private readonly free = new Map<number, number[]>();
  private f32View: Float32Array;
  private i32View: Int32Array;

  constructor(initialBytes = PAGE, options: KernelArenaOptions = {}) {
    const fmaHere = fmaKernelsAvailable();
    if (options.fma === true && !fmaHere) {
      throw new ConfigError("fused multiply-add kernels need WebAssembly relaxed SIMD, which this platform lacks", "leave fma unset (Node ≥ 22 and current browsers have it; Node 20 needs --experimental-wasm-relaxed-simd)");
    }
    this.fma = options.fma ?? fmaHere;
    const shared = options.threads === 2 && kernelThreadsAvailable();
    const initial = Math.max(1, Math.ceil(initialBytes / PAGE));
    this.memory = new WebAssembly.Memory(shared ? { initial, maximum: SHARED_MAX_PAGES, shared: true } : { initial });
    const gemmModule = kernelModule(this.fma ? (shared ? GEMM_FMA_SHARED_WASM_BASE64 : GEMM_FMA_WASM_BASE64) : shared ? GEMM_SHARED_WASM_BASE64 : GEMM_WASM_BASE64);
    const transformerModule = kernelModule(shared ? TRANSFORMER_SHARED_WASM_BASE64 : TRANSFORMER_WASM_BASE64);
    const env = { env: { memory: this.memory } };
    this.gemm = new WebAssembly.Instance(gemmModule, env).exports as unknown as GemmExports;
    this.k = new WebAssembly.Instance(transformerModule, env).exports as unknown as TransformerKernelExports;
    this.f32View = new Float32Array(this.memory.buffer);
    this.i32View = new Int32Array(this.memory.buffer);
    if (shared) {
      this.helper = KernelHelper.start(this.memory, this.alloc(CONTROL_WORDS), { gemm: gemmModule, transformer: transformerModule });
      if (this.helper !== null) helpers.register(this, this.helper, this);
    }
  }

  /** Threads the products run on: 2 once the helper thread has started, else 1. */
  get threads(): 1 | 2 {
    return this.helper?.ready === true ? 2 : 1;
  }

  /** Stops the helper thread, if any (later products run on the calling thread). */
  close(): void {
    if (this.helper === null) return;
    helpers.unregister(this);
    this.helper.close();
  }

  /** The helper when it is ready and a product of `macs` multiply-adds is worth splitting. */
  private splitter(macs: number): KernelHelper | null {
    const h = this.helper;
    return h !== null && macs >= this.minSplitMacs && h.ready ? h : null;
  }

  /**
   * C[m, n] = A[m, k]·B[k, n] (+ C) (+ bias), act (gemm's codes): m % 4 = 0, n % 8 = 0.
   * Large products are split with the helper thread by rows of C, or by columns where B is the larger operand (byRows).
   */
  matmul(pa: number, pb: number, pc: number, m: number, k: number, n: number, pbias: number, accumulate: boolean, act = 0): void {
    const acc = accumulate ? 1 : 0;
    const h = m >= 8 || n >= 16 ? this.splitter(m * k * n) : null;
    if (h === null) {
      this.gemm.gemm(pa, pb, pc, m, k, n, pbias, acc, act);
      return;
    }
    const g = this.gemm;
    if (byRows(m, n)) {
      const m0 = Math.ceil(m / 8) * 4;
      const pa1 = pa + m0 * k * 4;
      const pc1 = pc + m0 * n * 4;
      h.split(
        HelperOp.Gemm,
        [pa1, pb, pc1, m - m0, k, n, k, n, n, pbias, acc, act],
        [],
        () => g.gemm_s(pa, pb, pc, m0, k, n, k, n, n, pbias, acc, act),
        () => g.gemm_s(pa1, pb, pc1, m - m0, k, n, k, n, n, pbias, acc, act),
      );
    } else {
      const n0 = Math.ceil(n / 16) * 8;
      const pb1 = pb + n0 * 4;
      const pc1 = pc + n0 * 4;
      const pbias1 = pbias === 0 ? 0 : pbias + n0 * 4;
      h.split(
        HelperOp.Gemm,
        [pa, pb1, pc1, m, k, n - n0, k, n, n, pbias1, acc, act],
        [],
        () => g.gemm_s(pa, pb, pc, m, k, n0, k, n, n, pbias, acc, act),
        () => g.gemm_s(pa, pb1, pc1, m, k, n - n0, k, n, n, pbias1, acc, act),
      );
    }
  }

  /**
   * C[m, n] = Aᵀ·B (+ C) (+ bias), act, with A stored [k, m] and B [k, n] (m % 4 = 0,
   * n % 8 = 0): a weight gradient xᵀ·dz. The kernel walks k in cache-sized chunks itself.
   * Split like `matmul`.
   */
  matmulTn(pa: number, pb: number, pc: number, m: number, k: number, n: number, pbias = 0, accumulate = false, act = 0): void {
    const acc = accumulate ? 1 : 0;
    const h = m >= 8 || n >= 16 ? this.splitter(m * k * n) : null;
    const g = this.gemm;
    if (h === null) {
      g.gemm_tn(pa, pb, pc, m, k, n, pbias, acc, act);
    } else if (byRows(m, n)) {
      const m0 = Math.ceil(m / 8) * 4;
      const [pa1, pc1] = [pa + m0 * 4, pc + m0 * n * 4];
      h.split(
        HelperOp.GemmTn,
        [pa1, pb, pc1, m - m0, k, n, m, n, n, pbias, acc, act],
        [],
        () => g.gemm_tn_s(pa, pb, pc, m0, k, n, m, n, n, pbias, acc, act),
        () => g.gemm_tn_s(pa1, pb, pc1, m - m0, k, n, m, n, n, pbias, acc, act),
      );
    } else {
      const n0 = Math.ceil(n / 16) * 8;
      const [pb1, pc1] = [pb + n0 * 4, pc + n0 * 4];
      const pbias1 = pbias === 0 ? 0 : pbias + n0 * 4;
      h.split(
        HelperOp.GemmTn,
        [pa, pb1, pc1, m, k, n - n0, m, n, n, pbias1, acc, act],
        [],
        () => g.gemm_tn_s(pa, pb, pc, m, k, n0, m, n, n, pbias, acc, act),
        () => g.gemm_tn_s(pa, pb1, pc1, m, k, n - n0, m, n, n, pbias1, acc, act),
      );
    }
  }

  /** A float32 view of the whole arena (fresh after growth). */
  get f32(): Float32Array {
    if (this.f32View.buffer !== this.memory.buffer) this.refresh();
    return this.f32View;
  }

  get i32(): Int32Array {
    if (this.i32View.buffer !== this.memory.buffer) this.refresh();
    return this.i32View;
  }

  /** A block of `floats` floats (contents undefined); its byte offset. */
  alloc(floats: number): number {
    const bytes = Math.ceil(Math.max(floats, 1) / 4) * 16;
    const reused = this.free.get(bytes)?.pop();
    if (reused !== undefined) return reused;
    const ptr = this.top;
    this.top += bytes;
    const have = this.memory.buffer.byteLength;
    if (this.top > have) this.memory.grow(Math.ceil((this.top - have) / PAGE));
    return ptr;
  }

  /** Hands a block from `alloc(floats)` back for reuse. */
  release(ptr: number, floats: number): void {
    const bytes = Math.ceil(Math.max(floats, 1) / 4) * 16;
    let list = this.free.get(bytes);
    if (list === undefined) {
      list = [];
      this.free.set(bytes, list);
    }
    list.push(ptr);
  }

  /** Bytes the arena holds. */
  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  private refresh(): void {
    this.f32View = new Float32Array(this.memory.buffer);
    this.i32View = new Int32Array(this.memory.buffer);
  }
}

import { decodeBase64, instantiateGemm, type GemmExports } from "./simd.js";
import { TRANSFORMER_WASM_BASE64 } from "./transformer_wasm.js";

/**
 * One WebAssembly memory per model (its arena) with refinery's kernels instantiated on
 * it: gemm.wat and transformer.wat share the memory, so a network's weights, gradients
 * and activations stay where the kernels read them between calls. Blocks are addressed
 * by byte offset (16-aligned) and never move; views are re-made after the memory grows
 * (growing detaches the old ArrayBuffer).
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
  attention(pqkv: number, pprobs: number, pattn: number, n: number, T: number, H: number, hd: number, pstarts: number, scale: number): void;
  attention_back(pqkv: number, pprobs: number, pdattn: number, pdqkv: number, pscratch: number, n: number, T: number, H: number, hd: number, pstarts: number, scale: number): void;
  attention_step(pqkv: number, pkeys: number, pvalues: number, pattn: number, pscratch: number, n: number, H: number, hd: number, C: number, t: number, pstarts: number, scale: number): void;
  sumsq(px: number, n: number): number;
  adam(pw: number, pg: number, pm: number, pv: number, n: number, gscale: number, b1: number, b2: number, c1: number, c2: number, eps: number, step: number, rbc2: number): void;
}

let transformerModule: WebAssembly.Module | undefined;

const PAGE = 65536;

export class KernelArena {
  readonly memory: WebAssembly.Memory;
  readonly gemm: GemmExports;
  readonly k: TransformerKernelExports;
  private top = 16; // offset 0 stays unused: a null pointer means "no bias" to gemm
  private readonly free = new Map<number, number[]>();
  private f32View: Float32Array;
  private i32View: Int32Array;

  constructor(initialBytes = PAGE) {
    this.memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(initialBytes / PAGE)) });
    this.gemm = instantiateGemm(this.memory);
    transformerModule ??= new WebAssembly.Module(decodeBase64(TRANSFORMER_WASM_BASE64));
    this.k = new WebAssembly.Instance(transformerModule, { env: { memory: this.memory } }).exports as unknown as TransformerKernelExports;
    this.f32View = new Float32Array(this.memory.buffer);
    this.i32View = new Int32Array(this.memory.buffer);
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

import * as tf from "#tfjs-core";
import { ConfigError, describeValue } from "../core/errors.js";
import type { Rng } from "../core/rng.js";
import { Dict, Discrete, flatSize, MultiDiscrete, type Space } from "../core/spaces.js";
import { createVariable } from "./variables.js";

/**
 * The feature extractor of grid-world policies (`features: "grid"`): it turns MiniGrid's
 * Dict observation, as the raw row a vector env writes (sorted keys: `direction` 1 number,
 * `image` cells × 3 indices, `mission` token ids), into a flat feature vector for the
 * actor and critic MLPs:
 *
 *   cell c → E_cell · [onehot(object) ; onehot(colour) ; onehot(state)]   (cellDim each, one E for every cell)
 *   mission → mean over its non-pad tokens of E_tok · onehot(token)      (tokenDim)
 *   direction → onehot(direction)                                         (4)
 *   features = [cell 0 … cell 48, mission, direction]
 *
 * The MLP head's first layer then acts as the MLP over the 7×7 grid. Embeddings are one-hot
 * × matrix rather than gathers (gather's gradient is missing on the wasm backend). The
 * features are linear in both matrices, so the backward pass is a sum of outer products
 * (`backward`), checked against tfjs's autodiff of `apply`.
 */

export interface GridFeaturesOptions {
  /** Embedding width of a cell. Default 8. */
  cellDim?: number;
  /** Embedding width of a mission token. Default 8. */
  tokenDim?: number;
  rng: Rng;
  /** Variable-name prefix. Default "features". */
  name?: string;
}

/** What `spec` records (with the observation space, it rebuilds the extractor). */
export interface GridFeaturesSpec {
  kind: "grid";
  cellDim: number;
  tokenDim: number;
}

/** Where the parts sit in a raw row, and their sizes. */
interface Layout {
  rowSize: number;
  imageAt: number;
  cells: number;
  /** Values per channel: objects, colours, states. */
  channels: [number, number, number];
  directionAt: number;
  directions: number;
  missionAt: number;
  missionLength: number;
  vocab: number;
}

function layoutOf(space: Space<unknown>): Layout {
  const fix = "train with features=grid on a grid env (MiniGrid-…/BabyAI-…), whose Dict observation it reads";
  if (!(space instanceof Dict) || !(space.spaces.image instanceof MultiDiscrete)) {
    throw new ConfigError(`the grid feature extractor needs a Dict observation with a MultiDiscrete "image", got ${describeValue(String(space))}`, fix);
  }
  const image = space.spaces.image;
  const nvec = Array.from(image.nvec);
  if (nvec.length % 3 !== 0 || nvec.length === 0) throw new ConfigError(`the grid image has ${nvec.length} values, not cells × 3`, fix);
  const channels: [number, number, number] = [nvec[0], nvec[1], nvec[2]];
  const layout: Layout = { rowSize: flatSize(space), imageAt: -1, cells: nvec.length / 3, channels, directionAt: -1, directions: 0, missionAt: -1, missionLength: 0, vocab: 0 };
  let at = 0;
  for (const key of space.keys) {
    const part = space.spaces[key];
    if (key === "image") layout.imageAt = at;
    else if (key === "direction" && part instanceof Discrete) {
      layout.directionAt = at;
      layout.directions = part.n;
    } else if (key === "mission" && part instanceof MultiDiscrete) {
      layout.missionAt = at;
      layout.missionLength = part.nvec.length;
      layout.vocab = Math.max(...Array.from(part.nvec));
    }
    at += flatSize(part);
  }
  return layout;
}

export class GridFeatures {
  readonly cellEmbed: tf.Variable<tf.Rank.R2>;
  /** Null when the observation has no mission. */
  readonly tokenEmbed: tf.Variable<tf.Rank.R2> | null;
  readonly inputSize: number;
  readonly outputSize: number;
  readonly spec: GridFeaturesSpec;
  readonly paramNames: string[];
  private readonly layout: Layout;
  private readonly cellDim: number;
  private readonly tokenDim: number;
  /** Rows of E_cell: objects + colours + states. */
  private readonly cellInput: number;
  private fastCell: Float32Array;
  private fastToken: Float32Array;

  constructor(observationSpace: Space<unknown>, options: GridFeaturesOptions) {
    this.layout = layoutOf(observationSpace);
    const L = this.layout;
    this.cellDim = positive("cellDim", options.cellDim ?? 8);
    this.tokenDim = L.missionLength > 0 ? positive("tokenDim", options.tokenDim ?? 8) : 0;
    this.cellInput = L.channels[0] + L.channels[1] + L.channels[2];
    const name = options.name ?? "features";
    this.inputSize = L.rowSize;
    this.outputSize = L.cells * this.cellDim + this.tokenDim + L.directions;
    // N(0, 1) embeddings, as torch's nn.Embedding.
    const cell = Float32Array.from({ length: this.cellInput * this.cellDim }, () => options.rng.normal());
    this.cellEmbed = createVariable(() => tf.tensor2d(cell, [this.cellInput, this.cellDim]), true, `${name}/cell_embed`);
    this.fastCell = cell;
    this.paramNames = [`${name}/cell_embed`];
    if (this.tokenDim > 0) {
      const tok = Float32Array.from({ length: L.vocab * this.tokenDim }, () => options.rng.normal());
      this.tokenEmbed = createVariable(() => tf.tensor2d(tok, [L.vocab, this.tokenDim]), true, `${name}/token_embed`);
      this.fastToken = tok;
      this.paramNames.push(`${name}/token_embed`);
    } else {
      this.tokenEmbed = null;
      this.fastToken = new Float32Array(0);
    }
    this.spec = { kind: "grid", cellDim: this.cellDim, tokenDim: options.tokenDim ?? 8 };
  }

  get variables(): tf.Variable[] {
    return this.tokenEmbed ? [this.cellEmbed, this.tokenEmbed] : [this.cellEmbed];
  }

  get paramShapes(): number[][] {
    return this.variables.map((v) => [...v.shape]);
  }

  /** Features of `batch` raw rows, typed arrays only (acting; the loss's forward). */
  forward(obs: Float32Array, batch: number, out = new Float32Array(batch * this.outputSize)): Float32Array {
    const L = this.layout, d = this.cellDim, m = this.tokenDim, F = this.outputSize;
    const [nObj, nCol] = L.channels;
    for (let r = 0; r < batch; r++) {
      const row = r * L.rowSize, o = r * F;
      for (let c = 0; c < L.cells; c++) {
        const at = row + L.imageAt + 3 * c;
        const rows = [this.index(obs[at], 0), nObj + this.index(obs[at + 1], 1), nObj + nCol + this.index(obs[at + 2], 2)];
        for (let k = 0; k < d; k++) out[o + c * d + k] = this.fastCell[rows[0] * d + k] + this.fastCell[rows[1] * d + k] + this.fastCell[rows[2] * d + k];
      }
      let at = o + L.cells * d;
      if (m > 0) {
        for (let k = 0; k < m; k++) out[at + k] = 0;
        const count = this.missionCount(obs, row);
        for (let j = 0; j < L.missionLength; j++) {
          const t = obs[row + L.missionAt + j];
          if (t === 0) continue;
          const tok = this.token(t);
          for (let k = 0; k < m; k++) out[at + k] += this.fastToken[tok * m + k] / count;
        }
        at += m;
      }
      for (let k = 0; k < L.directions; k++) out[at + k] = obs[row + L.directionAt] === k ? 1 : 0;
    }
    return out;
  }

  /** The same features as tensors, differentiable in both embeddings; call inside tf.tidy or a loss. */
  apply(obs: tf.Tensor2D): tf.Tensor2D {
    const L = this.layout;
    const B = obs.shape[0];
    const ints = tf.cast(obs, "int32");
    const image = tf.reshape(tf.slice(ints, [0, L.imageAt], [B, L.cells * 3]), [B * L.cells, 3]);
    const hot = (col: number, n: number) => tf.oneHot(tf.reshape(tf.slice(image, [0, col], [B * L.cells, 1]), [-1]) as tf.Tensor1D, n);
    const cellIn = tf.cast(tf.concat([hot(0, L.channels[0]), hot(1, L.channels[1]), hot(2, L.channels[2])], 1), "float32") as tf.Tensor2D;
    const parts: tf.Tensor2D[] = [tf.reshape(tf.matMul(cellIn, this.cellEmbed), [B, L.cells * this.cellDim])];
    if (this.tokenEmbed) {
      const tokens = tf.slice(ints, [0, L.missionAt], [B, L.missionLength]);
      const counts = tf.sum(tf.cast(tf.oneHot(tokens as tf.Tensor2D, L.vocab), "float32"), 1) as tf.Tensor2D; // [B, vocab]
      // Pad tokens (id 0) do not count; the mean is over the real ones (at least one).
      const notPad = tf.concat([tf.zeros([B, 1]), tf.ones([B, L.vocab - 1])], 1);
      const real = tf.mul(counts, notPad);
      const n = tf.maximum(tf.sum(real, 1, true), 1);
      parts.push(tf.matMul(tf.div(real, n), this.tokenEmbed) as tf.Tensor2D);
    }
    if (L.directions > 0) {
      const dir = tf.reshape(tf.slice(ints, [0, L.directionAt], [B, 1]), [-1]) as tf.Tensor1D;
      parts.push(tf.cast(tf.oneHot(dir, L.directions), "float32") as tf.Tensor2D);
    }
    return tf.concat(parts, 1) as tf.Tensor2D;
  }

  /**
   * Gradients of a loss with respect to the embeddings, given dL/dfeatures per row (what the
   * MLPs' backward passes give for their input): dE_cell[i] = Σ over rows and cells whose
   * one-hot has i of the cell's feature gradient; dE_tok[t] = Σ over rows of count(t)/n ·
   * the mission's feature gradient. In `variables` order.
   */
  backward(obs: Float32Array, batch: number, dFeatures: Float32Array): Float32Array[] {
    const L = this.layout, d = this.cellDim, m = this.tokenDim, F = this.outputSize;
    const [nObj, nCol] = L.channels;
    const dCell = new Float64Array(this.cellInput * d);
    const dTok = new Float64Array(L.vocab * m);
    for (let r = 0; r < batch; r++) {
      const row = r * L.rowSize, o = r * F;
      for (let c = 0; c < L.cells; c++) {
        const at = row + L.imageAt + 3 * c;
        const rows = [this.index(obs[at], 0), nObj + this.index(obs[at + 1], 1), nObj + nCol + this.index(obs[at + 2], 2)];
        for (const i of rows) for (let k = 0; k < d; k++) dCell[i * d + k] += dFeatures[o + c * d + k];
      }
      if (m > 0) {
        const at = o + L.cells * d;
        const count = this.missionCount(obs, row);
        for (let j = 0; j < L.missionLength; j++) {
          const t = obs[row + L.missionAt + j];
          if (t === 0) continue;
          const tok = this.token(t);
          for (let k = 0; k < m; k++) dTok[tok * m + k] += dFeatures[at + k] / count;
        }
      }
    }
    return m > 0 ? [Float32Array.from(dCell), Float32Array.from(dTok)] : [Float32Array.from(dCell)];
  }

  /** Refreshes the typed-array copies `forward` reads; call after each optimiser step. */
  syncFastWeights(): void {
    this.fastCell = Float32Array.from(this.cellEmbed.dataSync() as Float32Array);
    if (this.tokenEmbed) this.fastToken = Float32Array.from(this.tokenEmbed.dataSync() as Float32Array);
  }

  getWeights(): Float32Array[] {
    return this.variables.map((v) => Float32Array.from(v.dataSync() as Float32Array));
  }

  setWeights(arrays: readonly Float32Array[]): void {
    const vars = this.variables;
    if (arrays.length !== vars.length || arrays.some((a, i) => !(a instanceof Float32Array) || a.length !== vars[i].size)) {
      throw new ConfigError(`grid features need ${vars.length} weight arrays of sizes ${vars.map((v) => v.size).join(", ")}, got ${describeValue(arrays)}`, "load weights saved from a policy with the same features and observation");
    }
    tf.tidy(() => vars.forEach((v, i) => v.assign(tf.tensor(arrays[i], v.shape))));
    this.syncFastWeights();
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }

  private index(v: number, channel: number): number {
    const n = this.layout.channels[channel];
    if (!(v >= 0 && v < n && Number.isInteger(v))) {
      throw new ConfigError(`grid features: image channel ${channel} has value ${describeValue(v)}, outside [0, ${n})`, "feed raw Dict rows of the grid env the policy was built for");
    }
    return v;
  }

  private token(t: number): number {
    if (!(t >= 0 && t < this.layout.vocab && Number.isInteger(t))) {
      throw new ConfigError(`grid features: mission token ${describeValue(t)} outside [0, ${this.layout.vocab})`, "feed raw Dict rows of the grid env the policy was built for");
    }
    return t;
  }

  /** Non-pad tokens of a row's mission, at least 1 (an empty mission gives zero features). */
  private missionCount(obs: Float32Array, row: number): number {
    let n = 0;
    for (let j = 0; j < this.layout.missionLength; j++) if (obs[row + this.layout.missionAt + j] !== 0) n++;
    return Math.max(n, 1);
  }
}

function positive(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new ConfigError(`grid features: ${name} must be a positive integer, got ${describeValue(v)}`, `pass e.g. ${name}: 8`);
  return v;
}

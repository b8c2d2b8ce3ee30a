import { ConfigError, describeValue } from "../core/errors.js";
import type { Rng } from "../core/rng.js";

/**
 * Weight initialisers, computed in plain JS from an explicit Rng so that a seed gives the
 * same network on every backend and platform.
 */

/**
 * Orthogonal initialisation with the semantics of `torch.nn.init.orthogonal_` (what
 * CleanRL's `layer_init` uses): draw a `rows × cols` standard-normal matrix (row-major,
 * `rows * cols` draws of `rng.normal()`), transpose it if it is wide, take the reduced QR
 * decomposition, flip each column of Q by the sign of R's diagonal (so the result does not
 * depend on the QR algorithm's sign convention), transpose back and scale by `gain`.
 *
 * Returns the `rows × cols` matrix row-major. Its rows (if rows ≤ cols) or its columns
 * (if rows ≥ cols) are orthonormal, times `gain`.
 */
export function orthogonal(rows: number, cols: number, rng: Rng, gain = 1): Float32Array {
  checkDim(rows, "rows");
  checkDim(cols, "cols");
  if (!Number.isFinite(gain)) {
    throw new ConfigError(`orthogonal gain must be a finite number, got ${describeValue(gain)}`, "pass e.g. Math.SQRT2, 1 or 0.01");
  }
  const gaussian = new Float64Array(rows * cols);
  for (let i = 0; i < gaussian.length; i++) gaussian[i] = rng.normal();

  // Work on a tall matrix (m ≥ n), as torch does by transposing wide ones.
  const wide = rows < cols;
  const m = wide ? cols : rows;
  const n = wide ? rows : cols;
  const tall = wide ? transpose(gaussian, rows, cols) : gaussian;
  const q = orthonormalColumns(tall, m, n);

  const out = new Float32Array(rows * cols);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      // q is m×n; the result is q (tall) or qᵀ (wide).
      const dst = wide ? j * cols + i : i * cols + j;
      out[dst] = gain * q[i * n + j];
    }
  }
  return out;
}

/** A zero-filled bias (CleanRL initialises every bias to 0). */
export function zeros(length: number): Float32Array {
  checkDim(length, "length");
  return new Float32Array(length);
}

/**
 * PyTorch's default `nn.Linear` initialisation (what SB3 keeps with `ortho_init=False`):
 * `kaiming_uniform_(a=√5)` on the weight, which works out to uniform(±1/√fan_in), and a
 * bias uniform(±1/√fan_in). Draws the `fanOut × fanIn` weight row-major (torch's [out, in]
 * layout), then the bias, with one `rng.uniform` each.
 */
export function linearDefault(fanIn: number, fanOut: number, rng: Rng): { weight: Float32Array; bias: Float32Array } {
  checkDim(fanIn, "fanIn");
  checkDim(fanOut, "fanOut");
  const bound = 1 / Math.sqrt(fanIn);
  const weight = new Float32Array(fanOut * fanIn);
  for (let i = 0; i < weight.length; i++) weight[i] = rng.uniform(-bound, bound);
  const bias = new Float32Array(fanOut);
  for (let i = 0; i < fanOut; i++) bias[i] = rng.uniform(-bound, bound);
  return { weight, bias };
}

/**
 * The Q of the reduced QR decomposition of the tall m×n matrix `a` (row-major, m ≥ n),
 * with columns signed so that R has a non-negative diagonal — i.e. the unique Q whose
 * Qᵀ·a is upper triangular with a positive diagonal.
 *
 * Householder reflections in float64: stable and exact enough that the float32 result
 * is orthonormal to ~1e-7.
 */
export function orthonormalColumns(a: Float64Array, m: number, n: number): Float64Array {
  const r = Float64Array.from(a); // becomes R in its upper triangle
  const vs: Float64Array[] = []; // Householder vectors, v_k has length m - k
  for (let k = 0; k < n; k++) {
    const v = new Float64Array(m - k);
    let norm2 = 0;
    for (let i = k; i < m; i++) {
      v[i - k] = r[i * n + k];
      norm2 += v[i - k] * v[i - k];
    }
    const alpha = -(v[0] >= 0 ? 1 : -1) * Math.sqrt(norm2);
    v[0] -= alpha;
    const vnorm2 = norm2 - r[k * n + k] * r[k * n + k] + v[0] * v[0];
    if (vnorm2 > 0) {
      applyReflection(r, m, n, k, v, vnorm2, k);
    }
    vs.push(vnorm2 > 0 ? scaleForReflection(v, vnorm2) : v.fill(0));
  }

  // Q = H_0 H_1 … H_{n-1} applied to the first n columns of the identity.
  const q = new Float64Array(m * n);
  for (let j = 0; j < n; j++) q[j * n + j] = 1;
  for (let k = n - 1; k >= 0; k--) {
    applyScaledReflection(q, m, n, k, vs[k]);
  }

  // Sign correction by diag(R): torch multiplies Q's columns by sign(R_jj).
  for (let j = 0; j < n; j++) {
    if (r[j * n + j] < 0) {
      for (let i = 0; i < m; i++) q[i * n + j] = -q[i * n + j];
    }
  }
  return q;
}

/** r ← (I − 2vvᵀ/‖v‖²) r on rows k…m−1, columns from `fromCol`. */
function applyReflection(r: Float64Array, m: number, n: number, k: number, v: Float64Array, vnorm2: number, fromCol: number): void {
  for (let j = fromCol; j < n; j++) {
    let dot = 0;
    for (let i = k; i < m; i++) dot += v[i - k] * r[i * n + j];
    const f = (2 * dot) / vnorm2;
    for (let i = k; i < m; i++) r[i * n + j] -= f * v[i - k];
  }
}

/** v scaled by √(2/‖v‖²), so a reflection is simply x ← x − v(vᵀx). */
function scaleForReflection(v: Float64Array, vnorm2: number): Float64Array {
  const s = Math.sqrt(2 / vnorm2);
  for (let i = 0; i < v.length; i++) v[i] *= s;
  return v;
}

function applyScaledReflection(q: Float64Array, m: number, n: number, k: number, v: Float64Array): void {
  for (let j = 0; j < n; j++) {
    let dot = 0;
    for (let i = k; i < m; i++) dot += v[i - k] * q[i * n + j];
    if (dot === 0) continue;
    for (let i = k; i < m; i++) q[i * n + j] -= dot * v[i - k];
  }
}

function transpose(a: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
  return t;
}

function checkDim(x: number, what: string): void {
  if (!Number.isSafeInteger(x) || x < 1) {
    throw new ConfigError(`orthogonal/zeros/linearDefault ${what} must be a positive integer, got ${describeValue(x)}`, "pass a layer size such as 64");
  }
}

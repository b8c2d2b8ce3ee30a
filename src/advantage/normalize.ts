/**
 * Advantage normalisation as CleanRL applies it per minibatch (docs/methods.md §1,
 * `norm_adv`):
 *
 *   Â = (A − mean(A)) / (std(A) + eps)
 *
 * `std` is the unbiased one (divide by n − 1, PyTorch's `torch.std` default) unless
 * `stdKind` says "population" (divide by n); every normaliser names which (docs/methods.md, notation).
 * Sums run in float64 so long minibatches lose no precision; the result is a new array.
 *
 * Edge cases: an empty input gives an empty output. A single element has no unbiased
 * std (PyTorch returns NaN and so does CleanRL's Â); here its std is taken as 0, so the
 * output is A − mean = 0 — a minibatch of one then carries no policy-gradient signal
 * instead of poisoning the update with NaN. All-equal advantages likewise give zeros.
 */
export type StdKind = "unbiased" | "population";

export function normalizeAdvantages(adv: Float32Array, eps = 1e-8, stdKind: StdKind = "unbiased"): Float32Array {
  const n = adv.length;
  const out = new Float32Array(n);
  if (n === 0) return out;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += adv[i];
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (adv[i] - mean) ** 2;
  const dof = stdKind === "unbiased" ? n - 1 : n;
  const std = dof > 0 ? Math.sqrt(squares / dof) : 0;
  const denominator = std + eps;
  for (let i = 0; i < n; i++) out[i] = (adv[i] - mean) / denominator;
  return out;
}

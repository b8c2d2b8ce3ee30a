import { ConfigError } from "../core/errors.js";
import { Rng } from "../core/rng.js";
import { CharTokenizer, DEFAULT_CHARS } from "../envs/text/tokenizer.js";
import { fileExists, joinLocation } from "../core/platform.js";
import { loadWeights } from "../nn/weights_load.js";
import { TokenPolicy, type ModelOptions, type TokenPolicySpec } from "../policies/token_policy.js";

/** A fresh text policy over a character set (default: the built-in tasks' characters). */
export function newTextPolicy(model: ModelOptions, rng: Rng, chars: string | null = null): TokenPolicy {
  return TokenPolicy.create(model, new CharTokenizer(chars ?? DEFAULT_CHARS), rng);
}

/** Where the saved policy of a run directory (or a policy directory) is. */
export function findPolicyDir(dir: string, which: "policy" | "best" = "policy"): string {
  const candidates = [joinLocation(dir, which), dir];
  // fileExists is null where files cannot be checked (a URL): then take the first candidate and let loading report it.
  const found = candidates.find((d) => fileExists(joinLocation(d, "model.json")) !== false);
  if (!found) {
    throw new ConfigError(
      `no saved policy in ${dir} (looked for ${candidates.map((c) => joinLocation(c, "model.json")).join(", ")})`,
      "pass a run directory whose training finished (e.g. one made by `refinery sft`), or a policy directory",
      "policy_not_found",
    );
  }
  return found;
}

/** The saved text policy of a run directory (its `policy/`, or `best/`), with its spec. */
export async function loadTextPolicyWithSpec(dir: string, which: "policy" | "best" = "policy"): Promise<{ policy: TokenPolicy; spec: TokenPolicySpec & Record<string, unknown> }> {
  const found = findPolicyDir(dir, which);
  const { arrays, extra } = await loadWeights(found);
  const spec = extra as unknown as TokenPolicySpec & Record<string, unknown>;
  if (spec.kind !== "token-lm") {
    throw new ConfigError(`${found} holds a "${String(spec.kind)}" policy, not a text policy`, "start a text run from a run made on a text task (refinery sft --task ...)", "unsupported_policy");
  }
  const policy = TokenPolicy.fromSpec(spec, new Rng(0));
  const weights: Record<string, Float32Array> = {};
  for (const a of arrays) weights[a.name] = a.data as Float32Array;
  policy.setWeights(weights);
  return { policy, spec };
}

export async function loadTextPolicy(dir: string, which: "policy" | "best" = "policy"): Promise<TokenPolicy> {
  return (await loadTextPolicyWithSpec(dir, which)).policy;
}

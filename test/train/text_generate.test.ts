import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPolicy, loadTextPolicy, resolveConfig, train, type LoadedTextPolicy, type TokenPolicy } from "../../src/node.js";
import { Rng } from "../../src/core/rng.js";
import { combineRewards } from "../../src/envs/text/rewards.js";
import { makeTask } from "../../src/envs/text/registry.js";
import { problemSet } from "../../src/envs/text/task.js";
import { EOS } from "../../src/envs/text/tokenizer.js";
import { evaluateText } from "../../src/train/text_eval.js";
import { saveWeights } from "../../src/nn/io.js";

const root = mkdtempSync(join(tmpdir(), "refinery-text-generate-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const TINY = { layers: 1, width: 16, heads: 2, contextLength: 24, ffWidth: 32, activation: "gelu" as const };
const PROMPTS = ["1+2=", "3+4=", "9+9=", "0+5=", "7+1=", "6+6="];
const runDir = join(root, "sft");
let lm: LoadedTextPolicy;

beforeAll(async () => {
  const config = resolveConfig({
    algo: "sft",
    overrides: { task: "addition", taskOptions: { digits: 1 }, model: TINY, iterations: 20, batchSize: 16, evalProblems: 8, backend: "cpu", seed: 3 },
  });
  await train({ runDir, algo: "sft", config, store: false });
  lm = await loadTextPolicy(runDir, { backend: "cpu" });
}, 120_000);

/** Greedy decoding with a full forward over the whole sequence at every step (no key/value cache). */
function greedyByFullForward(policy: TokenPolicy, prompt: string, maxTokens: number): string {
  const tokens = Array.from(policy.encodeContext(prompt));
  const V = policy.vocabSize;
  const out: number[] = [];
  for (let t = 0; t < maxTokens; t++) {
    const { logits } = policy.model.forward(Int32Array.from(tokens), 1, tokens.length, null, false);
    const row = logits.subarray((tokens.length - 1) * V, tokens.length * V);
    let best = 0;
    for (let v = 1; v < V; v++) if (row[v] > row[best]) best = v;
    out.push(best);
    tokens.push(best);
    if (best === EOS) break;
  }
  return policy.tokenizer.decode(out);
}

describe("loadTextPolicy", () => {
  it("loads a text run with its task, temperature and completion length", () => {
    expect(lm.task).toBe("addition");
    expect(lm.taskOptions).toEqual({ digits: 1 });
    expect(lm.temperature).toBe(1);
    expect(lm.maxCompletionLength).toBeGreaterThan(0);
    expect(lm.chars).toBe(lm.policy.tokenizer.chars);
  });

  it("generates greedily by default, the same as a full-forward argmax decode and as the policy's own greedy sampler", () => {
    const max = lm.maxCompletionLength as number;
    const own = lm.policy.sample(
      PROMPTS.map((p) => lm.policy.encodeContext(p)),
      new Rng(0),
      { temperature: 0, topK: 0, maxNewTokens: max },
      (_rows, tokens) => Uint8Array.from(tokens, (t) => (t === EOS ? 1 : 0)),
    );
    for (let i = 0; i < PROMPTS.length; i++) {
      const text = lm.generate(PROMPTS[i]);
      expect(text).toBe(greedyByFullForward(lm.policy, PROMPTS[i], max));
      expect(text).toBe(lm.policy.tokenizer.decode(own.tokens[i]));
      expect(lm.generate(PROMPTS[i], { temperature: 0, seed: 99 })).toBe(text);
    }
    expect(lm.generateBatch(PROMPTS)).toEqual(PROMPTS.map((p) => lm.generate(p)));
    // The comparison means something only if the model writes something.
    expect(PROMPTS.some((p) => lm.generate(p).length > 0)).toBe(true);
  });

  it("scores held-out problems as `refinery eval`'s greedy pass@1 does", () => {
    const task = makeTask("addition", { digits: 1 });
    const problems = problemSet(task, "test", 30, 0, { upTo: true });
    const reward = combineRewards([{ fn: "correct", weight: 1 }]);
    const max = lm.maxCompletionLength as number;
    const evalResult = evaluateText(lm.policy, task, reward, problems, { samples: 1, temperature: 0, maxCompletionLength: max, seed: 0 });
    const answers = lm.generateBatch(problems.map((p) => p.prompt));
    const correct = problems.filter((p, i) => task.verify(p, answers[i]) >= 1).length;
    expect(correct / problems.length).toBeCloseTo(evalResult.passAt1, 10);
  });

  it("loads the policy/ directory itself, and best/ is an error when no evaluation wrote it", async () => {
    const direct = await loadTextPolicy(join(runDir, "policy"), { backend: "cpu" });
    expect(direct.generateBatch(PROMPTS)).toEqual(lm.generateBatch(PROMPTS));
    await expect(loadTextPolicy(join(root, "nowhere"), { backend: "cpu" })).rejects.toThrow(/no saved policy in .*Fix:/);
  });

  it("reproduces samples from a seed, and differs across seeds", () => {
    const opts = { temperature: 1.5, seed: 5 };
    const a = lm.generateBatch(PROMPTS, opts);
    expect(lm.generateBatch(PROMPTS, opts)).toEqual(a);
    expect(lm.generate(PROMPTS[0], opts)).toBe(lm.generate(PROMPTS[0], opts));
    const others = [6, 7, 8].map((seed) => lm.generateBatch(PROMPTS, { ...opts, seed }));
    expect(others.some((o) => o.join("|") !== a.join("|"))).toBe(true);
  });

  it("draws unseeded calls from the stream seeded at load: a fresh load repeats the sequence", async () => {
    const again = await loadTextPolicy(runDir, { backend: "cpu", seed: 11 });
    const first = await loadTextPolicy(runDir, { backend: "cpu", seed: 11 });
    const seqA = [first.generateBatch(PROMPTS, { temperature: 1.5 }), first.generateBatch(PROMPTS, { temperature: 1.5 })];
    const seqB = [again.generateBatch(PROMPTS, { temperature: 1.5 }), again.generateBatch(PROMPTS, { temperature: 1.5 })];
    expect(seqB).toEqual(seqA);
  });

  it("stops at maxTokens or EOS and reports which, with the completion's log-probability", () => {
    const short = lm.generateDetailed(PROMPTS, { maxTokens: 1, temperature: 1, seed: 1 });
    for (const g of short) {
      expect(g.tokens.length).toBe(1);
      expect(g.finish).toBe(g.tokens[0] === EOS ? "eos" : "length");
      expect(g.logProb).toBeLessThanOrEqual(0);
      expect(Number.isFinite(g.logProb)).toBe(true);
    }
    const full = lm.generateDetailed(PROMPTS, { temperature: 1, seed: 1 });
    for (const g of full) {
      expect(g.tokens.length).toBeLessThanOrEqual(lm.maxCompletionLength as number);
      if (g.finish === "eos") expect(g.tokens[g.tokens.length - 1]).toBe(EOS);
    }
  });

  it("rejects prompts the tokenizer cannot read and bad options with one-line errors", () => {
    expect(() => lm.generate("1+2=X")).toThrow(/the prompt "1\+2=X" has "X" at position 4, which this model's tokenizer cannot encode.*Fix: remove or replace/);
    expect(() => lm.generateBatch(["1+2=", "3+é="])).toThrow(/prompt 1 "3\+é=" has "é" at position 2/);
    expect(() => lm.generate(42 as unknown as string)).toThrow(/must be a string, got 42/);
    expect(() => lm.generate("1+2=", { temperature: -1 })).toThrow(/temperature must be a finite number ≥ 0/);
    expect(() => lm.generate("1+2=", { maxTokens: 0 })).toThrow(/maxTokens must be an integer ≥ 1/);
    expect(() => lm.generate("1+2=", { maxTokens: 100 })).toThrow(/maxTokens 100 does not fit.*Fix: pass maxTokens ≤ 19/);
    expect(() => lm.generate("1".repeat(30))).toThrow(/fills the model's context of 24 tokens/);
    expect(() => lm.generate("1+2=", { max_tokens: 3 } as unknown as { maxTokens: number })).toThrow(/unknown generate option "max_tokens". Fix: use temperature, maxTokens, topK, seed/);
    expect(() => lm.generate("1+2=", { temperature: 1, seed: -1 })).toThrow(/generate seed must be a non-negative integer/);
    for (const f of [() => lm.generate("1+2=X")]) {
      try {
        f();
      } catch (e) {
        expect(String((e as Error).message)).not.toContain("\n");
      }
    }
  });
});

describe("loadPolicy and loadTextPolicy point at each other", () => {
  it("loadPolicy on a text run names loadTextPolicy", async () => {
    await expect(loadPolicy(runDir)).rejects.toThrow(/holds a text policy.*Fix: load it with loadTextPolicy\(dir\) and call generate\(prompt\)/);
  });

  it("loadTextPolicy on a control run names loadPolicy", async () => {
    const dir = join(root, "control", "policy");
    await saveWeights(dir, [{ name: "w", data: new Float32Array(1) }], { kind: "actor-critic", env: "CartPole-v1" });
    await expect(loadTextPolicy(join(root, "control"), { backend: "cpu" })).rejects.toThrow(/holds an actor-critic policy \(env CartPole-v1\), not a text policy.*Fix: load it with loadPolicy\(dir\)/);
  });
});

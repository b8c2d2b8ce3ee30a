import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/core/backend.js";
import { Rng } from "../../src/core/rng.js";
import { EOS } from "../../src/envs/text/tokenizer.js";
import { newTextPolicy } from "../../src/train/text_policy.js";

const MODEL = { layers: 2, width: 16, heads: 2, contextLength: 24, ffWidth: 32, activation: "gelu" as const };

beforeAll(async () => {
  await initBackend("cpu");
});

describe("TokenPolicy", () => {
  const policy = newTextPolicy(MODEL, new Rng(7));
  const prompts = ["12+34=", "5+6=", "99+1="].map((p) => policy.encodeContext(p));

  it("lays out contexts and completions with each completion token's logit row", () => {
    const a = Int32Array.from([5, 6, EOS]);
    const b = Int32Array.from([EOS]);
    const lay = policy.layout([prompts[0], prompts[1]], [a, b]);
    const P = prompts[0].length; // the longest context
    expect(lay.T).toBe(P + 3 - 1);
    expect(Array.from(lay.start)).toEqual([0, P - prompts[1].length]);
    // Token j of a completion is predicted at column P + j − 1 of its row.
    expect(Array.from(lay.logitRows)).toEqual([P - 1, P, P + 1, lay.T + P - 1]);
    expect(Array.from(lay.targets)).toEqual([5, 6, EOS, EOS]);
    expect(Array.from(lay.tokens.subarray(0, lay.T))).toEqual([...prompts[0], 5, 6]);
  });

  it("recomputes, in one batched forward, the log-probabilities and entropies it recorded while sampling token by token", () => {
    for (const temperature of [1, 0.7]) {
      const out = policy.sample(prompts, new Rng(3), { temperature, topK: 0, maxNewTokens: 6 });
      const ev = policy.evaluate(prompts, out.tokens, temperature, false);
      const recorded = out.logProbs.flatMap((x) => Array.from(x));
      const entropies = out.entropies.flatMap((x) => Array.from(x));
      expect(ev.logProb.length).toBe(recorded.length);
      ev.logProb.forEach((lp, i) => expect(lp).toBeCloseTo(recorded[i], 4));
      ev.entropy.forEach((h, i) => expect(h).toBeCloseTo(entropies[i], 4));
    }
  });

  it("samples the same tokens whether a group's rows share one context array (prefilled once) or hold copies", () => {
    const shared = prompts.flatMap((p) => [p, p, p, p]);
    const copies = shared.map((p) => p.slice());
    const a = policy.sample(shared, new Rng(11), { temperature: 1, topK: 0, maxNewTokens: 5 });
    const b = policy.sample(copies, new Rng(11), { temperature: 1, topK: 0, maxNewTokens: 5 });
    expect(a.tokens.map((t) => Array.from(t))).toEqual(b.tokens.map((t) => Array.from(t)));
    a.logProbs.forEach((lp, i) => lp.forEach((x, j) => expect(x).toBeCloseTo(b.logProbs[i][j], 5)));
  });

  it("stops a row at EOS or when the step callback says so, and greedy sampling is deterministic", () => {
    const stop = (_rows: Int32Array, tokens: Int32Array) => Uint8Array.from(tokens, (t) => (t === EOS ? 1 : 0));
    const g1 = policy.sample(prompts, new Rng(1), { temperature: 0, topK: 0, maxNewTokens: 4 }, stop);
    const g2 = policy.sample(prompts, new Rng(2), { temperature: 0, topK: 0, maxNewTokens: 4 }, stop);
    expect(g1.tokens.map((t) => Array.from(t))).toEqual(g2.tokens.map((t) => Array.from(t)));
    for (const t of g1.tokens) {
      expect(t.length).toBeLessThanOrEqual(4);
      const eos = Array.from(t).indexOf(EOS);
      if (eos >= 0) expect(eos).toBe(t.length - 1);
    }
  });

  it("refuses contexts plus completions longer than the model's context", () => {
    expect(() => policy.sample(prompts, new Rng(1), { temperature: 1, topK: 0, maxNewTokens: 30 })).toThrow(/context length 24/);
  });
});

describe("TokenPolicy.backward", () => {
  it("maps dL/dlogπ and dL/dH to the logits as float64 finite differences do, at temperature 0.7 with left padding", () => {
    const policy = newTextPolicy(MODEL, new Rng(7));
    const tau = 0.7;
    const contexts = ["12+34=", "5+6=", "7="].map((p) => policy.encodeContext(p)); // three lengths: left padding
    const { tokens } = policy.sample(contexts, new Rng(4), { temperature: tau, topK: 0, maxNewTokens: 4 });
    const ev = policy.evaluate(contexts, tokens, tau, true);
    const pass = ev.pass!;
    const K = ev.logProb.length;
    const V = policy.vocabSize;
    const rng = new Rng(9);
    const c = Float32Array.from({ length: K }, () => rng.normal());
    const d = Float32Array.from({ length: K }, () => rng.normal());
    // Capture the logit gradients TokenPolicy hands to the (separately gradient-checked) transformer.
    let dLogits = new Float32Array(0);
    const model = policy.model;
    const original = model.backward.bind(model);
    model.backward = (trace, g) => {
      dLogits = g.slice();
      return original(trace, g);
    };
    policy.backward(pass, c, d);
    model.backward = original;

    // L(z) = Σ_k c_k·log softmax(z_r/τ)[y_k] + d_k·H(softmax(z_r/τ)), r = the row predicting token k.
    const raw = Float64Array.from(pass.logits, (x) => x * tau);
    const loss = () => {
      let sum = 0;
      for (let k = 0; k < K; k++) {
        const row = pass.layout.logitRows[k];
        const z = Array.from({ length: V }, (_, v) => raw[row * V + v] / tau);
        const max = Math.max(...z);
        const logZ = max + Math.log(z.reduce((s, x) => s + Math.exp(x - max), 0));
        const entropy = -z.reduce((s, x) => s + Math.exp(x - logZ) * (x - logZ), 0);
        sum += c[k] * (z[pass.layout.targets[k]] - logZ) + d[k] * entropy;
      }
      return sum;
    };
    const rows = new Set(pass.layout.logitRows);
    let checked = 0;
    for (let i = 0; i < dLogits.length; i++) {
      if (!rows.has(Math.floor(i / V))) {
        expect(dLogits[i]).toBe(0); // padding and context positions predict no completion token
        continue;
      }
      const old = raw[i];
      raw[i] = old + 1e-6;
      const up = loss();
      raw[i] = old - 1e-6;
      const down = loss();
      raw[i] = old;
      const fd = (up - down) / 2e-6;
      if (!(Math.abs(dLogits[i] - fd) <= 1e-4 + 1e-3 * Math.abs(fd))) throw new Error(`dLogits[${i}]: backward ${dLogits[i]}, finite differences ${fd}`);
      checked++;
    }
    expect(checked).toBe(rows.size * V);
  });
});

import { describe, expect, it } from "vitest";
import {
  alphaLoss,
  bellmanTarget,
  deterministicActorLoss,
  mdpoOffActorLoss,
  mdpoValueTarget,
  minOf,
  polyakUpdate,
  qRegression,
  sacActorLoss,
  smoothTargetActions,
  softBootstrap,
} from "../../src/loss/offpolicy.js";

const close = (a: ArrayLike<number>, b: number[], digits = 5) => {
  expect(a.length).toBe(b.length);
  b.forEach((v, i) => expect(a[i]).toBeCloseTo(v, digits));
};

describe("off-policy update rules on hand-computed numbers", () => {
  it("Bellman target: bootstraps unless terminated, with each row's discount (γ or γ^m)", () => {
    // r = 1, next = 2: 1 + 0.99·2 = 2.98; terminated → 1; two-step discount 0.9801 → 2.9602.
    close(bellmanTarget([1, 1, 1], [0, 1, 0], [0.99, 0.99, 0.9801], [2, 2, 2]), [2.98, 1, 2.9602]);
    expect(() => bellmanTarget([1], [0, 0], [0.99], [1])).toThrow(/one of each per transition/);
  });

  it("SAC soft bootstrap min(Q1, Q2) − α·log π and TD3's min", () => {
    close(softBootstrap([1, 3], [2, 2], [-1, 0.5], 0.2), [1.2, 1.9]);
    close(minOf([1, 3], [2, 2]), [1, 2]);
  });

  it("critic regression weight·mean((q − y)²) and its derivative", () => {
    const full = qRegression([1, 2], [0, 4]);
    expect(full.loss).toBeCloseTo(2.5, 6);
    close(full.dQ, [1, -2]);
    const half = qRegression([1, 2], [0, 4], 0.5); // the MDPO code's ½
    expect(half.loss).toBeCloseTo(1.25, 6);
    close(half.dQ, [0.5, -1]);
  });

  it("SAC actor loss mean(α log π − min Q): gradient to the smaller critic only (the first on ties)", () => {
    const l = sacActorLoss([-1, 0.5, 0], [1, 3, 1], [2, 2, 1], 0.2);
    // rows: −0.2 − 1 = −1.2; 0.1 − 2 = −1.9; 0 − 1 = −1 → mean −1.366667
    expect(l.loss).toBeCloseTo(-4.1 / 3, 6);
    close(l.dLogProb, [0.2 / 3, 0.2 / 3, 0.2 / 3]);
    close(l.dQ1, [-1 / 3, 0, -1 / 3]);
    close(l.dQ2, [0, -1 / 3, 0]);
  });

  it("temperature loss −exp(log α)·mean(log π + H̄): α falls when the entropy is above the target", () => {
    // α = 0.5, log π = [−1, 0.5], H̄ = −2: mean(log π + H̄) = −2.25 → loss 1.125 = dL/dlogα > 0.
    const l = alphaLoss(Math.log(0.5), [-1, 0.5], -2);
    expect(l.loss).toBeCloseTo(1.125, 6);
    expect(l.dLogAlpha).toBeCloseTo(1.125, 6);
    // entropy estimate −log π = 3 below a target H̄ = 4: α must grow.
    expect(alphaLoss(0, [-3, -3], 4).dLogAlpha).toBeLessThan(0);
  });

  it("TD3 target smoothing clips the noise to ±c (in action units) and the action to the box", () => {
    // scale 2, σ = 0.2, c = 0.5: ξ = 1 → +0.4; ξ = 5 → +1 then clipped at 2; ξ = −1 → −0.4.
    close(smoothTargetActions([1, 1.9, -1], [1, 5, -1], { low: [-2], high: [2] }, 0.2, 0.5), [1.4, 2, -1.4]);
    // two dimensions with different boxes: scale 1 (box [0, 2]) and 0.5 (box [−0.5, 0.5]).
    close(smoothTargetActions([1, 0, 1, 0], [1, 1, -10, 10], { low: [0, -0.5], high: [2, 0.5] }, 0.2, 0.5), [1.2, 0.1, 0.5, 0.25]);
  });

  it("TD3 actor loss −mean Q1", () => {
    const l = deterministicActorLoss([1, 3]);
    expect(l.loss).toBeCloseTo(-2, 6);
    close(l.dQ1, [-0.5, -0.5]);
  });

  it("off-policy MDPO actor loss c(log π − log π_old) + λ log π_old − Q1 plus the μ and log σ regulariser", () => {
    const l = mdpoOffActorLoss([-1, 0], [-1.5, 0.5], [1, 2], [0.1, -0.2], [0.5, -0.5], 1, 0.2);
    // rows: 0.5 − 0.3 − 1 = −0.8; −0.5 + 0.1 − 2 = −2.4 → −1.6; regulariser 1e-3·(0.025 + 0.25)
    expect(l.loss).toBeCloseTo(-1.6 + 0.000275, 7);
    expect(l.klTerm).toBeCloseTo(0, 7);
    close(l.dLogProb, [0.5, 0.5]);
    close(l.dOldLogProb, [-0.4, -0.4]);
    close(l.dQ1, [-0.5, -0.5]);
    close(l.dMean, [1e-4, -2e-4], 8);
    close(l.dLogStd, [5e-4, -5e-4], 8);
  });

  it("MDPO-off actor loss with a KL coefficient ≠ 1 and uneven log-ratios (c = 2, λ = 0.2)", () => {
    // log-ratios 0.5 and 0.25: rows 2·0.5 + 0.2·(−1.5) − 1 = −0.3 and 2·0.25 + 0.2·(−0.75) − 2 = −1.65,
    // mean −0.975; regulariser 1e-3·(0.01 + 0.04 + 0.25 + 0.25)/2 = 0.000275; KL term mean(0.5, 0.25).
    const l = mdpoOffActorLoss([-1, -0.5], [-1.5, -0.75], [1, 2], [0.1, -0.2], [0.5, -0.5], 2, 0.2);
    expect(l.loss).toBeCloseTo(-0.975 + 0.000275, 7);
    expect(l.klTerm).toBeCloseTo(0.375, 7);
    close(l.dLogProb, [1, 1]);
    close(l.dOldLogProb, [-0.9, -0.9]);
  });

  it("MDPO-off state-value target: min(Q1, Q2) − λ·log π", () => {
    close(mdpoValueTarget([1, 3], [2, 2], [-1, 0.5], 0.2), [1.2, 1.9]);
  });

  it("targets and Polyak averaging refuse arrays of different lengths", () => {
    expect(() => bellmanTarget([1], [0], [0.99, 0.99], [1])).toThrow(/one of each per transition/);
    expect(() => bellmanTarget([1], [0], [0.99], [1, 2])).toThrow(/one of each per transition/);
    expect(() => polyakUpdate([new Float32Array(1)], [], 0.5)).toThrow(/polyakUpdate: 1 target and 0 online arrays/);
  });

  it("Polyak averaging: τ = 0.005 moves 0 towards 1 by 0.005; τ = 1 copies", () => {
    const target = [new Float32Array([0, 2])];
    polyakUpdate(target, [new Float32Array([1, 2])], 0.005);
    close(target[0], [0.005, 2], 7);
    polyakUpdate(target, [new Float32Array([3, 4])], 1);
    close(target[0], [3, 4]);
  });
});

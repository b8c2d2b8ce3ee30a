import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/algos/index.js";
import { eventFiles, readEventFile } from "../../src/train/loggers/tensorboard.js";
import { train } from "../../src/train/trainer.js";
import { cli } from "../store/helpers.js";

const root = mkdtempSync(join(tmpdir(), "refinery-log-cli-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const tiny = ["--algo", "ppo", "--env", "CartPole-v1", "--steps", "64", "--set", "numEnvs=2", "--set", "numSteps=16", "--set", "evalEpisodes=1", "--set", "backend=cpu", "--quiet", "--json"];

describe("refinery train --log", () => {
  it("writes TensorBoard event files and progress.csv", async () => {
    const out = join(root, "both");
    const r = await cli("train", ...tiny, "--out", out, "--log", "tensorboard,csv");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const events = eventFiles(join(out, "tb")).flatMap(readEventFile);
    expect(events.filter((e) => e.scalars?.some((s) => s.tag === "train/episodeReturnMean")).map((e) => e.step)).toEqual([32, 64]);
    expect(events.some((e) => e.scalars?.some((s) => s.tag === "eval/evalReturnMean"))).toBe(true);
    const csv = readFileSync(join(out, "progress.csv"), "utf8").trim().split("\n");
    expect(csv[0]).toMatch(/^kind,iteration,step,.*episodeReturnMean/);
    expect(csv.slice(1).map((l) => l.split(",").slice(0, 3).join(","))).toEqual(["train,1,32", "train,2,64", "eval,2,64"]);
  });

  it("names an unknown format and the fix, before making the run directory", async () => {
    const out = join(root, "bad");
    const r = await cli("train", ...tiny, "--out", out, "--log", "tensorboard,json");
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/unknown log format "json".*Fix: use tensorboard, csv/);
    expect(existsSync(out)).toBe(false);
  });

  it("is accepted with --resume, and a format turned on then starts with the run's earlier rows", async () => {
    const out = join(root, "resumed");
    const config = resolveConfig({ algo: "ppo", env: "CartPole-v1", overrides: { numEnvs: 2, numSteps: 16, totalTimesteps: 32 * 4, evalEpisodes: 1, checkpointEvery: 2, backend: "cpu" } });
    await train({ runDir: out, algo: "ppo", config, store: false, stopAfterIterations: 2 });
    const r = await cli("train", "--resume", out, "--log", "csv", "--quiet", "--json");
    expect(r.err).toMatch(/^refinery: resuming .* from step [\d,]+ \(checkpoint \d+\)\n$/); // the one line a resume prints
    expect(r.code).toBe(0);
    const lines = readFileSync(join(out, "progress.csv"), "utf8").trim().split("\n").slice(1);
    expect(lines.map((l) => l.split(",").slice(0, 2).join(","))).toEqual(["train,1", "train,2", "train,3", "train,4", "eval,4"]);
  });

  it("is described in --help of train and sft", async () => {
    for (const command of ["train", "sft"]) {
      const { out } = await cli(command, "--help");
      expect(out).toMatch(/--log <formats>\s+also write the metrics as tensorboard/);
    }
  });
});

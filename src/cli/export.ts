import { Option, type Command } from "commander";
import { EXPORT_FORMATS, type ExportFormat } from "../train/export.js";
import { exportPolicy } from "../train/export_files.js";
import type { CliIo } from "./io.js";

interface ExportCliOptions {
  format: ExportFormat;
  out?: string;
  best: boolean;
  json: boolean;
}

/** `refinery export RUN --format tfjs [--out DIR]`: the actor as a standard model file another program loads. */
export async function exportCommand(runDir: string, opts: ExportCliOptions, io: CliIo): Promise<void> {
  const result = await exportPolicy(runDir, { format: opts.format, out: opts.out, which: opts.best ? "best" : "policy" });
  if (opts.json) {
    io.out(JSON.stringify(result) + "\n");
    return;
  }
  io.out(`exported ${result.from} as a TensorFlow.js LayersModel: ${result.out}/model.json + weights.bin\n`);
  const output = {
    logits: "logits [batch, n] (the action is the argmax)",
    "q-values": "Q values [batch, n] (the greedy action is the argmax)",
    mean: "the mean action [batch, actDim] (clip it to the action bounds)",
    action: "the deterministic action [batch, actDim], inside the action bounds",
  }[result.output];
  io.out(`input: raw observations [batch, obsSize]; output: ${output}\n`);
  io.out(`load it with tf.loadLayersModel("file://…/model.json") in tfjs-node, an http URL in a browser, or tensorflowjs_converter to Keras\n`);
}

export function registerExportCommand(program: Command, io: CliIo): void {
  program
    .command("export")
    .description("export a run's policy (its actor: observation → deterministic action; a DQN run: observation → Q values) as a standard model file another program can load")
    .argument("<run_dir>", "run directory written by `refinery train` (or a policy directory)")
    .addOption(
      new Option("--format <format>", "tfjs: a TensorFlow.js LayersModel (model.json + weights.bin) for tf.loadLayersModel; onnx: not supported (no maintained ONNX writer on npm), convert the tfjs export instead")
        .choices([...EXPORT_FORMATS])
        .default("tfjs"),
    )
    .option("--out <dir>", "output directory (default: <run_dir>/export-<format>)")
    .option("--best", "export the best policy by evaluation (best/) instead of the final one", false)
    .option("--json", "print {out, from, format, output} as one JSON line", false)
    .action((dir: string, opts: ExportCliOptions) => exportCommand(dir, opts, io));
}

// Child process for the resume and chaos tests: trains a small PPO run (checkpointing as its
// config says), so the parent can kill it at any moment. With "resume" it continues the
// run; otherwise it creates it. Usage: train_child.ts RUN_DIR CONFIG_JSON [resume]
import { train } from "../../src/train/trainer.js";

const [runDir, configJson, mode] = process.argv.slice(2);
await train({ runDir, algo: "ppo", config: JSON.parse(configJson), resume: mode === "resume" });

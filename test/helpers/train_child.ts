// Child process for the resume test: trains a small PPO run that checkpoints every
// iteration, so the parent can kill it at any moment. Usage: train_child.ts RUN_DIR CONFIG_JSON
import { train } from "../../src/train/trainer.js";

const [runDir, configJson] = process.argv.slice(2);
await train({ runDir, algo: "ppo", config: JSON.parse(configJson) });

// Child process running the refinery command line from source (no build needed), with the
// CLI's own signal handling. Usage: node --import tsx cli_child.ts ARGS...
import { run } from "../../src/cli/main.js";

process.exitCode = await run(process.argv.slice(2));

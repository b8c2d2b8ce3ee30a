// Child process running the refinery command line from source (no build needed), with the
// CLI's own signal handling. Usage: node --import tsx cli_child.ts ARGS...
// With REFINERY_TEST_GO=FILE it prints "ready" and starts when FILE exists, so several
// children can start at the same moment.
import { existsSync } from "node:fs";
import { run } from "../../src/cli/main.js";

const go = process.env.REFINERY_TEST_GO;
if (go) {
  process.stdout.write("ready\n");
  while (!existsSync(go)) await new Promise((r) => setTimeout(r, 1));
}
process.exitCode = await run(process.argv.slice(2));

// Runs the `refinery` command from the TypeScript sources in a child process (what
// bin/refinery.js does from dist/): node --import tsx test/dashboard/cli_child.ts ARGS...
import { run } from "../../src/cli/main.js";

process.exitCode = await run(process.argv.slice(2));

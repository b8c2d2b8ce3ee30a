import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/**
 * Tests run the TypeScript sources, which import vendor/tfjs-gradients.js; `npm run build`
 * (run by `npm ci`) generates it. This makes a bare `npx vitest` work too (a no-op when current).
 */
export default function setup(): void {
  execFileSync(process.execPath, [fileURLToPath(new URL("../scripts/vendor-tfjs.mjs", import.meta.url))], { stdio: "inherit" });
}

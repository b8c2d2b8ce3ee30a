import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";

/**
 * A private redis-server for one test file: loopback only, a free port, no persistence, its
 * own temporary directory. `restart()` kills it (SIGKILL) and starts a fresh, empty one on
 * the same port, as a crashed Redis without persistence comes back.
 */
export class TestRedis {
  private proc: ChildProcess | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), "refinery-redis-"));

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<TestRedis> {
    const r = new TestRedis(await freePort());
    await r.launch();
    return r;
  }

  private async launch(): Promise<void> {
    const bin = process.env.REDIS_SERVER ?? "redis-server";
    const proc = spawn(bin, ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", this.dir], { stdio: "ignore" });
    this.proc = proc;
    let missing: Error | null = null;
    proc.on("error", (err) => (missing = err));
    const client = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on("error", () => {});
    for (let i = 0; i < 200; i++) {
      if (missing) throw new Error(`cannot start ${bin} (${(missing as Error).message}): install redis-server (apt-get install redis-server) or set REDIS_SERVER to its path`);
      try {
        await client.connect();
        await client.ping();
        client.disconnect();
        return;
      } catch {
        client.disconnect();
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error(`redis-server did not start on port ${this.port}`);
  }

  client(): Redis {
    const c = new Redis(this.url, { maxRetriesPerRequest: null });
    c.on("error", () => {});
    return c;
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  private async kill(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once("exit", () => resolve());
      p.kill("SIGKILL");
    });
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

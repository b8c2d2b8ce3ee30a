// Which addresses count as loopback, the Host check that goes with them (DNS rebinding),
// and what `refinery dashboard` says about who can read the runs.
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dashboardCommand, exposure } from "../../src/cli/dashboard.js";
import { isLoopbackAddress, loopbackHostHeader, startDashboard, type Dashboard } from "../../src/dashboard/server.js";
import { fakeRun } from "../store/helpers.js";

const root = mkdtempSync(join(tmpdir(), "refinery-dashboard-host-"));
fakeRun(join(root, "r"), { seed: 1, returns: [1, 2] });
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** GET /api/runs from `connect` with the given Host header. */
function status(dash: Dashboard, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const connect = dash.host.includes(":") ? dash.host : dash.host === "0.0.0.0" ? "127.0.0.1" : dash.host;
    const req = request({ host: connect, port: dash.port, path: "/api/runs", headers: { host } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("loopback addresses", () => {
  it.each(["127.0.0.1", "127.0.0.2", "127.1.2.3", "::1", "[::1]", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "localhost", "LocalHost"])("%s is loopback", (a) => {
    expect(isLoopbackAddress(a)).toBe(true);
  });
  it.each(["0.0.0.0", "::", "10.0.0.1", "192.168.1.2", "128.0.0.1", "::ffff:10.0.0.1", "127.0.0.1.example.com", "example.com", ""])("%s is not", (a) => {
    expect(isLoopbackAddress(a)).toBe(false);
  });
  it("Host headers that name a loopback address pass the check; any other name does not", () => {
    for (const h of ["127.0.0.1:6060", "127.0.0.2:80", "localhost", "localhost:6060", "[::1]:6060", "[::1]"]) expect(loopbackHostHeader(h), h).toBe(true);
    for (const h of [undefined, "", "evil.example", "evil.example:6060", "127.0.0.1.nip.io:80", "localhost.evil.example", "[::1].evil", "::1"]) expect(loopbackHostHeader(h), String(h)).toBe(false);
  });
});

describe("the Host check on every loopback bind", () => {
  it.each(["127.0.0.2", "::1", "localhost", "127.0.0.1"])("bound to %s: a foreign Host is refused, a loopback one answered", async (host) => {
    const dash = await startDashboard({ runsRoot: root, host, port: 0 });
    try {
      expect(dash.loopback).toBe(true);
      expect(await status(dash, "evil.example")).toBe(403);
      expect(await status(dash, `evil.example:${dash.port}`)).toBe(403);
      expect(await status(dash, `localhost:${dash.port}`)).toBe(200);
      const literal = dash.host.includes(":") ? `[${dash.host}]` : dash.host;
      expect(await status(dash, `${literal}:${dash.port}`)).toBe(200);
    } finally {
      await dash.close();
    }
  });

  it("bound to every interface, any Host is answered (the network can read the runs) and the startup message says so", async () => {
    const dash = await startDashboard({ runsRoot: root, host: "0.0.0.0", port: 0 });
    try {
      expect(dash.loopback).toBe(false);
      expect(await status(dash, "my-machine.example:6060")).toBe(200);
      const said = exposure(dash);
      expect(said).toContain("every network interface");
      expect(said).toMatch(/anyone who can reach it can read every run's id, status, config and metrics/);
      expect(said).toContain("read-only, no authentication");
    } finally {
      await dash.close();
    }
  });
});

describe("refinery dashboard's startup message", () => {
  async function startupMessage(host: string): Promise<string> {
    let err = "";
    let out = "";
    await dashboardCommand({ host, port: 0, runsRoot: root }, { out: (s) => void (out += s), err: (s) => void (err += s) }, Promise.resolve());
    expect(out).toMatch(/^refinery dashboard: http:\/\//);
    return err;
  }

  it.each(["127.0.0.2", "::1", "localhost"])("--host %s: this machine only, not the network", async (host) => {
    const msg = await startupMessage(host);
    expect(msg).toContain("to this machine only");
    expect(msg).not.toMatch(/other machines|network|anyone/);
  });

  it("--host 0.0.0.0: what the network can read", async () => {
    expect(await startupMessage("0.0.0.0")).toMatch(/on every network interface of this machine, port \d+: anyone who can reach it can read/);
  });

  it("an address of no interface is a one-line error naming it", async () => {
    await expect(startDashboard({ runsRoot: root, host: "192.0.2.1", port: 0 })).rejects.toThrow(/cannot listen on --host 192\.0\.2\.1: no network interface of this machine has that address\. Fix: pass --host 127\.0\.0\.1/);
  });
});

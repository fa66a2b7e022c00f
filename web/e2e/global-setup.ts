// Starts the hub the browser tests run against: `$CAVEAT_BIN serve --demo` on a free loopback port
// with a fresh database, waits for /healthz, and hands its URL to the tests as CAVEAT_URL.
//
//   CAVEAT_URL=http://host:port   use a hub that is already running; start nothing
//   CAVEAT_BIN=path               the binary (default ../target/debug/caveat); a .mjs file is run
//                                 with node, so CAVEAT_BIN=dev/mock-server.mjs tests the mock
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const web = resolve(dirname(fileURLToPath(import.meta.url)), "..");

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      s.close(() => {
        ok(port);
      });
    });
  });
}

async function waitHealthy(url: string, child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(
        `the hub exited with code ${child.exitCode} before /healthz answered; see ${log}`,
      );
    }
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url}/healthz did not answer within 120 s; see ${log}`);
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  const given = process.env["CAVEAT_URL"];
  if (given) {
    return () => Promise.resolve();
  }
  const bin = resolve(web, process.env["CAVEAT_BIN"] ?? "../target/debug/caveat");
  if (!existsSync(bin)) {
    throw new Error(
      `CAVEAT_BIN ${bin} does not exist: build it (cargo build -p caveat) or set CAVEAT_BIN`,
    );
  }
  const port = await freePort();
  const tmp = mkdtempSync(join(tmpdir(), "caveat-e2e-"));
  const results = join(web, "test-results");
  mkdirSync(results, { recursive: true });
  const log = join(results, "server.log");
  const out = createWriteStream(log);
  const serveArgs = [
    "serve",
    "--demo",
    "--listen",
    `127.0.0.1:${port}`,
    "--db",
    join(tmp, "caveat.db"),
  ];
  const [cmd, argv] = /\.m?js$/.test(bin)
    ? [process.execPath, [bin, ...serveArgs]]
    : [bin, serveArgs];
  const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"], cwd: tmp });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHealthy(url, child, log);
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }
  process.env["CAVEAT_URL"] = url;

  return async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise<void>((r) => {
        const t = setTimeout(() => {
          child.kill("SIGKILL");
          r();
        }, 5000);
        child.once("exit", () => {
          clearTimeout(t);
          r();
        });
      });
    }
    rmSync(tmp, { recursive: true, force: true });
  };
}

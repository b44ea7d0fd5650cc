// Web mode as its own process (`npm run serve -- --data-dir DIR`), for the end-to-end tests that restart it or need
// it apart from the test's own process.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { root } from "./fixtures.js";

export interface Server {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** `npm run serve -- --data-dir DIR` as its own process; resolves with the URL it prints. */
export function startServer(dataDir: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "electron", "server", "serve.ts"), "--data-dir", dataDir, "--threads", "2"], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    const timer = setTimeout(() => reject(new Error(`web mode did not start in 90 s:\n${out}`)), 90_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, output: () => out });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`web mode exited (${code}) before it was ready:\n${out}`));
    });
  });
}

export function stopServer(server: Server): Promise<number | null> {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null) return resolve(server.child.exitCode);
    server.child.once("exit", (code) => resolve(code));
    server.child.kill("SIGTERM");
  });
}

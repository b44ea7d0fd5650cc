import { spawnSync } from "node:child_process";
import path from "node:path";
import { root } from "./fixtures.js";

/** Runs a TypeScript helper in a fresh Node process and parses the JSON it prints last. */
export function runTsChild<T>(script: string, arg: unknown, timeoutMs = 300_000): T {
  const result = spawnSync(process.execPath, ["--import", "tsx", path.join(root, script), JSON.stringify(arg)], {
    cwd: root,
    encoding: "utf8",
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`${script} failed (${result.status}):\n${result.stderr}`);
  const lines = result.stdout.trim().split("\n");
  return JSON.parse(lines.at(-1)!) as T;
}

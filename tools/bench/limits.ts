// Compiles and runs limits.c (bandwidth and FMA peak of this machine).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface MachineLimits {
  threads: number;
  bufferBytes: number;
  readGBps: number;
  fmaGFlops: number;
}

export function measureLimits(threads: number, bufferMiB = 2048): MachineLimits {
  const source = path.join(import.meta.dirname, "limits.c");
  const binary = path.join(os.tmpdir(), `lynx-limits-${process.pid}`);
  const cc = spawnSync("cc", ["-O3", "-march=native", "-fopenmp", "-o", binary, source], { encoding: "utf8" });
  if (cc.status !== 0) throw new Error(`cannot compile limits.c: ${cc.stderr}`);
  try {
    const run = spawnSync(binary, [String(threads), String(bufferMiB)], { encoding: "utf8" });
    if (run.status !== 0) throw new Error(`limits failed: ${run.stderr}`);
    return JSON.parse(run.stdout.trim()) as MachineLimits;
  } finally {
    fs.rmSync(binary, { force: true });
  }
}

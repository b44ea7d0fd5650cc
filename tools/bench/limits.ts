// Compiles and runs limits.c (bandwidth and FMA peak of this machine) and kernel-roof.c (what ggml's own kernel
// reaches on expert products, built against the engine's libraries).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { engineBuildOptions } from "../../electron/engine/native/build-identity.js";

const root = path.resolve(import.meta.dirname, "../..");

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

export interface KernelRoof {
  threads: number;
  rows: number;
  cols: number;
  /** weight bytes processed per second with the expert resident in cache: the kernel's arithmetic limit */
  cachedGBps: number;
  /** the same with distinct experts streamed from memory, as in a decode */
  streamedGBps: number;
  cachedGFlops: number;
  productUs: number;
}

/** The engine's own libraries (the local build folder that carries the current build key), or null. */
function engineLibraryDir(): string | null {
  const { key } = engineBuildOptions(root, false);
  const builds = path.join(root, "node_modules", "node-llama-cpp", "llama", "localBuilds");
  if (!fs.existsSync(builds)) return null;
  for (const name of fs.readdirSync(builds)) {
    const keyFile = path.join(builds, name, ".lynx-key");
    if (fs.existsSync(keyFile) && fs.readFileSync(keyFile, "utf8") === key) return path.join(builds, name, "Release");
  }
  return null;
}

/** Q8_0 expert products (one token, k = 8 experts of rows x cols) through ggml's CPU backend. */
export function measureKernelRoof(threads: number, rows: number, cols: number): KernelRoof {
  const libs = engineLibraryDir();
  if (!libs) throw new Error("the engine build is not installed (npm run build:engine)");
  const include = path.join(root, "node_modules", "node-llama-cpp", "llama", "llama.cpp", "ggml", "include");
  const binary = path.join(os.tmpdir(), `lynx-kernel-roof-${process.pid}`);
  const cc = spawnSync("cc", ["-O2", `-I${include}`, "-o", binary, path.join(import.meta.dirname, "kernel-roof.c"), `-L${libs}`, "-lggml-base", "-lggml-cpu", `-Wl,-rpath,${libs}`], { encoding: "utf8" });
  if (cc.status !== 0) throw new Error(`cannot compile kernel-roof.c: ${cc.stderr}`);
  try {
    const run = spawnSync(binary, [String(threads), String(rows), String(cols)], { encoding: "utf8" });
    if (run.status !== 0) throw new Error(`kernel-roof failed: ${run.stderr.slice(-1000)}`);
    return JSON.parse(run.stdout.trim().split("\n").at(-1)!) as KernelRoof;
  } finally {
    fs.rmSync(binary, { force: true });
  }
}

// Builds llama.cpp's own `llama-batched-bench` from the extracted (patched) source, outside the clone, once per
// source + patch, and runs it: the reference for what llama.cpp alone achieves on a batched decode.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { engineBuildOptions, engineCmakeOptions } from "../../electron/engine/native/build-identity.js";

const root = path.resolve(import.meta.dirname, "../..");
const source = path.join(root, "node_modules", "node-llama-cpp", "llama", "llama.cpp");

export function rawBenchBinary(log: (line: string) => void): string {
  const { key } = engineBuildOptions(root, false);
  const buildDir = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "lynx-chat", "bench-tools", key);
  const binary = path.join(buildDir, "bin", "llama-batched-bench");
  if (fs.existsSync(binary)) return binary;
  log(`building llama-batched-bench from ${source} into ${buildDir} (a few minutes, once)`);
  const run = (args: string[]) => {
    const result = spawnSync("cmake", args, { stdio: ["ignore", "inherit", "inherit"] });
    if (result.status !== 0) throw new Error(`cmake ${args.join(" ")} failed`);
  };
  // Ninja where it is installed, cmake's default generator otherwise
  const generator = spawnSync("ninja", ["--version"]).status === 0 ? ["-G", "Ninja"] : [];
  run(["-S", source, "-B", buildDir, ...generator, "-DCMAKE_BUILD_TYPE=Release", "-DGGML_NATIVE=ON", "-DLLAMA_CURL=OFF",
    "-DLLAMA_OPENSSL=OFF", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_SERVER=OFF", "-DLLAMA_BUILD_TOOLS=ON",
    ...Object.entries(engineCmakeOptions).map(([name, value]) => `-D${name}=${value}`)]);
  run(["--build", buildDir, "--target", "llama-batched-bench", "--parallel", String(os.availableParallelism())]);
  return binary;
}

export interface RawResult {
  batch: number;
  /** aggregate generated tokens per second in the decode phase */
  tokensPerSecond: number;
  stepMs: number;
}

/** llama-batched-bench with a unified KV cache: B sequences, short prompts, `tokens` generated tokens each. */
export function runRawBench(binary: string, model: string, batches: number[], tokens: number, threads: number): RawResult[] {
  const args = ["-m", model, "-c", String(Math.max(...batches) * (tokens + 64)), "-b", "2048", "-ub", "512", "-npp", "32",
    "-ntg", String(tokens), "-npl", batches.join(","), "-t", String(threads), "-tb", String(threads), "-kvu", "-fa", "off"];
  const result = spawnSync(binary, args, { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`llama-batched-bench failed:\n${result.stderr}`);
  // table rows: |    PP |     TG |    B |   N_KV |   T_PP s | S_PP t/s |   T_TG s | S_TG t/s |      T s |    S t/s |
  const rows: RawResult[] = [];
  for (const line of (result.stdout + "\n" + result.stderr).split("\n")) {
    const cells = line.split("|").map((c) => c.trim()).filter(Boolean);
    if (cells.length < 8 || !/^\d+$/.test(cells[0]!)) continue;
    const batch = Number(cells[2]);
    const tgSeconds = Number(cells[6]);
    const tgRate = Number(cells[7]);
    rows.push({ batch, tokensPerSecond: tgRate, stepMs: (tgSeconds * 1000) / tokens });
  }
  return rows;
}

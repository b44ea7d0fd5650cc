// llama.cpp's own `llama-batched-bench`, built from the extracted (patched) source outside the clone, once per
// source + patch (tools/llama-tools), run: the reference for what llama.cpp alone achieves on a batched decode.
import { spawnSync } from "node:child_process";
import { llamaTools } from "../llama-tools/llama-tools.js";

/** llama-batched-bench from the cache, built there the first time (tools/llama-tools). */
export function rawBenchBinary(log: (line: string) => void): string {
  return llamaTools(["llama-batched-bench"], log)["llama-batched-bench"];
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

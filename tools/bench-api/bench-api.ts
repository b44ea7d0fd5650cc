// `npm run bench:api`: our OpenAI-compatible API against llama-server, the server a user would run instead.
// C concurrent streaming clients (the `openai` client, in a child process), the same prompts, greedy, a fixed length
// (ignore_eos), against llama-server (-np N, continuous batching) and our `npm run api` with the policy off,
// Balanced and budget 12.5%: the same model file, sequences, context per sequence and threads.
//
// The machine is noisy, so every ratio is measured side by side: each round starts every server in turn (rotating
// the order), runs every client count against it and stops it (one server in memory at a time); a ratio is the
// median over rounds of ours / llama-server's within the round.
//
//   npm run bench:api -- [--quick] [--clients 1,4,8,16] [--tokens T] [--rounds R] [--models a,b] [--threads N]
//                        [--json PATH] [--no-docs]
// --quick: the 128x8 bench model, 16 clients, 3 rounds. The last line printed is one JSON object.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { physicalCores } from "../../electron/engine/load-llama.js";
import { inspectModelFile } from "../../electron/engine/model-file.js";
import { resolvePolicy } from "../../electron/engine/policy.js";
import type { PolicySpec } from "../../electron/api/contract.js";
import { median, percentile } from "../bench/stats.js";
import { lineChart } from "../bench/svg-plot.js";
import { llamaTools } from "../llama-tools/llama-tools.js";
import type { RequestTiming } from "./clients.js";
import { startLlamaServer, startLynxApi, type RunningServer, type ServerOptions } from "./servers.js";

const root = path.resolve(import.meta.dirname, "../..");
const modelsDir = path.join(root, "test", "fixtures", "models");
const apiKey = "bench-api-key";

const quickModels = ["bench-qwen3moe-128x8"];
const fullModels = ["bench-qwen3moe-128x8", "bench-qwen3moe-30b-a3b-8l"];

const basePrompts = ["Tell me a story about", "The history of the", "Once upon a time", "In a distant galaxy", "The recipe for",
  "A poem about the sea", "Explain how a", "The best way to", "My favourite book is", "The weather today",
  "Scientists have found", "The city of", "A letter to", "The rules of chess", "How to build a", "The meaning of"];

type ConfigName = "llama-server" | "off" | "balanced" | "budget12.5";

interface Config {
  name: ConfigName;
  /** our --policy; null: llama-server */
  policy: string | null;
}

interface Measurement {
  tokensPerSecond: number;
  ttftMs: number[];
  tpotMs: number[];
  promptTokens: number;
}

interface Row {
  model: string;
  config: ConfigName;
  clients: number;
  tokensPerSecond: number;
  ttftP50Ms: number;
  ttftP90Ms: number;
  tpotP50Ms: number;
  tpotP90Ms: number;
  promptTokens: number;
  /** median over rounds of ours / llama-server's aggregate tok/s in the same round */
  vsLlamaServer: number | null;
}

function log(line: string) {
  process.stderr.write(`[bench:api] ${line}\n`);
}

function cliPolicy(policy: PolicySpec): string {
  if (policy.kind === "off") return "off";
  if (policy.kind === "budget") return `budget:${policy.experts}`;
  return `affinity:${policy.alpha},${policy.beta}`;
}

async function configsFor(model: string): Promise<Config[]> {
  const facts = await inspectModelFile(model);
  const balanced = resolvePolicy({ mode: "preset", preset: "balanced" }, facts).effective;
  const budget = resolvePolicy({ mode: "budget", experts: Math.round(facts.experts * 0.125) }, facts).effective;
  return [
    { name: "llama-server", policy: null },
    { name: "off", policy: "off" },
    { name: "balanced", policy: cliPolicy(balanced) },
    { name: "budget12.5", policy: cliPolicy(budget) },
  ];
}

function ensureModel(name: string) {
  const file = path.join(modelsDir, `${name}.gguf`);
  if (fs.existsSync(file)) return file;
  log(`generating ${name} (once; a few GB, a minute or two)`);
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "tools/fixtures/generate.ts"), "--only", name], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0 || !fs.existsSync(file)) throw new Error(`cannot generate ${name}`);
  return file;
}

/** One batch of C concurrent streaming requests, from the clients' child process. */
function runClients(baseURL: string, model: string, prompts: string[], tokens: number): RequestTiming[] {
  const input = JSON.stringify({ baseURL, apiKey, model, prompts, tokens });
  const result = spawnSync(process.execPath, ["--import", "tsx", path.join(import.meta.dirname, "clients.ts"), input], { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 300_000 });
  if (result.status !== 0) throw new Error(`clients failed: ${result.stderr.slice(-2000)}`);
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!) as RequestTiming[];
}

/**
 * llama-server parses every streamed chunk as a chat message, /v1/completions included, and fails the request when
 * its Content-only parser rejects the text; random-weight models produce such text (byte tokens that do not form
 * UTF-8) in about half the batches of 16, and a server that failed so once can hang the next batch. Such a run is
 * started again with a fresh server, up to 6 times: each run is a whole measurement.
 */
const maxAttempts = 6;
function isParserFailure(config: ConfigName, err: unknown): boolean {
  return config === "llama-server" && /does not match the expected .* format/.test((err as Error).message);
}

function measure(timings: RequestTiming[], tokens: number): Measurement {
  for (const t of timings) if (t.completionTokens !== tokens) throw new Error(`a request generated ${t.completionTokens} tokens, not ${tokens} (ignore_eos not honoured?)`);
  const start = Math.min(...timings.map((t) => t.startMs));
  const end = Math.max(...timings.map((t) => t.endMs));
  const total = timings.reduce((sum, t) => sum + t.completionTokens, 0);
  return {
    // what the C programs together got: every generated token over the wall time of the batch
    tokensPerSecond: total / ((end - start) / 1000),
    ttftMs: timings.map((t) => t.ttftMs),
    // per request, after its first token (OpenAI-style benchmarks' TPOT)
    tpotMs: timings.map((t) => (t.chunkMs.at(-1)! - t.chunkMs[0]!) / Math.max(1, t.completionTokens - 1)),
    promptTokens: median(timings.map((t) => t.promptTokens)),
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      clients: { type: "string" },
      tokens: { type: "string" },
      rounds: { type: "string" },
      models: { type: "string" },
      threads: { type: "string" },
      json: { type: "string" },
      "no-docs": { type: "boolean", default: false },
    },
  });
  const quick = values.quick!;
  const clientCounts = (values.clients ?? (quick ? "16" : "1,4,8,16")).split(",").map(Number);
  if (clientCounts.some((c) => !Number.isInteger(c) || c < 1 || c > 64)) throw new Error("--clients: counts from 1 to 64, comma-separated");
  const tokens = Number(values.tokens ?? (quick ? 32 : 48));
  const rounds = Number(values.rounds ?? 3);
  const threads = Number(values.threads ?? physicalCores());
  const models = values.models ? values.models.split(",") : quick ? quickModels : fullModels;
  const parallel = Math.max(...clientCounts);
  const started = Date.now();

  const binary = llamaTools(["llama-server"], log)["llama-server"];
  log(`threads ${threads}, clients ${clientCounts.join(",")}, ${tokens} tokens each, ${rounds} rounds, ${parallel} sequences per server`);

  const rows: Row[] = [];
  for (const name of models) {
    const file = ensureModel(name);
    const facts = await inspectModelFile(file);
    const configs = await configsFor(file);
    const options: ServerOptions = {
      model: file,
      alias: path.basename(file, ".gguf"),
      parallel,
      // `npm run api`'s context per sequence
      contextPerSequence: Math.min(facts.trainContextLength || 4096, 4096),
      threads,
      apiKey,
      maxQueue: 0,
    };
    log(`${name}: ${configs.map((c) => `${c.name}${c.policy ? ` (--policy ${c.policy})` : ""}`).join(", ")}`);
    // results[config][clients][round]
    const results = new Map<ConfigName, Map<number, Measurement[]>>(configs.map((c) => [c.name, new Map(clientCounts.map((n) => [n, []]))]));
    for (let round = 0; round < rounds; round++) {
      for (let j = 0; j < configs.length; j++) {
        const config = configs[(j + round) % configs.length]!;
        for (let attempt = 1; ; attempt++) {
          let server: RunningServer | null = null;
          try {
            server = config.policy === null ? await startLlamaServer(binary, { ...options, extraArgs: ["--cache-ram", "0"] }) : await startLynxApi({ ...options, policy: config.policy });
            // warm-up: page the weights in, build the graphs at the largest batch
            runClients(server.baseURL, options.alias, Array.from({ length: parallel }, (_, i) => `Warm up ${i}: ${basePrompts[i % basePrompts.length]}`), 4);
            const measured: Array<[number, Measurement]> = [];
            for (const clients of clientCounts) {
              // the same prompts for every server in this round; new ones every round and client count, so no server
              // finds a prompt already in its cache
              const prompts = Array.from({ length: clients }, (_, i) => `Round ${round + 1}, client ${i + 1} of ${clients}: ${basePrompts[i % basePrompts.length]}`);
              measured.push([clients, measure(runClients(server.baseURL, options.alias, prompts, tokens), tokens)]);
            }
            for (const [clients, m] of measured) {
              results.get(config.name)!.get(clients)!.push(m);
              log(`${name} round ${round + 1} ${config.name} C=${clients}: ${m.tokensPerSecond.toFixed(1)} tok/s, TTFT p90 ${percentile([...m.ttftMs].sort((a, b) => a - b), 0.9).toFixed(0)} ms`);
            }
            break;
          } catch (err) {
            const again = isParserFailure(config.name, err) && attempt < maxAttempts;
            log(again ? `${name} round ${round + 1}: llama-server rejected its own output (its chat parser on random-weight text), run again on a fresh server (${attempt + 1} of ${maxAttempts})` : `${name} round ${round + 1} ${config.name} failed: ${(err as Error).message}`);
            if (!again) break;
          } finally {
            await server?.close();
          }
        }
      }
    }
    for (const config of configs) {
      for (const clients of clientCounts) {
        const ms = results.get(config.name)!.get(clients)!;
        if (!ms.length) continue;
        const reference = results.get("llama-server")!.get(clients)!;
        const paired = ms.map((m, r) => (reference[r] ? m.tokensPerSecond / reference[r]!.tokensPerSecond : NaN)).filter(Number.isFinite);
        const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
        rows.push({
          model: name,
          config: config.name,
          clients,
          tokensPerSecond: median(ms.map((m) => m.tokensPerSecond)),
          // percentiles of each round, then their median over rounds
          ttftP50Ms: median(ms.map((m) => percentile(sorted(m.ttftMs), 0.5))),
          ttftP90Ms: median(ms.map((m) => percentile(sorted(m.ttftMs), 0.9))),
          tpotP50Ms: median(ms.map((m) => percentile(sorted(m.tpotMs), 0.5))),
          tpotP90Ms: median(ms.map((m) => percentile(sorted(m.tpotMs), 0.9))),
          promptTokens: median(ms.map((m) => m.promptTokens)),
          vsLlamaServer: config.name === "llama-server" || !paired.length ? null : median(paired),
        });
      }
    }
  }

  const top = Math.max(...clientCounts);
  const at = (config: ConfigName) => rows.find((r) => r.model === models[0] && r.config === config && r.clients === top);
  const round3 = (v: number | null | undefined) => (v == null ? null : Math.round(v * 1000) / 1000);
  const summary: Record<string, number | null> = {
    offVsLlamaServerC16: round3(at("off")?.vsLlamaServer),
    balancedVsLlamaServerC16: round3(at("balanced")?.vsLlamaServer),
    budget12VsLlamaServerC16: round3(at("budget12.5")?.vsLlamaServer),
    ttftP90C16Ms: at("off") ? Math.round(at("off")!.ttftP90Ms) : null,
  };
  // a run without 16 clients says which count its figures are at
  if (top !== 16) summary.clients = top;
  const report = { date: new Date().toISOString(), quick, threads, tokens, rounds, clientCounts, models, seconds: (Date.now() - started) / 1000, rows, summary };
  console.log(markdownTable(rows));
  if (values.json) fs.writeFileSync(values.json, JSON.stringify(report, null, 2));
  if (!values["no-docs"]) writeDocs(report);
  console.log(JSON.stringify(summary));
}

function markdownTable(rows: Row[]) {
  const lines = [
    "| model | server | clients | tok/s | vs llama-server | TTFT p50 / p90 ms | TPOT p50 / p90 ms | prompt tokens |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows) {
    const server = r.config === "llama-server" ? "llama-server" : `ours, ${r.config}`;
    lines.push(`| ${r.model} | ${server} | ${r.clients} | ${r.tokensPerSecond.toFixed(1)} | ${r.vsLlamaServer === null ? "" : `${r.vsLlamaServer.toFixed(2)}x`} | ${r.ttftP50Ms.toFixed(0)} / ${r.ttftP90Ms.toFixed(0)} | ${r.tpotP50Ms.toFixed(1)} / ${r.tpotP90Ms.toFixed(1)} | ${r.promptTokens} |`);
  }
  return lines.join("\n");
}

function writeDocs(report: { date: string; quick: boolean; threads: number; tokens: number; rounds: number; seconds: number; models: string[]; rows: Row[]; summary: Record<string, number | null> }) {
  const dir = path.join(root, "docs", "benchmarks");
  fs.mkdirSync(dir, { recursive: true });
  const suffix = report.quick ? "-quick" : "";
  for (const model of report.models) {
    const mine = report.rows.filter((r) => r.model === model);
    const series = (["llama-server", "off", "balanced", "budget12.5"] as const)
      .map((config) => ({ name: config === "llama-server" ? "llama-server" : `ours, ${config}`, dashed: config === "llama-server", points: mine.filter((r) => r.config === config).map((r): [number, number] => [r.clients, r.tokensPerSecond]) }))
      .filter((s) => s.points.length);
    fs.writeFileSync(path.join(dir, `api-${model}${suffix}.svg`), lineChart({ title: `${model}: OpenAI API, aggregate tokens/s`, xLabel: "concurrent streaming clients", yLabel: "tokens/s (all clients)", series, logX: true }));
  }
  fs.writeFileSync(path.join(dir, `api-latest${suffix}.json`), JSON.stringify(report, null, 2));
  fs.writeFileSync(
    path.join(dir, `api-latest${suffix}.md`),
    `# API benchmark run ${report.date}\n\n\`npm run bench:api${report.quick ? " -- --quick" : ""}\`: ${report.threads} threads; ${report.tokens} tokens per request; ${report.rounds} rounds; ${report.seconds.toFixed(0)} s.\n\n${markdownTable(report.rows)}\n\nSummary: \`${JSON.stringify(report.summary)}\`\n`,
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});

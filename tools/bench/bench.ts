// Decode-throughput benchmark of batch-aware expert selection, side by side with stock llama.cpp and with
// llama.cpp's own batched decode, placed on this machine's roofline.
//
//   npm run bench [-- --quick] [--json PATH] [--threads N] [--tokens T] [--repeats R]
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import type { PolicySpec } from "../../electron/api/contract.js";
import { physicalCores } from "../../electron/engine/load-llama.js";
import { resolvePolicy } from "../../electron/engine/policy.js";
import { benchModelNames } from "./bench-models.js";
import { measureLimits, type MachineLimits } from "./limits.js";
import { modelCosts, stepCosts, uniformDistinct, type ModelCosts } from "./model-costs.js";
import { rawBenchBinary, runRawBench, type RawResult } from "./raw-llama.js";
import type { ConfigInput, ConfigResult } from "./run-config.js";
import { lineChart } from "./svg-plot.js";

const root = path.resolve(import.meta.dirname, "../..");
const modelsDir = path.join(root, "test", "fixtures", "models");

interface ConfigSpec {
  name: string;
  build: "engine" | "stock";
  policy: PolicySpec;
  unifiedKv?: boolean;
  stats?: boolean;
}

interface Row {
  model: string;
  config: string;
  batch: number;
  tokensPerSecond: number;
  tokensPerSecondMedian: number;
  tpotMedianMs: number;
  tpotP90Ms: number;
  stepMs: number;
  distinctBefore: number;
  distinctAfter: number;
  bytesPerStep: number;
  flopsPerStep: number;
  achievedGBps: number;
  achievedGFlops: number;
  bound: "bandwidth" | "compute";
  rooflineFraction: number;
  fullBatchShare: number | null;
  top1Kept: number | null;
  massRetained: number | null;
}

function log(line: string) {
  process.stderr.write(`[bench] ${line}\n`);
}

function configsFor(costs: ModelCosts, quick: boolean, name: string): ConfigSpec[] {
  const identity = { architecture: name.includes("qwen") ? "qwen3moe" : name.includes("olmoe") ? "olmoe" : "llama", name, experts: costs.experts, expertsPerToken: costs.expertsPerToken, isMoE: true };
  const preset = (p: "gentle" | "balanced" | "aggressive") => resolvePolicy({ mode: "preset", preset: p }, identity).effective;
  const budget = (share: number) => ({ kind: "budget" as const, experts: Math.max(costs.expertsPerToken, Math.round(costs.experts * share)) });
  const all: ConfigSpec[] = [
    { name: "stock", build: "stock", policy: { kind: "off" } },
    { name: "off-split", build: "engine", policy: { kind: "off" }, unifiedKv: false, stats: false },
    { name: "off", build: "engine", policy: { kind: "off" } },
    { name: "gentle", build: "engine", policy: preset("gentle") },
    { name: "balanced", build: "engine", policy: preset("balanced") },
    { name: "aggressive", build: "engine", policy: preset("aggressive") },
    { name: "budget50", build: "engine", policy: budget(0.5) },
    { name: "budget25", build: "engine", policy: budget(0.25) },
    { name: "budget12.5", build: "engine", policy: budget(0.125) },
  ];
  return quick ? all.filter((c) => ["stock", "off-split", "off", "balanced", "budget12.5"].includes(c.name)) : all;
}

function runConfig(input: ConfigInput): ConfigResult {
  const result = spawnSync(process.execPath, ["--import", "tsx", path.join(import.meta.dirname, "run-config.ts"), JSON.stringify(input)], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
    timeout: 900_000,
  });
  if (result.status !== 0) throw new Error(`run-config failed: ${result.stderr.slice(-2000)}`);
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!) as ConfigResult;
}

function ensureModel(name: string) {
  const file = path.join(modelsDir, `${name}.gguf`);
  if (fs.existsSync(file)) return file;
  log(`generating ${name} (once; several GB)`);
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "tools/fixtures/generate.ts"), "--bench", "--only", name], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0 || !fs.existsSync(file)) throw new Error(`cannot generate ${name}`);
  return file;
}

function median(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : 0;
}

async function main() {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      json: { type: "string" },
      threads: { type: "string" },
      tokens: { type: "string" },
      repeats: { type: "string" },
      rounds: { type: "string" },
      "no-docs": { type: "boolean", default: false },
    },
  });
  const quick = values.quick!;
  const threads = Number(values.threads ?? physicalCores());
  const tokens = Number(values.tokens ?? (quick ? 24 : 32));
  const repeats = Number(values.repeats ?? 2);
  const rounds = Number(values.rounds ?? (quick ? 2 : 2));
  const batches = quick ? [1, 16] : [1, 2, 4, 8, 16];
  const models = quick ? [benchModelNames[0]!] : [...benchModelNames];
  const started = Date.now();

  log(`threads ${threads}, batches ${batches.join(",")}, ${tokens} tokens x ${repeats} repeats x ${rounds} interleaved rounds`);
  const limits: MachineLimits = measureLimits(threads);
  log(`machine: streaming read ${limits.readGBps} GB/s, fp32 FMA ${limits.fmaGFlops} GFLOP/s`);

  let rawBinary: string | null = null;
  try {
    rawBinary = rawBenchBinary(log);
  } catch (err) {
    log(`raw llama.cpp unavailable: ${(err as Error).message}`);
  }

  const rows: Row[] = [];
  const raw: Record<string, RawResult[]> = {};
  const costsByModel: Record<string, ModelCosts> = {};
  for (const name of models) {
    const file = ensureModel(name);
    const costs = await modelCosts(file);
    costsByModel[name] = costs;
    if (rawBinary) {
      try {
        raw[name] = runRawBench(rawBinary, file, batches, tokens, threads);
        log(`${name} raw: ${raw[name].map((r) => `B=${r.batch} ${r.tokensPerSecond.toFixed(1)} tok/s`).join(", ")}`);
      } catch (err) {
        log(`raw llama.cpp run failed: ${(err as Error).message}`);
      }
    }
    for (const batch of batches) {
      const configs = configsFor(costs, quick, name).filter((c) => !(quick && batch === 1 && !["stock", "off", "off-split"].includes(c.name)));
      // the machine is noisy (seen: 25% between two runs of the same configuration): configurations are measured
      // in interleaved rounds and each keeps its best round
      const results = new Map<string, ConfigResult>();
      for (let round = 0; round < rounds; round++) {
        for (const config of configs) {
          const r = runConfig({ build: config.build, model: file, batch, tokens, threads, policy: config.policy, repeats, unifiedKv: config.unifiedKv, stats: config.stats });
          const previous = results.get(config.name);
          if (!previous) results.set(config.name, r);
          else previous.tokensPerSecond.push(...r.tokensPerSecond);
        }
      }
      for (const config of configs) {
        const result = results.get(config.name)!;
        // stock and off-split route exactly like off (no policy, no statistics): use off's measured union
        const offDistinct = results.get("off")?.distinctAfter ?? 0;
        const measured = result.distinctAfter || offDistinct;
        const distinct = batch === 1 ? costs.expertsPerToken : measured || uniformDistinct(costs.experts, costs.expertsPerToken, batch);
        const best = Math.max(...result.tokensPerSecond);
        const stepSeconds = batch / best;
        const { bytes, flops } = stepCosts(costs, batch, distinct);
        const boundSeconds = Math.max(bytes / (limits.readGBps * 1e9), flops / (limits.fmaGFlops * 1e9));
        const row: Row = {
          model: name,
          config: config.name,
          batch,
          tokensPerSecond: best,
          tokensPerSecondMedian: median(result.tokensPerSecond),
          tpotMedianMs: result.tpotMedianMs,
          tpotP90Ms: result.tpotP90Ms,
          stepMs: stepSeconds * 1000,
          distinctBefore: result.distinctBefore,
          distinctAfter: result.distinctAfter,
          bytesPerStep: bytes,
          flopsPerStep: flops,
          achievedGBps: bytes / stepSeconds / 1e9,
          achievedGFlops: flops / stepSeconds / 1e9,
          bound: bytes / (limits.readGBps * 1e9) >= flops / (limits.fmaGFlops * 1e9) ? "bandwidth" : "compute",
          rooflineFraction: boundSeconds / stepSeconds,
          fullBatchShare: result.fullBatchShare,
          top1Kept: result.top1Kept,
          massRetained: result.massRetained,
        };
        rows.push(row);
        log(`${name} B=${batch} ${config.name}: ${best.toFixed(1)} tok/s, step ${row.stepMs.toFixed(1)} ms, distinct ${result.distinctBefore.toFixed(1)} -> ${result.distinctAfter.toFixed(1)}, ${row.bound}-bound ${(row.rooflineFraction * 100).toFixed(0)}%`);
      }
    }
  }

  const find = (model: string, config: string, batch: number) => rows.find((r) => r.model === model && r.config === config && r.batch === batch);
  const main128 = models[0]!;
  const B = 16;
  const rawB16 = raw[main128]?.find((r) => r.batch === B)?.tokensPerSecond;
  const summary = {
    overheadOff: ratio(find(main128, "off-split", B)?.tokensPerSecond, find(main128, "stock", B)?.tokensPerSecond),
    speedupBudget12B16: ratio(find(main128, "budget12.5", B)?.tokensPerSecond, find(main128, "off", B)?.tokensPerSecond),
    speedupBalancedB16: ratio(find(main128, "balanced", B)?.tokensPerSecond, find(main128, "off", B)?.tokensPerSecond),
    engineVsRawB16: ratio(find(main128, "off", B)?.tokensPerSecond, rawB16),
    rooflineOffB1: find(main128, "off", 1)?.rooflineFraction ?? null,
  };
  const report = { date: new Date().toISOString(), machine: machineDescription(), threads, tokens, repeats, quick, limits, raw, costs: costsByModel, rows, summary, seconds: (Date.now() - started) / 1000 };
  if (values.json) fs.writeFileSync(values.json, JSON.stringify(report, null, 2));
  if (!values["no-docs"]) writeDocs(report, quick);
  process.stdout.write(markdownTable(rows) + "\n");
  process.stdout.write(JSON.stringify(summary) + "\n");
}

function ratio(a: number | undefined, b: number | undefined) {
  return a !== undefined && b !== undefined && b > 0 ? Number((a / b).toFixed(3)) : null;
}

function machineDescription() {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  return `${cpu}, ${os.availableParallelism()} logical CPUs, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}`;
}

function markdownTable(rows: Row[]) {
  const lines = [
    "| model | config | B | tok/s | TPOT med / p90 ms | step ms | distinct before -> after | MB/step | GB/s | GFLOP/s | bound | of bound | full batches |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
  ];
  for (const r of rows) {
    lines.push(`| ${r.model} | ${r.config} | ${r.batch} | ${r.tokensPerSecond.toFixed(1)} | ${r.tpotMedianMs.toFixed(1)} / ${r.tpotP90Ms.toFixed(1)} | ${r.stepMs.toFixed(1)} | ${r.distinctBefore ? `${r.distinctBefore.toFixed(1)} -> ${r.distinctAfter.toFixed(1)}` : "-"} | ${(r.bytesPerStep / 2 ** 20).toFixed(0)} | ${r.achievedGBps.toFixed(1)} | ${r.achievedGFlops.toFixed(0)} | ${r.bound} | ${(r.rooflineFraction * 100).toFixed(0)}% | ${r.fullBatchShare === null ? "-" : (r.fullBatchShare * 100).toFixed(0) + "%"} |`);
  }
  return lines.join("\n");
}

function writeDocs(report: { rows: Row[]; limits: MachineLimits; raw: Record<string, RawResult[]>; costs: Record<string, ModelCosts>; summary: object; machine: string; threads: number; tokens: number; repeats: number; quick: boolean; date: string; seconds: number }, quick: boolean) {
  const dir = path.join(root, "docs", "benchmarks");
  fs.mkdirSync(dir, { recursive: true });
  const suffix = quick ? "-quick" : "";
  const configs = [...new Set(report.rows.map((r) => r.config))];
  for (const model of Object.keys(report.costs)) {
    const rows = report.rows.filter((r) => r.model === model);
    const costs = report.costs[model]!;
    const series = configs.map((config) => ({ name: config, points: rows.filter((r) => r.config === config).map((r) => [r.batch, r.tokensPerSecond] as [number, number]) })).filter((s) => s.points.length > 0);
    if (report.raw[model]) series.push({ name: "raw llama.cpp", points: report.raw[model]!.map((r) => [r.batch, r.tokensPerSecond]) });
    fs.writeFileSync(path.join(dir, `${model}-throughput${suffix}.svg`), lineChart({ title: `${model}: decode tokens/s`, xLabel: "concurrent chats B", yLabel: "tokens/s", series, logX: true }));
    const batches = [...new Set(rows.map((r) => r.batch))].sort((a, b) => a - b);
    const distinctSeries = configs.filter((c) => c !== "stock" && c !== "off-split").map((config) => ({ name: config, points: rows.filter((r) => r.config === config && r.distinctAfter > 0).map((r) => [r.batch, r.distinctAfter] as [number, number]) })).filter((s) => s.points.length > 0);
    const curve: Array<[number, number]> = [];
    for (let b = 1; b <= Math.max(...batches); b++) curve.push([b, uniformDistinct(costs.experts, costs.expertsPerToken, b)]);
    fs.writeFileSync(path.join(dir, `${model}-distinct${suffix}.svg`), lineChart({ title: `${model}: distinct experts per layer per step`, xLabel: "concurrent chats B", yLabel: "distinct experts", series: distinctSeries, logX: true, lines: [{ name: "uniform N(1-(1-k/N)^B)", points: curve }] }));
  }
  // roofline: attainable GFLOP/s against arithmetic intensity
  const peak = report.limits.fmaGFlops;
  const bw = report.limits.readGBps;
  const intensities = report.rows.map((r) => r.flopsPerStep / r.bytesPerStep);
  const lo = Math.min(...intensities) / 2;
  const hi = Math.max(...intensities, peak / bw) * 2;
  const roof: Array<[number, number]> = [];
  for (let i = 0; i <= 40; i++) {
    const x = lo * Math.pow(hi / lo, i / 40);
    roof.push([x, Math.min(peak, bw * x)]);
  }
  const points = [...new Set(report.rows.map((r) => `${r.model}/${r.config}`))].map((key) => ({
    name: key.replace(/^bench-/, ""),
    markersOnly: true,
    points: report.rows.filter((r) => `${r.model}/${r.config}` === key).map((r) => [r.flopsPerStep / r.bytesPerStep, r.achievedGFlops] as [number, number]),
  }));
  fs.writeFileSync(path.join(dir, `roofline${suffix}.svg`), lineChart({ title: "roofline (each point: one model/config at one B)", xLabel: "FLOP per byte of weights", yLabel: "GFLOP/s", series: points, logX: true, logY: true, width: 860, lines: [{ name: `roof: ${bw} GB/s, ${peak} GFLOP/s`, points: roof }] }));
  fs.writeFileSync(path.join(dir, `latest${suffix}.json`), JSON.stringify(report, null, 2));
  fs.writeFileSync(path.join(dir, `latest${suffix}.md`), `# Benchmark run ${report.date}\n\n${report.machine}; ${report.threads} threads; ${report.tokens} tokens x ${report.repeats} repeats; ${report.seconds.toFixed(0)} s.\n\nMachine limits: streaming read ${bw} GB/s, fp32 FMA ${peak} GFLOP/s.\n\n${markdownTable(report.rows)}\n\nRaw llama.cpp (llama-batched-bench, unified KV):\n\n${Object.entries(report.raw).map(([m, rs]) => `- ${m}: ${rs.map((r) => `B=${r.batch} ${r.tokensPerSecond.toFixed(1)} tok/s`).join(", ")}`).join("\n")}\n\nSummary: \`${JSON.stringify(report.summary)}\`\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

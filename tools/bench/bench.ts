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
import { measureKernelRoof, measureLimits, type KernelRoof, type MachineLimits } from "./limits.js";
import { modelCosts, stepCosts, uniformDistinct, type ModelCosts } from "./model-costs.js";
import { rawBenchBinary, runRawBench, type RawResult } from "./raw-llama.js";
import type { ConfigInput, ConfigResult, ConfigResults } from "./run-config.js";
import { mean, median } from "./stats.js";
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
  outsideDecodeMs: number | null;
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
    // where the planning measurement reached 1.69x (8 of 128 kept): the smallest budget, M = k
    { name: "budget6.25", build: "engine", policy: budget(0.0625) },
  ];
  return quick ? all.filter((c) => ["stock", "off-split", "off", "balanced", "budget12.5"].includes(c.name)) : all;
}

function runConfig(input: ConfigInput): ConfigResults {
  const result = spawnSync(process.execPath, ["--import", "tsx", path.join(import.meta.dirname, "run-config.ts"), JSON.stringify(input)], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
    timeout: 1_800_000,
  });
  if (result.status !== 0) throw new Error(`run-config failed: ${result.stderr.slice(-2000)}`);
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!) as ConfigResults;
}

function ensureModel(name: string) {
  const file = path.join(modelsDir, `${name}.gguf`);
  if (fs.existsSync(file)) return file;
  log(`generating ${name} (once; several GB)`);
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "tools/fixtures/generate.ts"), "--bench", "--only", name], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0 || !fs.existsSync(file)) throw new Error(`cannot generate ${name}`);
  return file;
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
  const rounds = Number(values.rounds ?? (quick ? 3 : 2));
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
  const ratios: Record<string, Record<string, number | null>> = {};
  const costsByModel: Record<string, ModelCosts> = {};
  let kernel: KernelRoof | null = null;
  for (const name of models) {
    const file = ensureModel(name);
    const costs = await modelCosts(file);
    costsByModel[name] = costs;
    if (name === models[0] && costs.expertShape) {
      try {
        kernel = measureKernelRoof(threads, costs.expertShape[1], costs.expertShape[0]);
        log(`ggml's Q8_0 expert kernel (${kernel.rows}x${kernel.cols}, k=8, one token): ${kernel.cachedGBps} GB/s of weights from cache (${kernel.cachedGFlops} GFLOP/s), ${kernel.streamedGBps} GB/s from memory`);
      } catch (err) {
        log(`kernel roof not measured: ${(err as Error).message}`);
      }
    }
    for (const batch of batches) {
      // a single chat is never pruned (decode batches of one token are left alone), so B=1 runs no policy but off
      const configs = configsFor(costs, quick, name).filter((c) => !(batch === 1 && !["stock", "off", "off-split"].includes(c.name)));
      const policies = configs.filter((c) => c.build === "engine" && c.name !== "off-split").map((c) => ({ name: c.name, policy: c.policy }));
      const base = { model: file, batch, tokens, threads, repeats };
      // one job per process; engine policies take turns inside one process. The machine is noisy (the same run
      // varied by 30% from one minute to the next), so jobs run in rounds, in a rotating order, and every ratio is
      // the median of ratios measured side by side (same round, or same process)
      const jobs: Array<{ label: string; run: () => ConfigResults }> = [
        { label: "stock", run: () => runConfig({ ...base, build: "stock", policies: [{ name: "stock", policy: { kind: "off" } }] }) },
        { label: "off-split", run: () => runConfig({ ...base, build: "engine", policies: [{ name: "off-split", policy: { kind: "off" } }], unifiedKv: false, stats: false }) },
        { label: "engine", run: () => runConfig({ ...base, build: "engine", policies }) },
      ];
      if (rawBinary) jobs.push({ label: "raw", run: () => ({ raw: rawResult(runRawBench(rawBinary!, file, [batch], tokens, threads)[0]!) }) });
      const perRound: ConfigResults[] = [];
      for (let round = 0; round < rounds; round++) {
        const results: ConfigResults = {};
        for (let j = 0; j < jobs.length; j++) {
          const job = jobs[(j + round) % jobs.length]!;
          try {
            Object.assign(results, job.run());
          } catch (err) {
            log(`${name} B=${batch} ${job.label} failed: ${(err as Error).message}`);
          }
        }
        perRound.push(results);
      }
      const names = [...configs.map((c) => c.name), ...(rawBinary ? ["raw"] : [])];
      const rates = (config: string) => perRound.map((r) => r[config]?.tokensPerSecond ?? []);
      ratios[`${name} B=${batch}`] = Object.fromEntries(names.filter((c) => c !== "off" && c !== "raw").map((c) => [`${c}/off`, pairedRatio(rates(c), rates("off"), policies.some((p) => p.name === c))]));
      ratios[`${name} B=${batch}`]!["off-split/stock"] = pairedRatio(rates("off-split"), rates("stock"), false);
      ratios[`${name} B=${batch}`]!["off/raw"] = pairedRatio(rates("off"), rates("raw"), false);
      const offDistinct = mean(perRound.map((r) => r.off?.distinctAfter ?? 0).filter((d) => d > 0));
      for (const config of names) {
        const results = perRound.map((r) => r[config]).filter((r): r is ConfigResult => !!r);
        if (!results.length) continue;
        const all = results.flatMap((r) => r.tokensPerSecond);
        const best = Math.max(...all);
        // stock, off-split and raw route exactly like off (no policy): they use off's measured union
        const measured = mean(results.map((r) => r.distinctAfter).filter((d) => d > 0)) || offDistinct;
        const distinct = batch === 1 ? costs.expertsPerToken : measured || uniformDistinct(costs.experts, costs.expertsPerToken, batch);
        const stepSeconds = batch / best;
        const { bytes, flops } = stepCosts(costs, batch, distinct);
        const boundSeconds = Math.max(bytes / (limits.readGBps * 1e9), flops / (limits.fmaGFlops * 1e9));
        const outside = results.map((r) => r.outsideDecodeMs).filter((v): v is number => v !== null);
        const row: Row = {
          model: name,
          config,
          batch,
          tokensPerSecond: best,
          tokensPerSecondMedian: median(all),
          tpotMedianMs: median(results.map((r) => r.tpotMedianMs)),
          tpotP90Ms: median(results.map((r) => r.tpotP90Ms)),
          stepMs: stepSeconds * 1000,
          outsideDecodeMs: outside.length ? mean(outside) : null,
          distinctBefore: mean(results.map((r) => r.distinctBefore)),
          distinctAfter: mean(results.map((r) => r.distinctAfter)),
          bytesPerStep: bytes,
          flopsPerStep: flops,
          achievedGBps: bytes / stepSeconds / 1e9,
          achievedGFlops: flops / stepSeconds / 1e9,
          bound: bytes / (limits.readGBps * 1e9) >= flops / (limits.fmaGFlops * 1e9) ? "bandwidth" : "compute",
          rooflineFraction: boundSeconds / stepSeconds,
          fullBatchShare: results[0]!.fullBatchShare,
          top1Kept: results[0]!.top1Kept,
          massRetained: results[0]!.massRetained,
        };
        rows.push(row);
        log(`${name} B=${batch} ${config}: best ${best.toFixed(1)} / median ${row.tokensPerSecondMedian.toFixed(1)} tok/s, step ${row.stepMs.toFixed(1)} ms, distinct ${row.distinctBefore.toFixed(1)} -> ${row.distinctAfter.toFixed(1)}, ${row.bound}-bound ${(row.rooflineFraction * 100).toFixed(0)}%`);
      }
      log(`${name} B=${batch} paired ratios: ${JSON.stringify(ratios[`${name} B=${batch}`])}`);
    }
  }

  const find = (model: string, config: string, batch: number) => rows.find((r) => r.model === model && r.config === config && r.batch === batch);
  const main128 = `${models[0]!} B=16`;
  const summary = {
    overheadOff: ratios[main128]?.["off-split/stock"] ?? null,
    speedupBudget12B16: ratios[main128]?.["budget12.5/off"] ?? null,
    speedupBalancedB16: ratios[main128]?.["balanced/off"] ?? null,
    engineVsRawB16: ratios[main128]?.["off/raw"] ?? null,
    rooflineOffB1: round3(find(models[0]!, "off", 1)?.rooflineFraction),
  };
  const report = { date: new Date().toISOString(), machine: machineDescription(), threads, tokens, repeats, rounds, quick, limits, kernel, costs: costsByModel, rows, ratios, summary, seconds: (Date.now() - started) / 1000 };
  if (values.json) fs.writeFileSync(values.json, JSON.stringify(report, null, 2));
  if (!values["no-docs"]) writeDocs(report, quick);
  process.stdout.write(markdownTable(rows) + "\n");
  process.stdout.write(JSON.stringify(summary) + "\n");
}

function round3(x: number | undefined) {
  return x === undefined ? null : Number(x.toFixed(3));
}

/**
 * Median of side-by-side ratios a/b. `a` and `b` hold each round's rates (one per repetition). Policies of one
 * engine process alternate generation by generation, so their repetitions pair one to one; across processes
 * the pairs are the rounds' best rates.
 */
function pairedRatio(a: number[][], b: number[][], sameProcess: boolean) {
  const pairs: number[] = [];
  for (let round = 0; round < Math.min(a.length, b.length); round++) {
    const x = a[round]!;
    const y = b[round]!;
    if (!x.length || !y.length) continue;
    if (sameProcess) for (let i = 0; i < Math.min(x.length, y.length); i++) pairs.push(x[i]! / y[i]!);
    else pairs.push(Math.max(...x) / Math.max(...y));
  }
  return pairs.length ? Number(median(pairs).toFixed(3)) : null;
}

function rawResult(raw: RawResult): ConfigResult {
  return { tokensPerSecond: [raw.tokensPerSecond], tpotMedianMs: raw.stepMs, tpotP90Ms: raw.stepMs, outsideDecodeMs: null, distinctBefore: 0, distinctAfter: 0, fullBatchShare: 1, top1Kept: null, massRetained: null };
}

function machineDescription() {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  return `${cpu}, ${os.availableParallelism()} logical CPUs, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}`;
}

function markdownTable(rows: Row[]) {
  const lines = [
    "| model | config | B | tok/s best / median | TPOT med / p90 ms | step ms | outside decode ms | distinct before -> after | MB/step | GB/s | GFLOP/s | bound | of bound | full batches |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
  ];
  for (const r of rows) {
    lines.push(`| ${r.model} | ${r.config} | ${r.batch} | ${r.tokensPerSecond.toFixed(1)} / ${r.tokensPerSecondMedian.toFixed(1)} | ${r.tpotMedianMs.toFixed(1)} / ${r.tpotP90Ms.toFixed(1)} | ${r.stepMs.toFixed(1)} | ${r.outsideDecodeMs === null ? "-" : r.outsideDecodeMs.toFixed(1)} | ${r.distinctBefore ? `${r.distinctBefore.toFixed(1)} -> ${r.distinctAfter.toFixed(1)}` : "-"} | ${(r.bytesPerStep / 2 ** 20).toFixed(0)} | ${r.achievedGBps.toFixed(1)} | ${r.achievedGFlops.toFixed(0)} | ${r.bound} | ${(r.rooflineFraction * 100).toFixed(0)}% | ${r.fullBatchShare === null ? "-" : (r.fullBatchShare * 100).toFixed(0) + "%"} |`);
  }
  return lines.join("\n");
}

interface Report {
  date: string;
  machine: string;
  threads: number;
  tokens: number;
  repeats: number;
  rounds: number;
  quick: boolean;
  limits: MachineLimits;
  kernel: KernelRoof | null;
  costs: Record<string, ModelCosts>;
  rows: Row[];
  ratios: Record<string, Record<string, number | null>>;
  summary: object;
  seconds: number;
}

function writeDocs(report: Report, quick: boolean) {
  const dir = path.join(root, "docs", "benchmarks");
  fs.mkdirSync(dir, { recursive: true });
  const suffix = quick ? "-quick" : "";
  const configs = [...new Set(report.rows.map((r) => r.config))];
  for (const model of Object.keys(report.costs)) {
    const rows = report.rows.filter((r) => r.model === model);
    const costs = report.costs[model]!;
    const series = configs.map((config) => ({ name: config, points: rows.filter((r) => r.config === config).map((r) => [r.batch, r.tokensPerSecond] as [number, number]) })).filter((s) => s.points.length > 0);
    fs.writeFileSync(path.join(dir, `${model}-throughput${suffix}.svg`), lineChart({ title: `${model}: decode tokens/s`, xLabel: "concurrent chats B", yLabel: "tokens/s", series, logX: true }));
    const batches = [...new Set(rows.map((r) => r.batch))].sort((a, b) => a - b);
    const distinctSeries = configs.filter((c) => !["stock", "off-split", "raw"].includes(c)).map((config) => ({ name: config, points: rows.filter((r) => r.config === config && r.distinctAfter > 0).map((r) => [r.batch, r.distinctAfter] as [number, number]) })).filter((s) => s.points.length > 0);
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
  fs.writeFileSync(path.join(dir, `roofline${suffix}.svg`), lineChart({ title: "roofline (each point: one model/config at one B)", xLabel: "FLOP per byte of weights", yLabel: "GFLOP/s", series: points, logX: true, logY: true, width: 860, lines: [{ name: `roof: ${bw} GB/s, ${peak} GFLOP/s`, points: roof }, ...(report.kernel ? [{ name: `ggml Q8_0 expert kernel from cache: ${report.kernel.cachedGFlops} GFLOP/s`, points: [[lo, report.kernel.cachedGFlops], [hi, report.kernel.cachedGFlops]] as Array<[number, number]> }] : [])] }));
  fs.writeFileSync(path.join(dir, `latest${suffix}.json`), JSON.stringify(report, null, 2));
  const ratioLines = Object.entries(report.ratios).map(([key, r]) => `- ${key}: ${Object.entries(r).map(([k, v]) => `${k} ${v ?? "-"}`).join(", ")}`);
  fs.writeFileSync(path.join(dir, `latest${suffix}.md`), `# Benchmark run ${report.date}\n\n${report.machine}; ${report.threads} threads; ${report.tokens} tokens x ${report.repeats} repeats x ${report.rounds} rounds; ${report.seconds.toFixed(0)} s.\n\nMachine limits: streaming read ${bw} GB/s, fp32 FMA ${peak} GFLOP/s.${report.kernel ? ` ggml's Q8_0 expert kernel (${report.kernel.rows}x${report.kernel.cols}, k=8, one token): ${report.kernel.cachedGBps} GB/s of weights from cache (${report.kernel.cachedGFlops} GFLOP/s), ${report.kernel.streamedGBps} GB/s from memory.` : ""}\n\n${markdownTable(report.rows)}\n\nPaired ratios (median of side-by-side ratios):\n\n${ratioLines.join("\n")}\n\nSummary: \`${JSON.stringify(report.summary)}\`\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

// Fidelity benchmark: what batch-aware expert pruning costs in quality on the project's trained model.
//
//   npm run fidelity                       full run: 6 policies, 200 held-out items per task, 64 prose windows (~3 min);
//                                          writes docs/fidelity.md, docs/fidelity/fidelity.json and docs/fidelity/*.svg
//   npm run fidelity -- --quick            off and Balanced only, 100 items per task, 32 prose windows (~1 min)
//   Both print one JSON line last: {accuracyOff, accuracyBalanced, pplOff, pplBalanced, distinctReductionBalanced}.
//   options: --model PATH  --json PATH  --md PATH  --per-task N  --prose N  --chats N (default 8)  --threads N
//   --settings-from FILE   the settings of a pruning check's profile (npm run prune-check -- --profile FILE), all of
//                          them, instead of the six above: docs/prune-check.md compares the two (tools/prune-check/compare.ts)
//
// Everything runs through the real engine with 8 sequences, so decode steps are batched: task items run as 8
// concurrent greedy chats (a new chat per item, always 8 in flight), and held-out prose is teacher-forced on 8
// sequences at once, one token per sequence per decode (controlledEvaluate on all 8 together: node-llama-cpp
// batches them into one llama_decode). Routing fidelity comes from the patch's counters (token-layer routings,
// top-1 expert kept, router probability mass retained) and from the ubatch ring (distinct experts per layer per
// decode batch, before and after pruning).
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import type { AggressivenessPreset, AggressivenessSetting, PolicySpec } from "../../electron/api/contract.js";
import { LynxEngine } from "../../electron/engine/engine.js";
import { Counter } from "../../electron/engine/native/moe-select-api.js";
import { RoutingRecorder } from "../../electron/engine/routing-recorder.js";

const root = path.resolve(import.meta.dirname, "../..");
const { values } = parseArgs({
  options: {
    model: { type: "string", default: path.join(root, "resources/models/default.gguf") },
    heldout: { type: "string", default: path.join(root, "tools/fidelity/heldout.json") },
    quick: { type: "boolean", default: false },
    json: { type: "string" },
    md: { type: "string" },
    "per-task": { type: "string" },
    prose: { type: "string" },
    chats: { type: "string", default: "8" },
    threads: { type: "string" },
    "settings-from": { type: "string" },
  },
});
const quick = values.quick!;
const perTask = Number(values["per-task"] ?? (quick ? 100 : 200));
const proseCount = Number(values.prose ?? (quick ? 32 : 64));
const B = Number(values.chats);
const custom = quick || values["settings-from"] !== undefined;
const mdPath = values.md ?? (custom ? undefined : path.join(root, "docs/fidelity.md"));
const jsonPath = values.json ?? (custom ? undefined : path.join(root, "docs/fidelity/fidelity.json"));

interface Heldout {
  tasks: Record<string, Array<{ prompt: string; answer: string }>>;
  prose: { tokens: number[][]; text: string[] };
}
const heldout = JSON.parse(fs.readFileSync(values.heldout!, "utf8")) as Heldout;
const taskNames = Object.keys(heldout.tasks);

type PolicyEntry = { id: string; label: string; apply: (engine: LynxEngine) => string };
const preset = (p: AggressivenessPreset, label: string): PolicyEntry => ({
  id: p,
  label,
  apply: (engine) => engine.setAggressiveness({ mode: "preset", preset: p }).description,
});
const budget = (share: number): PolicyEntry => ({
  id: `budget${Math.round(share * 100)}`,
  label: `Budget ${Math.round(share * 100)}%`,
  apply: (engine) => {
    const spec: PolicySpec = { kind: "budget", experts: Math.max(engine.info.expertsPerToken, Math.round(engine.info.experts * share)) };
    return engine.setPolicy(spec).description;
  },
});
const fromProfile = (file: string): PolicyEntry[] => {
  const profile = JSON.parse(fs.readFileSync(file, "utf8")) as { settings: Array<{ name: string; setting: AggressivenessSetting }> };
  return profile.settings.map((s) => ({ id: s.name, label: s.name, apply: (engine) => engine.setAggressiveness(s.setting).description }));
};
const policies: PolicyEntry[] = values["settings-from"]
  ? fromProfile(values["settings-from"])
  : quick
    ? [preset("off", "Off"), preset("balanced", "Balanced")]
    : [preset("off", "Off"), preset("gentle", "Gentle"), preset("balanced", "Balanced"), preset("aggressive", "Aggressive"), budget(0.5), budget(0.25)];

interface PolicyResult {
  id: string;
  label: string;
  description: string;
  accuracy: Record<string, number>;
  accuracyOverall: number;
  items: number;
  perplexity: number;
  proseTokens: number;
  top1Kept: number;
  massRetained: number;
  distinct: {
    /** mean over full (B-sequence) decode batches and MoE layers */
    before: number;
    after: number;
    reduction: number;
    perLayer: Array<{ layer: number; before: number; after: number }>;
    fullBatches: number;
  };
  decodeBatches: { total: number; meanSize: number };
  seconds: number;
}

const log = (line: string) => process.stderr.write(line + "\n");

async function runTasks(engine: LynxEngine): Promise<Record<string, number>> {
  const queue = taskNames.flatMap((task) => heldout.tasks[task]!.slice(0, perTask).map((item) => ({ task, ...item })));
  const correct: Record<string, number> = Object.fromEntries(taskNames.map((t) => [t, 0]));
  const total: Record<string, number> = Object.fromEntries(taskNames.map((t) => [t, 0]));
  let next = 0;
  const sampling = { temperature: 0, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1, maxTokens: 12 };
  async function worker() {
    while (next < queue.length) {
      const item = queue[next++]!;
      const chat = engine.openChat({ sampling });
      try {
        const answer = await chat.send(item.prompt);
        total[item.task]!++;
        if (answer.text.trim() === item.answer) correct[item.task]!++;
      } finally {
        await engine.closeChat(chat.id);
      }
    }
  }
  await Promise.all(Array.from({ length: B }, () => worker()));
  return Object.fromEntries(taskNames.map((t) => [t, total[t]! ? correct[t]! / total[t]! : 0]));
}

/** Teacher-forced perplexity of held-out prose, B sequences per decode step, one token each. */
async function perplexity(engine: LynxEngine): Promise<{ ppl: number; tokens: number }> {
  const seqs = heldout.prose.tokens.slice(0, proseCount);
  let nll = 0;
  let n = 0;
  const options = { temperature: 1, topK: 0, topP: 1, minP: 0 };
  for (let start = 0; start < seqs.length; start += B) {
    const group = seqs.slice(start, start + B);
    const sequences = await Promise.all(group.map((_, i) => engine.pool.acquire(`ppl-${i}`)));
    try {
      await Promise.all(sequences.map((s) => s.clearHistory()));
      const length = Math.min(...group.map((g) => g.length));
      for (let t = 0; t + 1 < length; t++) {
        const outs = await Promise.all(
          sequences.map((s, i) => s.controlledEvaluate([[group[i]![t]!, { generateNext: { probabilities: true, options } }]] as never)),
        );
        outs.forEach((out, i) => {
          const p = out.at(-1)?.next.probabilities?.get(group[i]![t + 1]! as never) ?? 0;
          nll -= Math.log(Math.max(p, 1e-12));
          n++;
        });
      }
    } finally {
      for (const [i, s] of sequences.entries()) {
        await s.clearHistory();
        engine.pool.release(s);
        engine.pool.forget(`ppl-${i}`);
      }
    }
  }
  return { ppl: Math.exp(nll / n), tokens: n };
}

async function runPolicy(engine: LynxEngine, policy: PolicyEntry): Promise<PolicyResult> {
  const description = policy.apply(engine);
  const layers = engine.info.layers;
  const moe = engine.native.shape(layers)?.moeLayers ?? null;
  const recorder = new RoutingRecorder(engine.native, layers, engine.info.experts, () => moe, true).start(2);
  const before = engine.native.counters();
  const started = performance.now();
  const accuracy = await runTasks(engine);
  const { ppl, tokens } = await perplexity(engine);
  recorder.stop();
  const summary = recorder.summary(B);
  const counters = engine.native.counters().map((v, i) => v - before[i]!);
  const routed = counters[Counter.routed]!;
  const moeLayers = [...Array(layers).keys()].filter((l) => !moe || moe[l]);
  const full = recorder.perBatch.filter((b) => b.size === B);
  const perLayer = moeLayers.map((layer) => ({
    layer,
    before: mean(full.map((b) => b.before[layer]!)),
    after: mean(full.map((b) => b.after[layer]!)),
  }));
  const distinctBefore = mean(perLayer.map((l) => l.before));
  const distinctAfter = mean(perLayer.map((l) => l.after));
  const items = taskNames.reduce((a, t) => a + Math.min(perTask, heldout.tasks[t]!.length), 0);
  const overall = taskNames.reduce((a, t) => a + accuracy[t]! * Math.min(perTask, heldout.tasks[t]!.length), 0) / items;
  return {
    id: policy.id,
    label: policy.label,
    description,
    accuracy,
    accuracyOverall: overall,
    items,
    perplexity: ppl,
    proseTokens: tokens,
    top1Kept: routed ? counters[Counter.top1Kept]! / routed : 1,
    massRetained: routed ? counters[Counter.massRetained]! / routed : 1,
    distinct: { before: distinctBefore, after: distinctAfter, reduction: distinctBefore ? 1 - distinctAfter / distinctBefore : 0, perLayer, fullBatches: full.length },
    decodeBatches: { total: summary.decodeBatches.total, meanSize: summary.decodeBatches.meanSize },
    seconds: (performance.now() - started) / 1000,
  };
}

function mean(xs: number[]) {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}

const pct = (x: number, digits = 1) => `${(x * 100).toFixed(digits)}%`;
const signed = (x: number, digits = 1) => `${x >= 0 ? "+" : ""}${x.toFixed(digits)}`;

function markdown(results: PolicyResult[], meta: Record<string, unknown>): string {
  const off = results[0]!;
  const lines: string[] = [];
  lines.push("# Fidelity of batch-aware expert selection on the bundled model", "");
  lines.push(`Generated by \`npm run fidelity\` (tools/fidelity/fidelity.ts) on ${meta.date}: model \`${meta.model}\` ` +
    `(${meta.architecture}, ${meta.layers} layers, ${meta.experts} experts, top-${meta.expertsPerToken}), ${B} concurrent sequences, ${meta.threads} threads.`, "");
  lines.push(`Held-out items: ${perTask} per task (${taskNames.join(", ")}), answered by ${B} concurrent greedy chats (exact match). ` +
    `Perplexity: ${proseCount} held-out prose windows (KJV chapters and fortunes never trained on), teacher-forced in decode batches of ${B} ` +
    `(one token per sequence per decode). Distinct experts: mean per MoE layer over decode batches of exactly ${B} tokens, ` +
    "before (plain top-k union) and after pruning, from the patch's ubatch ring; top-1 kept and router mass retained from its counters.", "");
  lines.push("| Policy | Effective policy | Accuracy | Δ vs off (points) | Perplexity | Δ vs off | Distinct experts / layer (B=8) | Reduction | Top-1 kept | Mass retained |");
  lines.push("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of results) {
    lines.push(`| ${r.label} | ${r.description} | ${pct(r.accuracyOverall)} | ${signed((r.accuracyOverall - off.accuracyOverall) * 100)} | ` +
      `${r.perplexity.toFixed(3)} | ${signed((r.perplexity / off.perplexity - 1) * 100, 2)}% | ${r.distinct.before.toFixed(2)} → ${r.distinct.after.toFixed(2)} | ` +
      `${pct(r.distinct.reduction)} | ${pct(r.top1Kept)} | ${pct(r.massRetained)} |`);
  }
  lines.push("", "## Accuracy per task (Δ vs off in points)", "");
  lines.push(`| Policy | ${taskNames.join(" | ")} |`);
  lines.push(`|---|${taskNames.map(() => "---:").join("|")}|`);
  for (const r of results) {
    lines.push(`| ${r.label} | ${taskNames.map((t) => `${pct(r.accuracy[t]!)} (${signed((r.accuracy[t]! - off.accuracy[t]!) * 100)})`).join(" | ")} |`);
  }
  lines.push("", "## Distinct experts per layer in full decode batches (after pruning; off = plain top-k union)", "");
  const layerIds = off.distinct.perLayer.map((l) => l.layer);
  lines.push(`| Policy | ${layerIds.map((l) => `layer ${l}`).join(" | ")} | full batches | mean batch |`);
  lines.push(`|---|${layerIds.map(() => "---:").join("|")}|---:|---:|`);
  for (const r of results) {
    lines.push(`| ${r.label} | ${r.distinct.perLayer.map((l) => l.after.toFixed(2)).join(" | ")} | ${r.distinct.fullBatches} | ${r.decodeBatches.meanSize.toFixed(2)} |`);
  }
  lines.push("", "![accuracy delta against distinct-expert reduction](fidelity/accuracy-vs-experts.svg)", "");
  lines.push("![perplexity delta against distinct-expert reduction](fidelity/perplexity-vs-experts.svg)", "");
  const bal = results.find((r) => r.id === "balanced");
  if (bal) {
    const accOk = (bal.accuracyOverall - off.accuracyOverall) * 100 >= -1;
    const pplOk = bal.perplexity / off.perplexity - 1 <= 0.02;
    const redOk = bal.distinct.reduction >= 0.2;
    lines.push("## Targets for Balanced", "");
    lines.push(`- accuracy within 1 point of off: ${signed((bal.accuracyOverall - off.accuracyOverall) * 100)} points — ${accOk ? "met" : "missed"}`);
    lines.push(`- perplexity within +2%: ${signed((bal.perplexity / off.perplexity - 1) * 100, 2)}% — ${pplOk ? "met" : "missed"}`);
    lines.push(`- at least 20% fewer distinct experts per layer at B = ${B}: ${pct(bal.distinct.reduction)} — ${redOk ? "met" : "missed"}`, "");
  }
  lines.push("## Notes", "");
  lines.push("- Which chats share a decode batch depends on timing, so pruned runs vary slightly between runs (±0.1-0.3 points seen on the affinity rows); policy off is exact.");
  lines.push(`- Perplexity under off equals PyTorch's on the same windows (see resources/models/README.md), which checks the teacher-forcing path.`);
  lines.push("- Budget 50% (8 of 16) binds only in batches whose plain union exceeds 8 experts; the mean union is about 8.", "");
  return lines.join("\n") + "\n";
}

function scatterSvg(results: PolicyResult[], y: (r: PolicyResult) => number, yLabel: string, title: string): string {
  const W = 640, H = 420, L = 70, R = 30, T = 50, Bm = 60;
  const xs = results.map((r) => r.distinct.reduction * 100);
  const ys = results.map(y);
  const xMax = Math.max(10, Math.ceil(Math.max(...xs) / 10) * 10);
  const yMin = Math.min(-1, Math.floor(Math.min(...ys)));
  const yMax = Math.max(1, Math.ceil(Math.max(...ys)));
  const px = (x: number) => L + (x / xMax) * (W - L - R);
  const py = (v: number) => T + ((yMax - v) / (yMax - yMin)) * (H - T - Bm);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="15">${title}</text>`);
  for (let x = 0; x <= xMax; x += 10) {
    out.push(`<line x1="${px(x)}" y1="${T}" x2="${px(x)}" y2="${H - Bm}" stroke="#eee"/>`);
    out.push(`<text x="${px(x)}" y="${H - Bm + 16}" text-anchor="middle">${x}%</text>`);
  }
  const step = Math.max(1, Math.ceil((yMax - yMin) / 10));
  for (let v = yMin; v <= yMax; v += step) {
    out.push(`<line x1="${L}" y1="${py(v)}" x2="${W - R}" y2="${py(v)}" stroke="${v === 0 ? "#999" : "#eee"}"/>`);
    out.push(`<text x="${L - 8}" y="${py(v) + 4}" text-anchor="end">${v}</text>`);
  }
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 18}" text-anchor="middle">fewer distinct experts per layer than plain top-k, decode batches of ${B} (%)</text>`);
  out.push(`<text x="18" y="${(T + H - Bm) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(T + H - Bm) / 2})">${yLabel}</text>`);
  results.forEach((r, i) => {
    const cx = px(xs[i]!), cy = py(ys[i]!);
    const color = r.id.startsWith("budget") ? "#d95f02" : "#1b9e77";
    out.push(`<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="5" fill="${color}"/>`);
    out.push(`<text x="${(cx + 8).toFixed(1)}" y="${(cy - 8 - (i % 2) * 10).toFixed(1)}">${r.label} (${ys[i]!.toFixed(1)})</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

const engine = await LynxEngine.load({ modelPath: values.model!, maxChats: B, ...(values.threads ? { threads: Number(values.threads) } : {}) });
const started = performance.now();
log(`fidelity: ${engine.info.name}, ${engine.info.layers} layers, ${engine.info.experts} experts top-${engine.info.expertsPerToken}; ` +
  `${B} sequences, ${perTask} items per task, ${proseCount} prose windows${quick ? " (quick)" : ""}`);
const results: PolicyResult[] = [];
try {
  for (const policy of policies) {
    const r = await runPolicy(engine, policy);
    results.push(r);
    log(`${r.label.padEnd(11)} acc ${pct(r.accuracyOverall)} ${JSON.stringify(Object.fromEntries(Object.entries(r.accuracy).map(([k, v]) => [k, Math.round(v * 1000) / 10])))} ` +
      `ppl ${r.perplexity.toFixed(3)} distinct ${r.distinct.before.toFixed(2)}→${r.distinct.after.toFixed(2)} (-${pct(r.distinct.reduction)}) ` +
      `top1 ${pct(r.top1Kept)} mass ${pct(r.massRetained)} batches ${r.decodeBatches.total} mean ${r.decodeBatches.meanSize.toFixed(2)} [${r.seconds.toFixed(0)} s]`);
  }
} finally {
  await engine.dispose();
}

const meta = {
  date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
  model: path.relative(root, path.resolve(values.model!)),
  architecture: engine.info.architecture,
  layers: engine.info.layers,
  experts: engine.info.experts,
  expertsPerToken: engine.info.expertsPerToken,
  threads: engine.info.threads,
  chats: B,
  perTask,
  proseWindows: proseCount,
  quick,
  seconds: Math.round((performance.now() - started) / 1000),
};
const off = results[0]!;
const report = {
  meta,
  results: results.map((r) => ({
    ...r,
    accuracyDeltaPoints: (r.accuracyOverall - off.accuracyOverall) * 100,
    perplexityDelta: r.perplexity / off.perplexity - 1,
  })),
};
if (jsonPath) {
  fs.mkdirSync(path.dirname(jsonPath), { recursive: true });
  fs.writeFileSync(jsonPath, JSON.stringify(report, null, 1) + "\n");
}
if (mdPath) {
  const svgDir = path.join(path.dirname(mdPath), "fidelity");
  fs.mkdirSync(svgDir, { recursive: true });
  fs.writeFileSync(path.join(svgDir, "accuracy-vs-experts.svg"),
    scatterSvg(results, (r) => (r.accuracyOverall - off.accuracyOverall) * 100, "accuracy change vs off (points)", "Held-out accuracy against expert reduction"));
  fs.writeFileSync(path.join(svgDir, "perplexity-vs-experts.svg"),
    scatterSvg(results, (r) => (r.perplexity / off.perplexity - 1) * 100, "perplexity change vs off (%)", "Held-out prose perplexity against expert reduction"));
  fs.writeFileSync(mdPath, markdown(results, meta));
  log(`wrote ${path.relative(root, mdPath)} and ${path.relative(root, svgDir)}/*.svg`);
}
log(`${Math.round((performance.now() - started) / 1000)} s`);
const bal = results.find((r) => r.id === "balanced");
console.log(JSON.stringify({
  accuracyOff: round(off.accuracyOverall),
  accuracyBalanced: bal ? round(bal.accuracyOverall) : null,
  pplOff: round(off.perplexity),
  pplBalanced: bal ? round(bal.perplexity) : null,
  distinctReductionBalanced: bal ? round(bal.distinct.reduction) : null,
}));

function round(x: number) {
  return Math.round(x * 10000) / 10000;
}

// Validates the pruning check against the fidelity benchmark on the same settings (docs/prune-check.md):
//   npm run prune-check -- --model M --profile P.json
//   npm run fidelity -- --model M --settings-from P.json --json F.json
//   npx tsx tools/prune-check/compare.ts P.json F.json
// Prints a markdown table and, last, one JSON object: Spearman rank correlations between the probe's figures and
// fidelity's accuracy and perplexity deltas against off, and whether Auto stays within 1 point and +2% of off.
import fs from "node:fs";
import type { PruneProfile } from "../../electron/api/contract.js";
import { spearman } from "../../electron/prune-check/index.js";

interface FidelityReport {
  results: Array<{ id: string; label: string; accuracyOverall: number; perplexity: number; accuracyDeltaPoints: number; perplexityDelta: number; distinct: { reduction: number } }>;
}

const [profilePath, fidelityPath] = process.argv.slice(2);
if (!profilePath || !fidelityPath) {
  console.error("usage: npx tsx tools/prune-check/compare.ts PROFILE.json FIDELITY.json");
  process.exit(2);
}
const profile = JSON.parse(fs.readFileSync(profilePath, "utf8")) as PruneProfile & { model?: string };
const fidelity = JSON.parse(fs.readFileSync(fidelityPath, "utf8")) as FidelityReport;
const rows = profile.settings.flatMap((s) => {
  const f = fidelity.results.find((r) => r.id === s.name);
  return f ? [{ s, f }] : [];
});
if (rows.length < 3) throw new Error(`only ${rows.length} settings in both files: nothing to correlate`);

const r3 = (x: number) => Math.round(x * 1000) / 1000;
console.log("| Setting | Probe agreement | Probe KL mean | Probe bytes saved | Fidelity accuracy Δ (points) | Fidelity perplexity Δ | Fidelity distinct reduction |");
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const { s, f } of rows) {
  console.log(`| ${s.name} | ${(s.agreement * 100).toFixed(2)}% | ${s.klMean.toFixed(4)} | ${(s.bytesSaved * 100).toFixed(1)}% | ${f.accuracyDeltaPoints >= 0 ? "+" : ""}${f.accuracyDeltaPoints.toFixed(1)} | ${f.perplexityDelta >= 0 ? "+" : ""}${(f.perplexityDelta * 100).toFixed(2)}% | ${(f.distinct.reduction * 100).toFixed(1)}% |`);
}
const agreement = rows.map((r) => r.s.agreement);
const kl = rows.map((r) => r.s.klMean);
const accuracy = rows.map((r) => r.f.accuracyDeltaPoints);
const perplexity = rows.map((r) => r.f.perplexityDelta);
const auto = profile.auto ? rows.find((r) => r.s.name === profile.auto!.name) : undefined;
console.log(
  JSON.stringify({
    model: profile.model ?? null,
    settings: rows.length,
    spearmanAgreementAccuracy: r3(spearman(agreement, accuracy)),
    spearmanAgreementPerplexity: r3(spearman(agreement, perplexity)),
    spearmanKlAccuracy: r3(spearman(kl, accuracy)),
    spearmanKlPerplexity: r3(spearman(kl, perplexity)),
    auto: auto
      ? { name: auto.s.name, accuracyDeltaPoints: r3(auto.f.accuracyDeltaPoints), perplexityDelta: r3(auto.f.perplexityDelta), withinTargets: auto.f.accuracyDeltaPoints >= -1 && auto.f.perplexityDelta <= 0.02 }
      : null,
  }),
);

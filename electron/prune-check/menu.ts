// The settings the check measures (everything the pruning panel offers) and Auto's rule, in one place.
import type { AggressivenessSetting, PolicySpec, PruneSettingResult } from "../api/contract.js";
import { resolvePolicy, type ModelIdentity } from "../engine/policy.js";

/**
 * Auto is the most aggressive setting (the most expert bytes saved per decode step) whose top-1 agreement with policy
 * off is at least `agreement` and whose mean KL(off || setting) in nats is at most `klMean`. Adjust here, or per run
 * with `npm run prune-check -- --min-agreement A --max-kl K`. docs/prune-check.md says how they were chosen.
 */
export const autoThresholds = { agreement: 0.99, klMean: 0.02 } as const;
export type AutoThresholds = { agreement: number; klMean: number };

export type MenuSetting = Exclude<AggressivenessSetting, { mode: "auto" }>;

export interface MenuEntry {
  name: string;
  setting: MenuSetting;
}

/** Slider points between the presets (Gentle 0.25, Balanced 0.5, Aggressive 0.85) and the slider's end. */
export const sliderPoints = [0.375, 0.625, 0.75, 1] as const;

/**
 * Budgets as shares of the plain top-k union: the mean distinct experts per MoE layer per decode step that policy
 * off reads at this check's batch size, measured in its off pass. A share of all experts would not bind on a model
 * with many experts (at 8 chats a 128-expert top-8 model touches about 50), a share of the union does on any model.
 */
export const budgetShares = [0.5, 0.25, 0.125] as const;

/** Off and the presets and slider points: known before anything is measured. */
export function fixedMenu(): MenuEntry[] {
  return [
    { name: "Off", setting: { mode: "preset", preset: "off" } },
    { name: "Gentle", setting: { mode: "preset", preset: "gentle" } },
    { name: "Balanced", setting: { mode: "preset", preset: "balanced" } },
    { name: "Aggressive", setting: { mode: "preset", preset: "aggressive" } },
    ...sliderPoints.map((value): MenuEntry => ({ name: `Slider ${Math.round(value * 100)}%`, setting: { mode: "slider", value } })),
  ];
}

/** Budget M = round(share x union), at least the model's top-k (a token always keeps its own k experts). */
export function budgetMenu(union: number, model: ModelIdentity): MenuEntry[] {
  return budgetShares.map((share) => {
    const experts = Math.max(model.expertsPerToken, Math.round(share * union));
    return { name: `Budget ${share * 100}% (${experts})`, setting: { mode: "budget", experts } };
  });
}

/** Drops entries whose effective policy on this model equals an earlier one's (e.g. two budgets clamped to top-k). */
export function distinctEntries(entries: readonly MenuEntry[], model: ModelIdentity, seen: Set<string> = new Set()): MenuEntry[] {
  const kept: MenuEntry[] = [];
  for (const entry of entries) {
    const key = specKey(resolvePolicy(entry.setting, model).effective);
    if (seen.has(key)) continue;
    seen.add(key);
    kept.push(entry);
  }
  return kept;
}

export function specKey(spec: PolicySpec): string {
  return spec.kind === "off" ? "off" : spec.kind === "budget" ? `budget:${spec.experts}` : `affinity:${spec.alpha},${spec.beta}`;
}

/** Auto's pick: within the thresholds, the most expert bytes saved (ties: the higher agreement); off always qualifies. */
export function pickAuto(results: readonly PruneSettingResult[], thresholds: AutoThresholds = autoThresholds): PruneSettingResult | null {
  let best: PruneSettingResult | null = null;
  for (const r of results) {
    if (r.agreement < thresholds.agreement || r.klMean > thresholds.klMean) continue;
    if (!best || r.bytesSaved > best.bytesSaved + 1e-9 || (Math.abs(r.bytesSaved - best.bytesSaved) <= 1e-9 && r.agreement > best.agreement)) best = r;
  }
  return best;
}

/** What Auto keeps and saves, for its button and description. */
export function autoLabel(auto: PruneSettingResult): string {
  const pct = (x: number) => `${(x * 100).toFixed(x >= 0.995 && x < 1 ? 1 : 0)}%`;
  if (auto.setting.mode === "preset" && auto.setting.preset === "off") return "Off (no pruned setting stayed within the thresholds on this model)";
  return `${auto.name}: keeps ${pct(auto.agreement)} of top-1 tokens, reads ${pct(auto.bytesSaved)} fewer expert bytes per step`;
}

// Maps the user's "pruning aggressiveness" to a batch-aware expert-selection policy for the loaded model.
// Balanced is the family default shipped by the Lynx authors where the model is recognised; the slider moves
// the clamp beta around it (smaller beta = more aggressive), see affinityForSlider.
import type { AggressivenessPreset, AggressivenessSetting, PolicySpec, PolicyState } from "../api/contract.js";

export interface ModelIdentity {
  architecture: string;
  name: string;
  experts: number;
  expertsPerToken: number;
  isMoE: boolean;
}

export interface FamilyDefault {
  alpha: number;
  beta: number;
  source: string;
}

// Shipped per-model defaults (alpha, beta), most specific first.
const familyDefaults: Array<{ test: RegExp; alpha: number; beta: number; label: string }> = [
  { test: /mixtral.*8x22b/i, alpha: 1, beta: 1, label: "Mixtral-8x22B" },
  { test: /mixtral/i, alpha: 0.7, beta: 1, label: "Mixtral-8x7B" },
  { test: /qwen2.*57b/i, alpha: 3, beta: 4, label: "Qwen2-57B-A14B" },
  { test: /qwen3.*235b.*think/i, alpha: 1, beta: 2, label: "Qwen3-235B-Thinking" },
  { test: /qwen3/i, alpha: 3, beta: 2, label: "Qwen3 MoE" },
  { test: /deepseek/i, alpha: 1, beta: 2, label: "DeepSeek-Coder-V2" },
  { test: /gpt-?oss/i, alpha: 3, beta: 2, label: "gpt-oss" },
];

// Architectures whose name does not say the family.
const architectureFamilies: Record<string, string> = {
  qwen3moe: "qwen3",
  qwen2moe: "qwen2-57b",
  deepseek2: "deepseek",
  "gpt-oss": "gpt-oss",
};

/** Documented generic default for unrecognised MoE models: one-nat bins clamped at two bins. */
export const genericDefault: FamilyDefault = { alpha: 1, beta: 2, source: "generic default (unrecognised family)" };

export function familyDefault(model: ModelIdentity): FamilyDefault {
  const candidates = [model.name, architectureFamilies[model.architecture] ?? "", model.architecture];
  for (const candidate of candidates) {
    for (const entry of familyDefaults) {
      if (candidate && entry.test.test(candidate)) {
        return { alpha: entry.alpha, beta: entry.beta, source: `${entry.label} family default` };
      }
    }
  }
  return genericDefault;
}

export const presetSliderValue: Record<AggressivenessPreset, number> = {
  off: 0,
  gentle: 0.25,
  balanced: 0.5,
  aggressive: 0.85,
};

/**
 * Slider value in [0, 1]: 0 is off, 0.5 the family default. The slider moves beta (the clamp, in bins) and keeps
 * the family's alpha (bin width): measured on our fixtures at 4 chats, distinct experts fall monotonically as beta
 * falls (alpha 3: beta 8 -> 8% fewer, 4 -> 28%, 2 -> 44%, 1 -> 49%), while moving alpha and beta together was not
 * monotone (alpha 1, beta 2 pruned less than alpha 3, beta 2). Beta goes from 4x the default (v -> 0) to 1/4 (v = 1).
 */
export function affinityForSlider(value: number, base: FamilyDefault): { alpha: number; beta: number } {
  const v = Math.min(1, Math.max(0, value));
  const factor = Math.pow(4, (0.5 - v) * 2); // 4 at v=0, 1 at 0.5, 1/4 at 1
  const round = (x: number) => Math.round(x * 100) / 100;
  return { alpha: base.alpha, beta: round(Math.max(0.25, base.beta * factor)) };
}

/** What Auto stands for on the loaded model: the pruning check's pick (electron/prune-check), with its label. */
export interface AutoChoice {
  setting: Exclude<AggressivenessSetting, { mode: "auto" }>;
  /** e.g. "Balanced: keeps 99.6% of top-1 tokens, reads 30% fewer expert bytes". */
  label: string;
}

/**
 * `auto` resolves through the model's pruning-check result; without one nothing is pruned (an unmeasured model has no
 * setting known to stay within Auto's thresholds) and the description says to run the check.
 */
export function resolvePolicy(setting: AggressivenessSetting, model: ModelIdentity, auto: AutoChoice | null = null): PolicyState {
  if (setting.mode === "auto") {
    const inner = auto && model.isMoE ? resolvePolicy(auto.setting, model) : resolvePolicy({ mode: "preset", preset: "off" }, model);
    const description = !model.isMoE
      ? inner.description
      : auto
        ? `auto: ${auto.label} (${inner.description})`
        : "auto: this model has not been checked yet, so nothing is pruned; run \"Check this model\" to tune Auto";
    return { ...inner, setting, description };
  }
  const base = familyDefault(model);
  const applicable = model.isMoE && model.experts > model.expertsPerToken;
  let effective: PolicySpec = { kind: "off" };

  if (applicable) {
    if (setting.mode === "budget") {
      const experts = Math.round(Math.min(model.experts, Math.max(model.expertsPerToken, setting.experts)));
      effective = experts >= model.experts ? { kind: "off" } : { kind: "budget", experts };
    } else {
      const value = setting.mode === "preset" ? presetSliderValue[setting.preset] : setting.value;
      if (value > 0) effective = { kind: "affinity", ...affinityForSlider(value, base) };
    }
  }

  return { setting, effective, description: describePolicy(effective, base, applicable), familyDefault: base, applicable };
}

export function describePolicy(policy: PolicySpec, base: FamilyDefault, applicable = true): string {
  if (!applicable) return "off (dense model: pruning does not apply)";
  switch (policy.kind) {
    case "off":
      return "off (plain top-k)";
    case "affinity":
      return `affinity alpha=${policy.alpha} beta=${policy.beta} (balanced: ${base.alpha}/${base.beta}, ${base.source})`;
    case "budget":
      return `budget: at most ${policy.experts} experts per layer per decode step (never fewer than each token's top-k)`;
  }
}

/** Parses the CLI form: off | affinity:A,B | budget:M */
export function parsePolicy(text: string): PolicySpec {
  const [kind, args = ""] = text.split(":", 2);
  if (kind === "off") return { kind: "off" };
  if (kind === "affinity") {
    const [alpha, beta] = args.split(",").map(Number);
    if (!(alpha! > 0) || !(beta! >= 0)) throw new Error(`invalid affinity policy "${text}": expected affinity:ALPHA,BETA with ALPHA > 0, BETA >= 0`);
    return { kind: "affinity", alpha: alpha!, beta: beta! };
  }
  if (kind === "budget") {
    const experts = Number(args);
    if (!Number.isInteger(experts) || experts < 1) throw new Error(`invalid budget policy "${text}": expected budget:M with M >= 1`);
    return { kind: "budget", experts };
  }
  throw new Error(`unknown policy "${text}": expected off, affinity:A,B or budget:M`);
}

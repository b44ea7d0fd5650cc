import { describe, expect, it } from "vitest";
import { affinityForSlider, familyDefault, genericDefault, parsePolicy, resolvePolicy } from "../../electron/engine/policy.js";

const qwen = { architecture: "qwen3moe", name: "Qwen3-30B-A3B", experts: 128, expertsPerToken: 8, isMoE: true };
const unknown = { architecture: "olmoe", name: "OLMoE-1B-7B", experts: 64, expertsPerToken: 8, isMoE: true };
const dense = { architecture: "qwen3", name: "Qwen3-8B", experts: 0, expertsPerToken: 0, isMoE: false };

describe("aggressiveness mapping", () => {
  it("balanced is the family default where the model is recognised", () => {
    expect(familyDefault(qwen)).toMatchObject({ alpha: 3, beta: 2 });
    expect(familyDefault({ ...unknown, name: "Mixtral-8x7B-Instruct", architecture: "llama" })).toMatchObject({ alpha: 0.7, beta: 1 });
    expect(familyDefault(unknown)).toEqual(genericDefault);
    expect(resolvePolicy({ mode: "preset", preset: "balanced" }, qwen).effective).toEqual({ kind: "affinity", alpha: 3, beta: 2 });
  });

  it("the slider moves beta monotonically around the family default: more aggressive = smaller", () => {
    const base = familyDefault(qwen);
    let previous = affinityForSlider(0.05, base);
    for (let v = 0.1; v <= 1.0001; v += 0.05) {
      const next = affinityForSlider(v, base);
      expect(next.alpha).toBe(base.alpha);
      expect(next.beta).toBeLessThanOrEqual(previous.beta);
      previous = next;
    }
    expect(affinityForSlider(0.5, base)).toEqual({ alpha: base.alpha, beta: base.beta });
    expect(affinityForSlider(0.05, base).beta).toBeGreaterThan(base.beta);
    expect(affinityForSlider(1, base).beta).toBeLessThan(base.beta);
  });

  it("off, presets and budget resolve to what the patch gets", () => {
    expect(resolvePolicy({ mode: "preset", preset: "off" }, qwen).effective).toEqual({ kind: "off" });
    expect(resolvePolicy({ mode: "slider", value: 0 }, qwen).effective).toEqual({ kind: "off" });
    const gentle = resolvePolicy({ mode: "preset", preset: "gentle" }, qwen).effective;
    const aggressive = resolvePolicy({ mode: "preset", preset: "aggressive" }, qwen).effective;
    expect(gentle.kind === "affinity" && aggressive.kind === "affinity" && gentle.beta > aggressive.beta).toBe(true);
    // a budget below k is raised to k; a budget of every expert is no policy at all
    expect(resolvePolicy({ mode: "budget", experts: 2 }, qwen).effective).toEqual({ kind: "budget", experts: 8 });
    expect(resolvePolicy({ mode: "budget", experts: 500 }, qwen).effective).toEqual({ kind: "off" });
  });

  it("a dense model says pruning does not apply", () => {
    const state = resolvePolicy({ mode: "preset", preset: "aggressive" }, dense);
    expect(state.applicable).toBe(false);
    expect(state.effective).toEqual({ kind: "off" });
    expect(state.description).toMatch(/dense/);
  });

  it("parses the CLI form and rejects nonsense", () => {
    expect(parsePolicy("off")).toEqual({ kind: "off" });
    expect(parsePolicy("affinity:3,2")).toEqual({ kind: "affinity", alpha: 3, beta: 2 });
    expect(parsePolicy("budget:16")).toEqual({ kind: "budget", experts: 16 });
    expect(() => parsePolicy("budget:0")).toThrow();
    expect(() => parsePolicy("affinity:-1,2")).toThrow();
    expect(() => parsePolicy("fast")).toThrow();
  });
});

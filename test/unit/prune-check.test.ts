// The pruning check's pure parts: KL and quantiles, the comparison of passes, Auto's rule, the budget menu.
import { describe, expect, it } from "vitest";
import type { Token } from "node-llama-cpp";
import type { PruneSettingResult } from "../../electron/api/contract.js";
import type { Distribution } from "../../electron/engine/forced-decode.js";
import { comparePasses, klDivergence, quantile, spearman } from "../../electron/prune-check/measure.js";
import { budgetMenu, distinctEntries, fixedMenu, pickAuto } from "../../electron/prune-check/menu.js";

const d = (entries: Array<[number, number]>): Distribution => new Map(entries.map(([token, p]) => [token as Token, p]));
const model = { architecture: "qwen3moe", name: "Test MoE", experts: 16, expertsPerToken: 2, isMoE: true };

function result(name: string, agreement: number, klMean: number, bytesSaved: number): PruneSettingResult {
  return { name, setting: { mode: "slider", value: 0.5 }, description: "", agreement, klMean, klP95: klMean, distinctAfter: 4, distinctReduction: bytesSaved, bytesSaved, speedup: 1 };
}

describe("pruning check measures", () => {
  it("KL is 0 for equal distributions, positive otherwise, finite when q lacks a token", () => {
    const p = d([[1, 0.7], [2, 0.2], [3, 0.1]]);
    expect(klDivergence(p, p)).toBe(0);
    const q = d([[1, 0.5], [2, 0.4], [3, 0.1]]);
    const expected = 0.7 * Math.log(0.7 / 0.5) + 0.2 * Math.log(0.2 / 0.4);
    expect(klDivergence(p, q)).toBeCloseTo(expected, 12);
    // token 3 missing in a truncated q: its probability is taken as q's smallest listed one
    const truncated = d([[1, 0.5], [2, 0.45], [4, 0.05]]);
    expect(klDivergence(p, truncated)).toBeCloseTo(0.7 * Math.log(0.7 / 0.5) + 0.2 * Math.log(0.2 / 0.45) + 0.1 * Math.log(0.1 / 0.05), 12);
  });

  it("quantile by nearest rank", () => {
    expect(quantile([], 0.95)).toBe(0);
    expect(quantile([3, 1, 2], 0.5)).toBe(2);
    expect(quantile(Array.from({ length: 100 }, (_, i) => i + 1), 0.95)).toBe(95);
  });

  it("compares only positions of batched decode steps", () => {
    const a = d([[1, 0.9], [2, 0.1]]);
    const b = d([[2, 0.6], [1, 0.4]]);
    const off = [[a, a, a]];
    const setting = [[a, b, b]];
    const all = comparePasses(off, setting, [[2, 2, 2]]);
    expect(all.positions).toBe(3);
    expect(all.agreement).toBeCloseTo(1 / 3, 12);
    const batchedOnly = comparePasses(off, setting, [[2, 2, 1]]);
    expect(batchedOnly.positions).toBe(2);
    expect(batchedOnly.agreement).toBe(0.5);
    expect(comparePasses(off, off, [[2, 2, 2]])).toEqual({ positions: 3, agreement: 1, klMean: 0, klP95: 0 });
  });

  it("Spearman: 1 for a monotone relation, -1 reversed, ties share ranks", () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 400])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    expect(spearman([1, 1, 2], [1, 2, 3])).toBeCloseTo(0.866, 3);
    expect(Number.isNaN(spearman([1, 1, 1], [1, 2, 3]))).toBe(true);
  });
});

describe("Auto", () => {
  it("is the most saving setting within both thresholds", () => {
    const results = [result("Off", 1, 0, 0), result("Gentle", 0.995, 0.01, 0.2), result("Balanced", 0.992, 0.03, 0.3), result("Budget", 0.98, 0.01, 0.5)];
    expect(pickAuto(results)?.name).toBe("Gentle");
    expect(pickAuto(results, { agreement: 0.97, klMean: 0.05 })?.name).toBe("Budget");
    expect(pickAuto(results, { agreement: 1, klMean: 0 })?.name).toBe("Off");
  });

  it("menu: presets and slider points, budgets as shares of the union at least top-k, duplicates dropped", () => {
    const fixed = fixedMenu();
    expect(fixed.map((e) => e.name).slice(0, 4)).toEqual(["Off", "Gentle", "Balanced", "Aggressive"]);
    const budgets = budgetMenu(8.2, model);
    expect(budgets.map((e) => e.setting)).toEqual([
      { mode: "budget", experts: 4 },
      { mode: "budget", experts: 2 },
      { mode: "budget", experts: 2 },
    ]);
    // the 12.5% budget clamps to top-k = 2, the same policy as 25%: measured once
    expect(distinctEntries(budgets, model).length).toBe(2);
  });
});

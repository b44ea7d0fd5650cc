// The pruning check on every MoE fixture (random weights: invariants only, no argmaxes), the dense fixture, and the
// exclusive run's contract: a chat sent meanwhile queues and then runs under the user's own setting.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PruneProfile } from "../../electron/api/contract.js";
import { LynxEngine } from "../../electron/engine/engine.js";
import { RoutingRecorder } from "../../electron/engine/routing-recorder.js";
import { runPruneCheck, type PruneCheckRunOptions } from "../../electron/prune-check/index.js";
import { greedy } from "../helpers/engine.js";
import { denseFixture, fixture, moeFixtures } from "../helpers/fixtures.js";

const lanes = 4;
// --quick-like and smaller: a few short answers, two pruned settings (a preset and the hardest budget)
const small: PruneCheckRunOptions = { prompts: 4, maxTokens: 8, longPrompt: false, only: ["Balanced", "Budget 25%"] };

function checkProfile(profile: PruneProfile, experts: number) {
  expect(profile.chats).toBe(lanes);
  expect(profile.positions).toBeGreaterThan(10);
  expect(profile.distinctOff).toBeGreaterThan(0);
  expect(profile.distinctOff).toBeLessThanOrEqual(experts);
  const off = profile.settings[0]!;
  // off against off: the same lockstep batches, so the same distributions
  expect(off.name).toBe("Off");
  expect(off.agreement).toBe(1);
  expect(off.klMean).toBeLessThan(1e-6);
  expect(off.bytesSaved).toBeCloseTo(0, 6);
  expect(Object.values(off.agreementByKind ?? {}).every((a) => a === 1)).toBe(true);
  for (const s of profile.settings) {
    expect(s.agreement).toBeGreaterThanOrEqual(0);
    expect(s.agreement).toBeLessThanOrEqual(1);
    expect(s.klMean).toBeGreaterThanOrEqual(0);
    expect(s.klP95).toBeGreaterThanOrEqual(0);
    expect(s.speedup).toBeGreaterThan(0);
    // selection only removes experts from the union of the same steps
    expect(s.distinctAfter).toBeLessThanOrEqual(profile.distinctOff * 1.05 + 0.05);
    expect(s.distinctReduction).toBeGreaterThanOrEqual(-1e-9);
  }
  const budget = profile.settings.find((s) => s.name.startsWith("Budget 25%"));
  if (budget && budget.setting.mode === "budget") {
    // the cap holds in every step, so on average too; and it saves more than the gentler preset
    expect(budget.distinctAfter).toBeLessThanOrEqual(budget.setting.experts + 1e-9);
    const balanced = profile.settings.find((s) => s.name === "Balanced");
    if (balanced && budget.setting.experts < profile.distinctOff / 2) expect(budget.bytesSaved).toBeGreaterThanOrEqual(balanced.bytesSaved - 0.05);
  }
  // Auto exists (off always qualifies) and meets the thresholds
  expect(profile.auto).not.toBeNull();
  expect(profile.auto!.agreement).toBeGreaterThanOrEqual(profile.thresholds.agreement);
  expect(profile.auto!.klMean).toBeLessThanOrEqual(profile.thresholds.klMean);
}

describe.each(moeFixtures)("%s: pruning check", (name) => {
  let engine: LynxEngine;
  beforeAll(async () => {
    engine = await LynxEngine.load({ modelPath: fixture(name), maxChats: lanes, threads: 1 });
  });
  afterAll(() => engine?.dispose());

  it("produces a profile; decode steps hold every lane; the user's policy is back afterwards", async () => {
    engine.setAggressiveness({ mode: "preset", preset: "gentle" });
    const before = engine.native.getPolicy();
    const layers = engine.info.layers;
    const recorder = new RoutingRecorder(engine.native, layers, engine.info.experts, () => engine.native.shape(layers)?.moeLayers ?? null, true).start(1);
    const outcome = await runPruneCheck(engine, small);
    recorder.stop();
    expect(outcome.applicable).toBe(true);
    if (!outcome.applicable) return;
    checkProfile(outcome.profile, engine.info.experts);
    // the batched decode ubatches of the check are mostly full (the tail of a round holds fewer lanes)
    const sizes = recorder.perBatch.map((b) => b.size);
    expect(sizes.filter((s) => s === lanes).length / sizes.length).toBeGreaterThan(0.6);
    expect(engine.native.getPolicy()).toEqual(before);
    expect(engine.exclusive).toBe(false);
  }, 60_000);
});

describe("exclusive run: chats queue and keep their own setting", () => {
  let engine: LynxEngine;
  beforeAll(async () => {
    engine = await LynxEngine.load({ modelPath: fixture("qwen3moe-tiny.gguf"), maxChats: lanes, threads: 1 });
  });
  afterAll(() => engine?.dispose());

  it("waits for a running answer, queues one sent meanwhile, then serves it under the user's policy", async () => {
    engine.setAggressiveness({ mode: "preset", preset: "balanced" });
    const running = engine.openChat({ sampling: greedy(24) });
    const queued = engine.openChat({ sampling: greedy(6) });
    const statuses: string[] = [];
    engine.subscribe((e) => {
      if (e.type === "chat.status" && e.chatId === queued.id) statuses.push(e.status);
    });
    const first = running.send("Tell me about the sea.", { ignoreEos: true });
    let started = false;
    const check = runPruneCheck(engine, { ...small, only: ["Budget 25%"], onProgress: (p) => void (started ||= p.phase !== "waiting") });
    await new Promise((r) => setTimeout(r, 20));
    expect(engine.exclusive).toBe(true);
    const second = queued.send("What is 2 + 2?");
    const firstAnswer = await first;
    // the answer that was running finished under the user's setting, before the check took the context
    expect(firstAnswer.stats?.pruning.setting).toEqual({ mode: "preset", preset: "balanced" });
    expect(statuses).toContain("queued");
    const outcome = await check;
    expect(started).toBe(true);
    expect(outcome.applicable).toBe(true);
    const answer = await second;
    expect(answer.stats?.pruning.setting).toEqual({ mode: "preset", preset: "balanced" });
    expect(answer.stats?.pruning.effective.kind).toBe("affinity");
    expect(statuses.at(-1)).toBe("idle");
  }, 60_000);

  it("a cancelled check hands the context back", async () => {
    const abort = new AbortController();
    const check = runPruneCheck(engine, { ...small, signal: abort.signal, onProgress: (p) => p.phase === "setting" && abort.abort(new Error("cancelled")) });
    await expect(check).rejects.toThrow(/cancelled/);
    expect(engine.exclusive).toBe(false);
    const chat = engine.openChat({ sampling: greedy(4) });
    const answer = await chat.send("Hello");
    expect(answer.stopReason).not.toBe("error");
  }, 60_000);

  it("auto resolves through the profile, and says so when there is none", () => {
    engine.setAutoChoice(null);
    const none = engine.setAggressiveness({ mode: "auto" });
    expect(none.effective).toEqual({ kind: "off" });
    expect(none.description).toMatch(/not been checked/);
    const some = engine.setAutoChoice({ setting: { mode: "budget", experts: 4 }, label: "Budget 25% (4): keeps ..." });
    expect(some.setting).toEqual({ mode: "auto" });
    expect(some.effective).toEqual({ kind: "budget", experts: 4 });
    expect(some.description).toMatch(/^auto: Budget 25%/);
  });
});

describe("dense model", () => {
  it("says there is nothing to prune", async () => {
    const engine = await LynxEngine.load({ modelPath: fixture(denseFixture), maxChats: 2, threads: 1 });
    try {
      const outcome = await runPruneCheck(engine, small);
      expect(outcome.applicable).toBe(false);
      if (!outcome.applicable) expect(outcome.reason).toMatch(/dense.*nothing to prune/);
    } finally {
      await engine.dispose();
    }
  });
});

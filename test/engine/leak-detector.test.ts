// Batched decoding never hands one chat another chat's distribution: for every token a batched chat generates, the
// batched step's next-token distribution is compared with the same chat evaluated alone on the same history
// (total-variation distance, tools/soak/leak-detector.ts). The negative control (the same batched distribution
// against another chat's solo distribution) shows the distance a leak would have. Policy off, 4, 8 and 16 chats,
// unified and split KV, on the trained model (peaked distributions) and on a random-weight fixture (flat ones).
import fs from "node:fs";
import path from "node:path";
import type { Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LynxEngine } from "../../electron/engine/engine.js";
import { SoloChecker, detectLeaks, mergeReports, type LeakReport } from "../../tools/soak/leak-detector.js";
import { fixture, prompts, root } from "../helpers/fixtures.js";

const trainedModel = path.join(root, "resources", "models", "default.gguf");

/** Varied tasks of the trained model's own kinds (tools/train-moe/data.py), several with long answers. */
const trainedPrompts = [
  "Continue the verse: In the beginning God created",
  "Continue the verse: And the earth was without form",
  "Continue the verse: The LORD is my shepherd; I",
  "Continue the verse: For God so loved the",
  "Tell me a fortune.",
  "What is 37 + 48?",
  "What is 91 - 26?",
  "Spell backwards: g a r d e n",
  "Continue the verse: Blessed are the meek: for",
  "Repeat the word: wilderness",
  "What comes after 299?",
  "Continue the verse: And God said, Let there be",
  "Continue the verse: Honour thy father and thy",
  "What comes before 610?",
  "Continue the verse: Ask, and it shall be given",
  "Continue the verse: Vanity of vanities, saith the",
];

const steps = 12;
const sizes = [4, 8, 16];
const all: Array<LeakReport & { label: string }> = [];

const chatml = (prompt: string) => `<|im_start|>user\n${prompt}<|im_end|>\n<|im_start|>assistant\n`;

describe.each([
  { model: "trained default.gguf", path: trainedModel, texts: trainedPrompts.map(chatml), unifiedKv: true },
  { model: "trained default.gguf", path: trainedModel, texts: trainedPrompts.map(chatml), unifiedKv: false },
  { model: "qwen3moe-tiny (random weights)", path: fixture("qwen3moe-tiny.gguf"), texts: prompts.map(chatml), unifiedKv: true },
  { model: "qwen3moe-tiny (random weights)", path: fixture("qwen3moe-tiny.gguf"), texts: prompts.map(chatml), unifiedKv: false },
])("$model, unified KV: $unifiedKv, policy off", ({ model, path: modelPath, texts, unifiedKv }) => {
  let engine: LynxEngine;
  let checker: SoloChecker;
  let tokens: Token[][];

  beforeAll(async () => {
    expect(fs.existsSync(modelPath)).toBe(true);
    // a generous batch wait: the probe's per-step JavaScript (reading distributions) must not decide batch fullness
    engine = await LynxEngine.load({ modelPath, maxChats: 16, unifiedKv, contextPerChat: 256, batchWaitMs: 50 });
    engine.setPolicy({ kind: "off" });
    checker = await SoloChecker.create(engine, 256);
    tokens = texts.map((text) => engine.model.tokenize(text, true));
  });
  afterAll(async () => {
    await checker?.dispose();
    await engine?.dispose();
  });

  for (const n of sizes) {
    it(`${n} concurrent chats: every batched step is the chat's own distribution`, async () => {
      // rotate prompts so that sequences serve different chats from one size to the next
      const batch = Array.from({ length: n }, (_, i) => tokens[(i + n) % tokens.length]!);
      engine.scheduler.resetStats();
      const report = await detectLeaks(engine, checker, batch, steps);
      const { decodeSteps, fullSteps } = engine.scheduler.stats;
      all.push({ ...report, label: `${model} unified=${unifiedKv} n=${n}` });

      expect(report.comparisons).toBe(n * steps);
      expect(report.leaks, `worst: ${JSON.stringify(report.worst)}`).toBe(0);
      // the negative control: most handed-over distributions would be caught (the rest are steps where both chats agree)
      expect(report.controlsFired / report.controls).toBeGreaterThanOrEqual(0.8);
      // the steps really were batched: decodes that held every chat's token
      expect(decodeSteps).toBeGreaterThanOrEqual(steps - 1);
      expect(fullSteps / decodeSteps).toBeGreaterThanOrEqual(0.9);
    });
  }
});

afterAll(() => {
  const total = mergeReports(all);
  for (const r of all) {
    console.log(`${r.label}: ${r.comparisons} comparisons, own TV max ${r.maxOwn.toExponential(2)}, other min ${r.minOther.toFixed(3)}, control fired ${r.controlsFired}/${r.controls}`);
  }
  console.log(JSON.stringify({ comparisons: total.comparisons, leaks: total.leaks, threshold: total.threshold, maxOwn: total.maxOwn, meanOwn: total.meanOwn, minOther: total.minOther, controls: total.controls, controlsFired: total.controlsFired }));
});

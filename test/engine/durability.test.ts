// The kill test, short form (npm run test:durability runs 230 kills): a writer child is SIGKILLed at random
// moments, 44 times while it writes through the store (streaming checkpoints, compactions, torn records) and
// 6 times while the real engine streams answers on the trained model; after each kill the store must open
// without an error and hold every acknowledged message byte for byte.
import path from "node:path";
import { expect, it } from "vitest";
import { runKillTest } from "../../tools/durability/kill-test.js";
import { root } from "../helpers/fixtures.js";

it("keeps every acknowledged message through 50 kills", async () => {
  const result = await runKillTest({ kills: 44, engineKills: 6, seed: 7, modelPath: path.join(root, "resources", "models", "default.gguf") });
  console.log(JSON.stringify(result));
  expect(result.failures).toEqual([]);
  expect(result.kills).toBe(50);
  expect(result.engineKills).toBe(6);
  expect(result.lost).toBe(0);
  expect(result.openErrors).toBe(0);
  // the kills did land mid-write: acknowledged writes to check, and answers cut off mid-stream
  expect(result.acknowledged).toBeGreaterThan(50);
  expect(result.interruptedAnswers).toBeGreaterThan(0);
}, 600_000);

import type { BatchItem } from "node-llama-cpp";
import { describe, expect, it, vi } from "vitest";
import { BatchScheduler, maximumParallelism } from "../../electron/engine/batch-scheduler.js";

const item = (tokens: number, evaluationPriority: 1 | 2 | 3 | 4 | 5 = 3): BatchItem => ({
  tokens: Array.from({ length: tokens }, (_, i) => i) as never,
  logits: [],
  evaluationPriority,
});

describe("maximumParallelism", () => {
  it("shares the batch fairly and never exceeds it", () => {
    const items = [item(1000), item(3), item(1000)];
    const result = maximumParallelism(items, 512);
    expect(result.reduce((s, r) => s + r.processAmount, 0)).toBe(512);
    expect(result.find((r) => r.item === items[1])!.processAmount).toBe(3);
    for (const r of result) expect(r.processAmount).toBeLessThanOrEqual(r.item.tokens.length);
  });

  it("gives every single-token item its token", () => {
    const items = Array.from({ length: 16 }, () => item(1));
    expect(maximumParallelism(items, 512).map((r) => r.processAmount)).toEqual(new Array(16).fill(1));
  });
});

describe("BatchScheduler", () => {
  it("holds a decode until every generating chat queued its token, bounded in time", () => {
    vi.useFakeTimers({ toFake: ["performance"] });
    const scheduler = new BatchScheduler(2);
    for (let i = 0; i < 4; i++) scheduler.generationStarted();
    const three = [item(1), item(1), item(1)];
    expect(scheduler.strategy({ items: three, size: 512 })).toEqual([]);
    const four = [...three, item(1)];
    expect(scheduler.strategy({ items: four, size: 512 })).toHaveLength(4);
    expect(scheduler.stats).toMatchObject({ decodeSteps: 1, fullSteps: 1 });

    // a chat that never comes: the wait ends after 2 ms and the partial batch goes
    expect(scheduler.strategy({ items: three, size: 512 })).toEqual([]);
    vi.advanceTimersByTime(3);
    expect(scheduler.strategy({ items: three, size: 512 })).toHaveLength(3);
    expect(scheduler.stats).toMatchObject({ decodeSteps: 2, fullSteps: 1, waitTimeouts: 1 });
    vi.useRealTimers();
  });

  it("never holds prompt tokens", () => {
    const scheduler = new BatchScheduler(2);
    for (let i = 0; i < 4; i++) scheduler.generationStarted();
    expect(scheduler.strategy({ items: [item(1), item(20)], size: 512 })).toHaveLength(2);
  });
});

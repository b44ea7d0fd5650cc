import type { LlamaContextSequence } from "node-llama-cpp";
import { describe, expect, it } from "vitest";
import { SequencePool } from "../../electron/engine/sequence-pool.js";

const fakeSequences = (n: number) => Array.from({ length: n }, (_, i) => ({ _sequenceId: i }) as unknown as LlamaContextSequence);

describe("SequencePool", () => {
  it("returns a chat to the sequence it used last (its KV cache still holds it)", async () => {
    const pool = new SequencePool(fakeSequences(2));
    const a = await pool.acquire("a");
    const b = await pool.acquire("b");
    pool.release(a);
    pool.release(b);
    expect(await pool.acquire("b")).toBe(b);
    expect(await pool.acquire("a")).toBe(a);
  });

  it("queues extra chats in order and reports positions", async () => {
    const queues: string[][] = [];
    const pool = new SequencePool(fakeSequences(1), (q) => queues.push([...q]));
    const first = await pool.acquire("a");
    const order: string[] = [];
    const b = pool.acquire("b").then((s) => (order.push("b"), s));
    const c = pool.acquire("c").then((s) => (order.push("c"), s));
    expect(pool.queue).toEqual(["b", "c"]);
    pool.release(first);
    pool.release(await b);
    await c;
    expect(order).toEqual(["b", "c"]);
    expect(queues[1]).toEqual(["b", "c"]);
  });

  it("a queued chat that is stopped leaves the queue", async () => {
    const pool = new SequencePool(fakeSequences(1));
    await pool.acquire("a");
    const abort = new AbortController();
    const waiting = pool.acquire("b", abort.signal);
    abort.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow("stop");
    expect(pool.queue).toEqual([]);
  });

  it("reserveAll: queues new requests, waits for running ones, then serves the queue in order", async () => {
    const pool = new SequencePool(fakeSequences(2));
    const running = await pool.acquire("a");
    let granted: LlamaContextSequence[] | null = null;
    const reservation = pool.reserveAll().then((all) => (granted = all));
    expect(pool.exclusive).toBe(true);
    // a free sequence is not handed out while a reservation waits
    const queued = pool.acquire("b");
    expect(pool.queue).toEqual(["b"]);
    await Promise.resolve();
    expect(granted).toBeNull();
    pool.release(running);
    await reservation;
    expect(granted!.length).toBe(2);
    expect(pool.queue).toEqual(["b"]);
    pool.releaseAll();
    expect(pool.exclusive).toBe(false);
    await queued;
    expect(pool.queue).toEqual([]);
    expect(pool.busyOwners()).toEqual([{ sequenceId: expect.any(Number), chatId: "b" }]);
  });

  it("an aborted reservation lets the queue go on", async () => {
    const pool = new SequencePool(fakeSequences(1));
    const running = await pool.acquire("a");
    const abort = new AbortController();
    const reservation = pool.reserveAll(abort.signal);
    const queued = pool.acquire("b");
    abort.abort(new Error("cancelled"));
    await expect(reservation).rejects.toThrow("cancelled");
    expect(pool.exclusive).toBe(false);
    pool.release(running);
    await queued;
    expect(pool.queue).toEqual([]);
  });
});

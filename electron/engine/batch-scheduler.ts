// Decides what each llama_decode holds. node-llama-cpp re-checks its queue in the microtask right after sampling,
// before the sequence sampled last has queued its next token, so every decode would leave one chat out. While
// every queued item is a single generated token and fewer chats than are generating have queued one, we hold the
// decode (return nothing) for a bounded time; node-llama-cpp's dispatch loop asks again on its next turn.
import type { BatchItem, CustomBatchingPrioritizationStrategy, PrioritizedBatchItem } from "node-llama-cpp";

export interface BatchSchedulerStats {
  /** Decodes of generated tokens only (no prompt tokens). */
  decodeSteps: number;
  /** Of those, the ones that held every generating chat's token. */
  fullSteps: number;
  /** Decodes held back to wait for a chat's next token that timed out. */
  waitTimeouts: number;
  lastBatchSize: number;
}

export class BatchScheduler {
  private generating = 0;
  private waitingSince: number | null = null;
  readonly stats: BatchSchedulerStats = { decodeSteps: 0, fullSteps: 0, waitTimeouts: 0, lastBatchSize: 0 };

  /** @param maxWaitMs how long a decode may wait for a slow chat's next token */
  constructor(private readonly maxWaitMs = 2) {}

  generationStarted() {
    this.generating++;
  }

  generationEnded() {
    this.generating = Math.max(0, this.generating - 1);
  }

  get generatingChats() {
    return this.generating;
  }

  resetStats() {
    Object.assign(this.stats, { decodeSteps: 0, fullSteps: 0, waitTimeouts: 0, lastBatchSize: 0 });
  }

  readonly strategy: CustomBatchingPrioritizationStrategy = ({ items, size }) => {
    const decodeOnly = items.every((item) => item.tokens.length === 1);
    if (decodeOnly && items.length < this.generating) {
      const now = performance.now();
      this.waitingSince ??= now;
      if (now - this.waitingSince < this.maxWaitMs) return [];
      this.stats.waitTimeouts++;
    }
    this.waitingSince = null;
    if (decodeOnly && items.length > 0) {
      this.stats.decodeSteps++;
      if (items.length >= this.generating) this.stats.fullSteps++;
    }
    this.stats.lastBatchSize = items.length;
    return maximumParallelism(items, size);
  };
}

/** Every item gets an equal share of the batch, higher evaluation priority first; leftovers go round-robin. */
export function maximumParallelism(items: readonly BatchItem[], size: number): PrioritizedBatchItem[] {
  const ordered = [...items].sort((a, b) => b.evaluationPriority - a.evaluationPriority);
  const result = ordered.map((item) => ({ item, processAmount: 0 }));
  let left = size;
  let open = result.filter((entry) => entry.item.tokens.length > 0);
  while (left > 0 && open.length > 0) {
    const share = Math.max(1, Math.floor(left / open.length));
    for (const entry of open) {
      if (left === 0) break;
      const take = Math.min(share, entry.item.tokens.length - entry.processAmount, left);
      entry.processAmount += take;
      left -= take;
    }
    open = open.filter((entry) => entry.processAmount < entry.item.tokens.length);
  }
  return result.filter((entry) => entry.processAmount > 0);
}

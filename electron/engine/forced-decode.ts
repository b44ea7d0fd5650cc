// Batched greedy generation and teacher-forced evaluation on sequences the engine lent for an exclusive task (the
// pruning check). Teacher forcing runs in lockstep: all prompts of a round are evaluated first (prefill ubatches,
// which the patch never prunes), then every decode step holds exactly one token of every active lane, so it is one
// decode ubatch of B = active lanes (every token from a different sequence, every token an output): the shape the
// patch prunes when B >= 2. A lane whose item ended takes the next item in a prefill step of its own, never mixed
// into a decode step.
import type { LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import type { BatchScheduler } from "./batch-scheduler.js";
import { EngineError } from "./errors.js";

/** Next-token probabilities, highest first (node-llama-cpp's order). */
export type Distribution = ReadonlyMap<Token, number>;

export interface ForcedItem {
  prompt: readonly Token[];
  /** Fed one token per decode step after the prompt. */
  continuation: readonly Token[];
}

export interface ForcedOptions {
  /** Tokens per distribution, renormalised over them (0 = the whole vocabulary). */
  topK: number;
  signal?: AbortSignal;
  /** After every decode step, with the number of lanes it held. */
  onStep?: (batchSize: number) => void;
}

export interface ForcedResult {
  /**
   * distributions[i][t]: the distribution after continuation[t] of item i was fed, i.e. the prediction of
   * continuation[t + 1] (t < continuation.length - 1). The prediction of continuation[0] comes from the prompt's
   * prefill, which is never pruned, and is not returned.
   */
  distributions: Distribution[][];
  /** batchSizes[i][t]: lanes in the decode step that produced distributions[i][t]. */
  batchSizes: number[][];
  decodeSteps: number;
  /** Wall time of the decode steps only (sampling the distributions included, prefills excluded). */
  decodeMs: number;
}

interface Lane {
  sequence: LlamaContextSequence;
  item: number;
  /** Next continuation index to feed. */
  t: number;
}

/** Holds each decode until every active lane queued its token (the scheduler counts them as generating chats). */
async function holdingLanes<T>(scheduler: BatchScheduler, lanes: number, run: () => Promise<T>): Promise<T> {
  for (let i = 0; i < lanes; i++) scheduler.generationStarted();
  try {
    return await run();
  } finally {
    for (let i = 0; i < lanes; i++) scheduler.generationEnded();
  }
}

function checkAborted(signal: AbortSignal | undefined) {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new EngineError("INTERNAL", "cancelled");
}

export async function teacherForce(
  sequences: readonly LlamaContextSequence[],
  scheduler: BatchScheduler,
  items: readonly ForcedItem[],
  options: ForcedOptions,
): Promise<ForcedResult> {
  const result: ForcedResult = {
    distributions: items.map(() => []),
    batchSizes: items.map(() => []),
    decodeSteps: 0,
    decodeMs: 0,
  };
  const sampling = { temperature: 1, topK: options.topK, topP: 1, minP: 0 };
  // longest first: the lanes run out of work together, so few steps at the end hold fewer lanes
  const order = items.map((_, i) => i).filter((i) => items[i]!.continuation.length >= 2);
  order.sort((a, b) => items[b]!.continuation.length - items[a]!.continuation.length);
  let next = 0;
  const lanes: Lane[] = sequences.map((sequence) => ({ sequence, item: -1, t: 0 }));
  const finished = (lane: Lane) => lane.item < 0 || lane.t >= items[lane.item]!.continuation.length - 1;

  for (;;) {
    checkAborted(options.signal);
    const refill: Lane[] = [];
    for (const lane of lanes) {
      if (!finished(lane) || next >= order.length) continue;
      lane.item = order[next++]!;
      lane.t = 0;
      refill.push(lane);
    }
    if (refill.length > 0) {
      await Promise.all(
        refill.map(async (lane) => {
          await lane.sequence.clearHistory();
          await lane.sequence.controlledEvaluate([...items[lane.item]!.prompt]);
        }),
      );
    }
    const active = lanes.filter((lane) => !finished(lane));
    if (active.length === 0) break;
    const started = performance.now();
    const outputs = await holdingLanes(scheduler, active.length, () =>
      Promise.all(
        active.map((lane) =>
          lane.sequence.controlledEvaluate([[items[lane.item]!.continuation[lane.t]!, { generateNext: { probabilities: true, options: sampling } }]]),
        ),
      ),
    );
    result.decodeMs += performance.now() - started;
    result.decodeSteps++;
    active.forEach((lane, i) => {
      const probabilities = outputs[i]?.at(-1)?.next.probabilities;
      if (!probabilities) throw new EngineError("INTERNAL", "the engine returned no next-token distribution");
      result.distributions[lane.item]!.push(probabilities);
      result.batchSizes[lane.item]!.push(active.length);
      lane.t++;
    });
    options.onStep?.(active.length);
  }
  await Promise.all(lanes.map((lane) => lane.sequence.clearHistory()));
  return result;
}

/**
 * Greedy answers (temperature 0) to the prompts, up to `maxTokens` each, with every lane busy while prompts are left.
 * The end-of-generation token that stopped an answer is kept as its last token.
 */
export async function generateGreedy(
  model: LlamaModel,
  sequences: readonly LlamaContextSequence[],
  scheduler: BatchScheduler,
  prompts: readonly (readonly Token[])[],
  maxTokens: number,
  options: { signal?: AbortSignal; onAnswer?: () => void } = {},
): Promise<Token[][]> {
  const answers: Token[][] = prompts.map(() => []);
  let next = 0;
  const lane = async (sequence: LlamaContextSequence) => {
    while (next < prompts.length) {
      checkAborted(options.signal);
      const index = next++;
      await sequence.clearHistory();
      const answer = answers[index]!;
      scheduler.generationStarted();
      try {
        for await (const token of sequence.evaluate([...prompts[index]!], { temperature: 0, yieldEogToken: true })) {
          answer.push(token);
          if (model.isEogToken(token) || answer.length >= maxTokens || options.signal?.aborted) break;
        }
      } finally {
        scheduler.generationEnded();
      }
      options.onAnswer?.();
    }
  };
  await Promise.all(sequences.map((sequence) => lane(sequence)));
  checkAborted(options.signal);
  await Promise.all(sequences.map((sequence) => sequence.clearHistory()));
  return answers;
}

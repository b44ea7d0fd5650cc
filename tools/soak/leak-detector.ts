// Cross-chat leak detector: does a batched decode hand each sequence the next-token distribution of its own history?
//
// A leak (a logits row of one sequence read by another, as llama.cpp's lazy output reordering did under
// node-llama-cpp's parallel sampling) gives a chat the distribution of another chat's history. Numeric noise (a
// different batch, KV layout or F16 rounding) moves a distribution by a tiny amount, except where it flips a
// near-tie in a router: then one step differs a lot but stays nearest its own history. So we compare whole
// distributions, not argmaxes: for every token a batched chat generates, the total-variation distance between the
// batched step's distribution and the same chat evaluated alone on the same history (teacher forcing), and the
// distance to every other chat's solo distribution at that step. The negative control hands each chat another
// chat's batched distribution and checks that the same rule flags it.
import type { LlamaContext, LlamaContextSequence, Token } from "node-llama-cpp";
import type { LynxEngine } from "../../electron/engine/engine.js";

/**
 * The distribution compared: the model's top 64 tokens, renormalised (node-llama-cpp's top-k then temperature 1).
 * Both sides use the same rule; the full 152k-token distributions of the random-weight fixtures would cost seconds of
 * JavaScript per step and make the batched steps' timing, not the model, decide how full the batches are.
 */
export const DISTRIBUTION_OPTIONS = { temperature: 1, topK: 64, topP: 1, minP: 0 } as const;

/**
 * Total-variation distance from a chat's own solo distribution at which a step is examined as a possible leak
 * (docs/reliability.md has the measured noise and the distances to other chats).
 */
export const LEAK_TV_THRESHOLD = 0.05;

/** Next-token probabilities of the top tokens (they sum to 1). */
export type Distribution = ReadonlyMap<Token, number>;

/** 1/2 * sum |p - q| over the tokens of either distribution. */
export function totalVariation(p: Distribution, q: Distribution): number {
  let sum = 0;
  for (const [token, pt] of p) sum += Math.abs(pt - (q.get(token) ?? 0));
  for (const [token, qt] of q) if (!p.has(token)) sum += qt;
  return sum / 2;
}

export interface BatchedRun {
  prompt: Token[];
  generated: Token[];
  /** distributions[t]: the batched step's distribution that generated[t] was chosen from. */
  distributions: Distribution[];
}

/**
 * Sampled generation (seeded per chat) of `steps` tokens for every prompt at once on the engine's own context and
 * sequences, so every step is one batched decode through the same scheduler and patch as the app's chats. EOS does
 * not stop a run.
 */
export async function generateBatched(engine: LynxEngine, prompts: readonly Token[][], steps: number): Promise<BatchedRun[]> {
  const ids = prompts.map((_, i) => `leak-probe-${i}`);
  const sequences = await Promise.all(ids.map((id) => engine.pool.acquire(id)));
  // the scheduler waits for every generating sequence's token before a decode: these count as generating chats
  for (const _ of sequences) engine.scheduler.generationStarted();
  try {
    return await Promise.all(sequences.map((sequence, i) => generateOne(sequence, prompts[i]!, steps, 1000 + i)));
  } finally {
    for (const _ of sequences) engine.scheduler.generationEnded();
    for (const sequence of sequences) {
      await sequence.clearHistory();
      engine.pool.release(sequence);
    }
    for (const id of ids) engine.pool.forget(id);
  }
}

async function generateOne(sequence: LlamaContextSequence, prompt: Token[], steps: number, seed: number): Promise<BatchedRun> {
  await sequence.clearHistory();
  const run: BatchedRun = { prompt, generated: [], distributions: [] };
  const iterator = sequence.evaluateWithMetadata(prompt, { probabilities: true }, { ...DISTRIBUTION_OPTIONS, seed, yieldEogToken: true });
  for await (const { token, probabilities } of iterator) {
    run.generated.push(token);
    run.distributions.push(probabilities);
    if (run.generated.length >= steps) break;
  }
  return run;
}

/** A one-sequence context on the engine's model that evaluates chats alone. */
export class SoloChecker {
  private constructor(
    private readonly context: LlamaContext,
    private readonly sequence: LlamaContextSequence,
  ) {}

  static async create(engine: LynxEngine, contextSize = 1024): Promise<SoloChecker> {
    const context = await engine.model.createContext({ sequences: 1, contextSize, threads: engine.info.threads, flashAttention: false });
    return new SoloChecker(context, context.getSequence());
  }

  /**
   * The chat alone, teacher-forced: its prompt and generated tokens in one evaluation, with the next-token
   * distribution read at every position that generated a token.
   */
  async distributions(prompt: readonly Token[], generated: readonly Token[]): Promise<Distribution[]> {
    await this.sequence.clearHistory();
    const history = [...prompt, ...generated.slice(0, -1)];
    const first = prompt.length - 1;
    const out = await this.sequence.controlledEvaluate(
      history.map((token, i) => (i >= first ? [token, { generateNext: { probabilities: true, options: DISTRIBUTION_OPTIONS } }] : token)),
    );
    return out.slice(first).map((item) => item!.next!.probabilities!);
  }

  async dispose() {
    await this.context.dispose();
  }
}

export interface LeakReport {
  /** Token comparisons with the chat's own solo distribution. */
  comparisons: number;
  /** Steps whose distribution is at least `threshold` from the chat's own solo one AND nearer another chat's. */
  leaks: number;
  threshold: number;
  /** Largest and mean distance to the chat's own solo distribution (noise). */
  maxOwn: number;
  meanOwn: number;
  /** Smallest distance to the nearest other chat's solo distribution at the same step. */
  minOther: number;
  /**
   * Negative control: another chat's batched distribution handed to this chat (what a leak delivers), judged by the
   * same rule. `controlsFired` of `controls` were flagged; the rest are steps where both chats' distributions are
   * alike (a leak there changes nothing a distribution can show).
   */
  controls: number;
  controlsFired: number;
  /** The largest distances to the chat's own solo distribution, for a failure message. */
  worst: Array<{ chat: number; step: number; own: number; nearestOther: number }>;
}

/**
 * A step leaks when its distribution is at least `threshold` (total variation) from the chat's own solo distribution
 * and another chat's solo distribution at the same step is nearer. The second condition tells a leak from numeric
 * noise that flips a near-tie in the router (a different expert: a large but one-off change, still nearest its own).
 */
export function compareRuns(runs: readonly BatchedRun[], solo: readonly Distribution[][], threshold = LEAK_TV_THRESHOLD): LeakReport {
  const report: LeakReport = { comparisons: 0, leaks: 0, threshold, maxOwn: 0, meanOwn: 0, minOther: Infinity, controls: 0, controlsFired: 0, worst: [] };
  const judged: LeakReport["worst"] = [];
  const flags = (chat: number, step: number, distribution: Distribution) => {
    const own = totalVariation(distribution, solo[chat]![step]!);
    let nearestOther = Infinity;
    for (let j = 0; j < runs.length; j++) {
      const other = solo[j]![step];
      if (j !== chat && other) nearestOther = Math.min(nearestOther, totalVariation(distribution, other));
    }
    return { own, nearestOther, leak: own >= threshold && nearestOther < own };
  };
  for (const [i, run] of runs.entries()) {
    for (let t = 0; t < run.distributions.length; t++) {
      const verdict = flags(i, t, run.distributions[t]!);
      judged.push({ chat: i, step: t, own: verdict.own, nearestOther: verdict.nearestOther });
      report.comparisons++;
      if (verdict.leak) report.leaks++;
      report.minOther = Math.min(report.minOther, verdict.nearestOther);
      const donor = runs[(i + 1) % runs.length]!;
      if (runs.length > 1 && donor.distributions[t]) {
        report.controls++;
        if (flags(i, t, donor.distributions[t]!).leak) report.controlsFired++;
      }
    }
  }
  report.maxOwn = judged.reduce((a, c) => Math.max(a, c.own), 0);
  report.meanOwn = judged.length ? judged.reduce((a, c) => a + c.own, 0) / judged.length : 0;
  report.worst = judged.sort((a, b) => b.own - a.own).slice(0, 3);
  return report;
}

/** Sums reports of several runs (the threshold of the first). */
export function mergeReports(reports: readonly LeakReport[]): LeakReport {
  const comparisons = reports.reduce((a, r) => a + r.comparisons, 0);
  return {
    comparisons,
    leaks: reports.reduce((a, r) => a + r.leaks, 0),
    threshold: reports[0]?.threshold ?? LEAK_TV_THRESHOLD,
    maxOwn: reports.reduce((a, r) => Math.max(a, r.maxOwn), 0),
    meanOwn: comparisons ? reports.reduce((a, r) => a + r.meanOwn * r.comparisons, 0) / comparisons : 0,
    minOther: reports.reduce((a, r) => Math.min(a, r.minOther), Infinity),
    controls: reports.reduce((a, r) => a + r.controls, 0),
    controlsFired: reports.reduce((a, r) => a + r.controlsFired, 0),
    worst: reports.flatMap((r) => r.worst).sort((a, b) => b.own - a.own).slice(0, 3),
  };
}

/** Runs prompts batched on the engine, then each alone on the checker, and compares. */
export async function detectLeaks(engine: LynxEngine, checker: SoloChecker, prompts: readonly Token[][], steps: number, threshold = LEAK_TV_THRESHOLD): Promise<LeakReport> {
  const runs = await generateBatched(engine, prompts, steps);
  const solo: Distribution[][] = [];
  for (const run of runs) solo.push(await checker.distributions(run.prompt, run.generated));
  return compareRuns(runs, solo, threshold);
}

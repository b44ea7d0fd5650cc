// Child process: one benchmark configuration, B chats decoding concurrently on one build of llama.cpp.
//   build "engine": the app's engine (patched llama.cpp, unified KV, our batching, telemetry as configured)
//   build "stock":  node-llama-cpp's unpatched prebuilt binaries, the same chat and batching code, split KV
// Prints one JSON line.
import { getLlama, LlamaChatSession, LlamaLogLevel, TokenBias, type LlamaModel } from "node-llama-cpp";
import type { PolicySpec } from "../../electron/api/contract.js";
import { BatchScheduler } from "../../electron/engine/batch-scheduler.js";
import { LynxEngine } from "../../electron/engine/engine.js";
import { Counter } from "../../electron/engine/native/moe-select-api.js";
import { RoutingRecorder } from "../../electron/engine/routing-recorder.js";

export interface ConfigInput {
  build: "engine" | "stock";
  model: string;
  batch: number;
  tokens: number;
  threads: number;
  policy: PolicySpec;
  unifiedKv?: boolean;
  stats?: boolean;
  repeats: number;
}

export interface ConfigResult {
  /** aggregate decode tokens/s of each repetition (steady state: all chats past their prompt) */
  tokensPerSecond: number[];
  /** per-chat time per output token, ms, over all chats and repetitions */
  tpotMedianMs: number;
  tpotP90Ms: number;
  stepMs: number;
  distinctBefore: number;
  distinctAfter: number;
  fullBatchShare: number | null;
  top1Kept: number | null;
  massRetained: number | null;
}

const prompts = ["Tell me a story about", "The history of the", "Once upon a time", "In a distant galaxy", "The recipe for",
  "A poem about the sea", "Explain how a", "The best way to", "My favourite book is", "The weather today",
  "Scientists have found", "The city of", "A letter to", "The rules of chess", "How to build a", "The meaning of"];

function percentile(sorted: number[], p: number) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : 0;
}

function banEndOfGeneration(model: LlamaModel) {
  const bias = new TokenBias(model.tokenizer);
  for (const token of [model.tokens.eos, model.tokens.eot]) if (token != null) bias.set(token, "never");
  return bias;
}

/** Runs B generations; returns per-chat token timestamps. */
async function generate(run: (i: number, onToken: () => void) => Promise<unknown>, batch: number) {
  const times: number[][] = Array.from({ length: batch }, () => []);
  await Promise.all(Array.from({ length: batch }, (_, i) => run(i, () => times[i]!.push(performance.now()))));
  return times;
}

/** Steady state: from the moment every chat produced its first token to the moment the first chat finished. */
function measure(times: number[][]) {
  const start = Math.max(...times.map((t) => t[0]!));
  const end = Math.min(...times.map((t) => t.at(-1)!));
  let tokens = 0;
  const gaps: number[] = [];
  for (const t of times) {
    for (let i = 1; i < t.length; i++) {
      if (t[i]! > start && t[i]! <= end) tokens++;
      gaps.push(t[i]! - t[i - 1]!);
    }
  }
  return { tokensPerSecond: tokens / ((end - start) / 1000), gaps };
}

async function main() {
  const input = JSON.parse(process.argv[2]!) as ConfigInput;
  const rates: number[] = [];
  const gaps: number[] = [];
  let routing = { before: 0, after: 0 };
  let fullBatchShare: number | null = null;
  let top1Kept: number | null = null;
  let massRetained: number | null = null;

  if (input.build === "engine") {
    const engine = await LynxEngine.load({
      modelPath: input.model,
      maxChats: input.batch,
      threads: input.threads,
      unifiedKv: input.unifiedKv ?? true,
      stats: input.stats ?? true,
      contextPerChat: 512,
    });
    engine.setPolicy(input.policy);
    const sampling = { temperature: 0, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1, maxTokens: input.tokens };
    // warm-up: page the weights in, build the graphs
    await Promise.all(Array.from({ length: input.batch }, (_, i) => engine.openChat({ sampling: { ...sampling, maxTokens: 4 } }).send(prompts[i % prompts.length]!, { ignoreEos: true })));
    const counters0 = engine.native.counters();
    const recorder = new RoutingRecorder(engine.native, engine.info.layers, engine.info.experts, () => engine.native.shape(engine.info.layers)?.moeLayers ?? null).start(2);
    engine.scheduler.resetStats();
    for (let r = 0; r < input.repeats; r++) {
      const chats = Array.from({ length: input.batch }, () => engine.openChat({ sampling }));
      const times = await generate((i, onToken) => chats[i]!.send(prompts[(i + r) % prompts.length]!, { ignoreEos: true, onToken }), input.batch);
      const m = measure(times);
      rates.push(m.tokensPerSecond);
      gaps.push(...m.gaps);
      await Promise.all(chats.map((c) => engine.closeChat(c.id)));
    }
    recorder.stop();
    const summary = recorder.summary(input.batch);
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
    routing = { before: mean(summary.layers.map((l) => l.distinctBefore)), after: mean(summary.layers.map((l) => l.distinctAfter)) };
    const counters = engine.native.counters().map((v, i) => v - counters0[i]!);
    const routed = counters[Counter.routed]!;
    top1Kept = routed ? counters[Counter.top1Kept]! / routed : null;
    massRetained = routed ? counters[Counter.massRetained]! / routed : null;
    fullBatchShare = engine.scheduler.stats.decodeSteps ? engine.scheduler.stats.fullSteps / engine.scheduler.stats.decodeSteps : null;
    await engine.dispose();
  } else {
    const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
    const model = await llama.loadModel({ modelPath: input.model });
    const scheduler = new BatchScheduler(2);
    const context = await model.createContext({ sequences: input.batch, contextSize: 512, threads: input.threads, flashAttention: false, batching: { itemPrioritizationStrategy: scheduler.strategy } });
    const sequences = Array.from({ length: input.batch }, () => context.getSequence());
    const tokenBias = banEndOfGeneration(model);
    const runOnce = async (r: number, maxTokens: number, record: boolean) => {
      const sessions = sequences.map((contextSequence) => new LlamaChatSession({ contextSequence, autoDisposeSequence: false }));
      const times = await generate(async (i, onToken) => {
        scheduler.generationStarted();
        try {
          await sessions[i]!.prompt(prompts[(i + r) % prompts.length]!, { maxTokens, temperature: 0, tokenBias, onToken: () => onToken() });
        } finally {
          scheduler.generationEnded();
        }
      }, input.batch);
      sessions.forEach((s) => s.dispose({ disposeSequence: false }));
      for (const s of sequences) await s.clearHistory();
      if (record) {
        const m = measure(times);
        rates.push(m.tokensPerSecond);
        gaps.push(...m.gaps);
      }
    };
    await runOnce(0, 4, false);
    scheduler.resetStats();
    for (let r = 0; r < input.repeats; r++) await runOnce(r, input.tokens, true);
    fullBatchShare = scheduler.stats.decodeSteps ? scheduler.stats.fullSteps / scheduler.stats.decodeSteps : null;
    await context.dispose();
    await model.dispose();
  }

  gaps.sort((a, b) => a - b);
  const best = Math.max(...rates);
  const result: ConfigResult = {
    tokensPerSecond: rates,
    tpotMedianMs: percentile(gaps, 0.5),
    tpotP90Ms: percentile(gaps, 0.9),
    stepMs: (1000 * input.batch) / best,
    distinctBefore: routing.before,
    distinctAfter: routing.after,
    fullBatchShare,
    top1Kept,
    massRetained,
  };
  process.stdout.write(JSON.stringify(result) + "\n");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

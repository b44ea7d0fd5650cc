// Child process: one build of llama.cpp, B chats decoding concurrently. Prints one JSON line.
//   build "engine": the app's engine (patched llama.cpp, unified KV, our batching, telemetry as configured); its
//                   policies take turns generation by generation in this one process, so that their ratios are
//                   measured seconds apart (the machine is noisy: the same run varies by 30% minute to minute)
//   build "stock":  node-llama-cpp's unpatched prebuilt binaries, the same chat and batching code, split KV
import { getLlama, LlamaChatSession, LlamaLogLevel, TokenBias, type LlamaContext, type LlamaModel } from "node-llama-cpp";
import type { PolicySpec } from "../../electron/api/contract.js";
import { BatchScheduler } from "../../electron/engine/batch-scheduler.js";
import { LynxEngine } from "../../electron/engine/engine.js";
import { Counter } from "../../electron/engine/native/moe-select-api.js";
import { RoutingRecorder } from "../../electron/engine/routing-recorder.js";
import { mean, percentile } from "./stats.js";

export interface ConfigInput {
  build: "engine" | "stock";
  model: string;
  batch: number;
  tokens: number;
  threads: number;
  /** engine: the policies that take turns; stock: one entry, its name */
  policies: Array<{ name: string; policy: PolicySpec }>;
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
  /** wall time per decode step spent outside llama_decode (sampling, JS, scheduling), ms */
  outsideDecodeMs: number | null;
  distinctBefore: number;
  distinctAfter: number;
  fullBatchShare: number | null;
  top1Kept: number | null;
  massRetained: number | null;
}

export type ConfigResults = Record<string, ConfigResult>;

const prompts = ["Tell me a story about", "The history of the", "Once upon a time", "In a distant galaxy", "The recipe for",
  "A poem about the sea", "Explain how a", "The best way to", "My favourite book is", "The weather today",
  "Scientists have found", "The city of", "A letter to", "The rules of chess", "How to build a", "The meaning of"];

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
  return { tokensPerSecond: tokens / ((end - start) / 1000), gaps, start, end };
}

/**
 * Times llama_decode calls by wrapping node-llama-cpp's native context (a private field of the pinned version;
 * without it the column reads null). Only decodes that end inside a steady-state window are counted.
 */
function decodeTimer(context: LlamaContext) {
  const holder = context as unknown as { _ctx?: { decodeBatch: () => Promise<void> } };
  const spans: Array<[number, number]> = [];
  const native = holder._ctx;
  if (!native || typeof native.decodeBatch !== "function") return { window: () => null };
  holder._ctx = new Proxy(native, {
    get(target, key) {
      if (key === "decodeBatch") {
        return async () => {
          const begin = performance.now();
          await target.decodeBatch();
          spans.push([begin, performance.now()]);
        };
      }
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return {
    /** ms per decode step spent outside decode within [start, end] */
    window(start: number, end: number) {
      const inside = spans.filter(([, e]) => e > start && e <= end);
      spans.length = 0;
      if (inside.length < 2) return null;
      const decodeMs = inside.reduce((sum, [b, e]) => sum + (e - Math.max(b, start)), 0);
      return (end - start - decodeMs) / inside.length;
    },
  };
}

interface Accumulator {
  rates: number[];
  gaps: number[];
  outside: number[];
  before: number[];
  after: number[];
  counters: number[] | null;
}

function finish(acc: Accumulator, fullBatchShare: number | null): ConfigResult {
  acc.gaps.sort((a, b) => a - b);
  const routed = acc.counters?.[Counter.routed] ?? 0;
  return {
    tokensPerSecond: acc.rates,
    tpotMedianMs: percentile(acc.gaps, 0.5),
    tpotP90Ms: percentile(acc.gaps, 0.9),
    outsideDecodeMs: acc.outside.length ? mean(acc.outside) : null,
    distinctBefore: mean(acc.before),
    distinctAfter: mean(acc.after),
    fullBatchShare,
    top1Kept: routed ? acc.counters![Counter.top1Kept]! / routed : null,
    massRetained: routed ? acc.counters![Counter.massRetained]! / routed : null,
  };
}

/** Adds one generation's steady-state rate, token gaps and time outside decode. */
function recordGeneration(acc: Accumulator, times: number[][], timer: ReturnType<typeof decodeTimer>) {
  const m = measure(times);
  acc.rates.push(m.tokensPerSecond);
  acc.gaps.push(...m.gaps);
  const outside = timer.window(m.start, m.end);
  if (outside !== null) acc.outside.push(outside);
}

const fullBatchShare = (stats: BatchScheduler["stats"]) => (stats.decodeSteps ? stats.fullSteps / stats.decodeSteps : null);

const newAccumulator = (): Accumulator => ({ rates: [], gaps: [], outside: [], before: [], after: [], counters: null });

async function runEngine(input: ConfigInput): Promise<ConfigResults> {
  const engine = await LynxEngine.load({
    modelPath: input.model,
    maxChats: input.batch,
    threads: input.threads,
    unifiedKv: input.unifiedKv ?? true,
    stats: input.stats ?? true,
    contextPerChat: 512,
  });
  const timer = decodeTimer(engine.context);
  const sampling = { temperature: 0, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1, maxTokens: input.tokens };
  // warm-up: page the weights in, build the graphs
  await Promise.all(Array.from({ length: input.batch }, (_, i) => engine.openChat({ sampling: { ...sampling, maxTokens: 4 } }).send(prompts[i % prompts.length]!, { ignoreEos: true })));
  engine.scheduler.resetStats();
  const shape = () => engine.native.shape(engine.info.layers)?.moeLayers ?? null;
  const accumulators = new Map(input.policies.map((p) => [p.name, newAccumulator()]));
  for (let r = 0; r < input.repeats; r++) {
    // rotate the order so that no policy always runs first (or right after the warm-up)
    const order = input.policies.map((_, i) => input.policies[(i + r) % input.policies.length]!);
    for (const { name, policy } of order) {
      const acc = accumulators.get(name)!;
      engine.setPolicy(policy);
      const counters0 = engine.native.counters();
      const recorder = input.stats === false ? null : new RoutingRecorder(engine.native, engine.info.layers, engine.info.experts, shape).start(2);
      const chats = Array.from({ length: input.batch }, () => engine.openChat({ sampling }));
      const times = await generate((i, onToken) => chats[i]!.send(prompts[(i + r) % prompts.length]!, { ignoreEos: true, onToken }), input.batch);
      await Promise.all(chats.map((c) => engine.closeChat(c.id)));
      recordGeneration(acc, times, timer);
      if (recorder) {
        recorder.stop();
        const layers = recorder.summary(input.batch).layers;
        acc.before.push(mean(layers.map((l) => l.distinctBefore)));
        acc.after.push(mean(layers.map((l) => l.distinctAfter)));
      }
      const delta = Array.from(engine.native.counters(), (v, i) => v - counters0[i]!);
      acc.counters = acc.counters ? acc.counters.map((v, i) => v + delta[i]!) : delta;
    }
  }
  const share = fullBatchShare(engine.scheduler.stats);
  await engine.dispose();
  return Object.fromEntries(input.policies.map((p) => [p.name, finish(accumulators.get(p.name)!, share)]));
}

async function runStock(input: ConfigInput): Promise<ConfigResults> {
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: input.model });
  const scheduler = new BatchScheduler(2);
  const context = await model.createContext({ sequences: input.batch, contextSize: 512, threads: input.threads, flashAttention: false, batching: { itemPrioritizationStrategy: scheduler.strategy } });
  const timer = decodeTimer(context);
  const sequences = Array.from({ length: input.batch }, () => context.getSequence());
  const tokenBias = banEndOfGeneration(model);
  const acc = newAccumulator();
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
    if (record) recordGeneration(acc, times, timer);
    else timer.window(0, 0); // the warm-up's decodes are not measured
  };
  await runOnce(0, 4, false);
  scheduler.resetStats();
  for (let r = 0; r < input.repeats; r++) await runOnce(r, input.tokens, true);
  const share = fullBatchShare(scheduler.stats);
  await context.dispose();
  await model.dispose();
  return { [input.policies[0]?.name ?? "stock"]: finish(acc, share) };
}

async function main() {
  const input = JSON.parse(process.argv[2]!) as ConfigInput;
  const results = input.build === "engine" ? await runEngine(input) : await runStock(input);
  process.stdout.write(JSON.stringify(results) + "\n");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

// The pruning check: what each pruning setting costs on the loaded model, measured in a minute or two with no
// labelled data. The probe's prompts are answered greedily with pruning off (the reference); then the reference
// answers are teacher-forced through the engine once per setting, in lockstep decode steps of one token per lane (all
// of the context's sequences), so every step is a real batched decode ubatch, pruned by that setting. Per setting:
// top-1 agreement with off, KL(off || setting), distinct experts and expert bytes per step, decode speed. Auto is the
// most aggressive setting within autoThresholds (menu.ts).
import type { PruneProfile, PruneSettingResult } from "../api/contract.js";
import type { ExclusiveAccess, LynxEngine } from "../engine/engine.js";
import { EngineError } from "../engine/errors.js";
import type { Distribution, ForcedItem } from "../engine/forced-decode.js";
import { resolvePolicy } from "../engine/policy.js";
import { RoutingRecorder } from "../engine/routing-recorder.js";
import { comparePasses } from "./measure.js";
import { autoThresholds, budgetMenu, distinctEntries, fixedMenu, pickAuto, specKey, type AutoThresholds, type MenuEntry } from "./menu.js";
import { longPassage, longQuestion, probeSizes, selectPrompts } from "./probe-prompts.js";
import type { Token } from "node-llama-cpp";

export interface PruneCheckProgressEvent {
  phase: "waiting" | "reference" | "setting";
  fraction: number;
  message: string;
}

export interface PruneCheckRunOptions {
  quick?: boolean;
  /** Prompts of the probe (default 16 quick, 31 full). */
  prompts?: number;
  /** Longest reference answer in tokens (default 24 quick, 48 full). */
  maxTokens?: number;
  /** Include the long-context prompt (default true). */
  longPrompt?: boolean;
  /** Only these setting names (Off always runs); for short tests. */
  only?: readonly string[];
  thresholds?: AutoThresholds;
  /** Tokens per compared distribution: 0 = whole vocabulary (default: whole up to 4096 tokens, else the top 256). */
  distributionTokens?: number;
  signal?: AbortSignal;
  onProgress?: (event: PruneCheckProgressEvent) => void;
}

export type PruneCheckOutcome =
  | { applicable: false; reason: string; seconds: number }
  | { applicable: true; profile: PruneProfile };

/** One teacher-forced pass: its distributions and what its decode steps read. */
interface Pass {
  distributions: Distribution[][];
  batchSizes: number[][];
  decodeMs: number;
  decodeSteps: number;
  /** Per MoE layer, mean over the pass's batched decode steps. */
  distinctBefore: number[];
  distinctAfter: number[];
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

export async function runPruneCheck(engine: LynxEngine, options: PruneCheckRunOptions = {}): Promise<PruneCheckOutcome> {
  const started = performance.now();
  const info = engine.info;
  const seconds = () => (performance.now() - started) / 1000;
  if (!info.isMoE || info.experts <= info.expertsPerToken) {
    return { applicable: false, reason: `${info.name} is a dense model (no experts to choose between): there is nothing to prune`, seconds: seconds() };
  }
  if (info.maxChats < 2) {
    throw new EngineError("INVALID_INPUT", `the check needs at least 2 concurrent chats to batch decode steps; this model was loaded with ${info.maxChats}`);
  }
  const quick = options.quick ?? false;
  const size = probeSizes[quick ? "quick" : "full"];
  const thresholds = options.thresholds ?? autoThresholds;
  const progress = options.onProgress ?? (() => {});
  const topK = options.distributionTokens ?? (vocabularySize(engine) <= 4096 ? 0 : 256);
  const maxTokens = Math.max(2, options.maxTokens ?? size.maxTokens);

  // the probe's prompts as the chat template formats them
  const probe = selectPrompts(options.prompts ?? size.prompts);
  const prompts: Token[][] = [];
  const kinds: string[] = [];
  for (const { text, kind } of probe) {
    try {
      const tokens = engine.promptTokens({ messages: [{ role: "user", text }] });
      if (tokens.length + maxTokens < info.contextLength) {
        prompts.push(tokens);
        kinds.push(kind);
      }
    } catch {
      // longer than this model's context: left out
    }
  }
  if (options.longPrompt ?? true) {
    const long = longPrompt(engine, Math.floor((info.contextLength - maxTokens) * 0.9));
    if (long) {
      prompts.push(long);
      kinds.push("long");
    }
  }
  if (prompts.length === 0) throw new EngineError("CONTEXT_FULL", `no probe prompt fits in a context of ${info.contextLength} tokens`);

  progress({ phase: "waiting", fraction: 0, message: "waiting for the answers being written to finish" });
  const profile = await engine.runExclusive(
    async (access) => {
      // reference: greedy answers with pruning off
      access.setPolicy({ kind: "off" });
      let answered = 0;
      const answers = await access.generateGreedy(prompts, maxTokens, {
        signal: options.signal,
        onAnswer: () => progress({ phase: "reference", fraction: (0.15 * ++answered) / prompts.length, message: `reference answers with pruning off (${answered} of ${prompts.length})` }),
      });
      const items: ForcedItem[] = prompts.map((prompt, i) => ({ prompt, continuation: answers[i]! }));
      const stepsPerPass = estimateSteps(items, access.lanes);

      let entries = fixedMenu().filter((e) => e.name === "Off" || !options.only || options.only.includes(e.name));
      entries = distinctEntries(entries, info);
      const passCount = () => entries.length + 1;
      let passIndex = 0;
      const runPass = async (entry: MenuEntry | null): Promise<Pass> => {
        const label = entry ? entry.name : "Off (baseline)";
        const policy = entry ? resolvePolicy(entry.setting, info).effective : ({ kind: "off" } as const);
        access.setPolicy(policy);
        const index = passIndex++;
        return measurePass(engine, access, items, topK, options.signal, (step) => {
          const done = index + Math.min(1, step / stepsPerPass);
          progress({ phase: "setting", fraction: 0.15 + (0.85 * done) / passCount(), message: `${label} (${index + 1} of ${passCount()})` });
        });
      };

      const baseline = await runPass(null);
      const union = mean(baseline.distinctAfter);
      // budgets are shares of the union off reads at this batch size, known only now
      const budgets = budgetMenu(union, info).filter((e) => !options.only || options.only.includes(e.name) || options.only.some((n) => e.name.startsWith(n)));
      const seen = new Set(entries.map((e) => specKey(resolvePolicy(e.setting, info).effective)));
      entries = [...entries, ...distinctEntries(budgets, info, seen)];

      const offBytes = union * baseline.distinctAfter.length;
      const results: PruneSettingResult[] = [];
      for (const entry of entries) {
        const pass = await runPass(entry);
        const comparison = comparePasses(baseline.distributions, pass.distributions, baseline.batchSizes);
        // the same comparison per kind of prompt: which kind of text a setting changes
        const agreementByKind: Record<string, number> = {};
        for (const kind of new Set(kinds)) {
          const pick = <T>(rows: readonly T[]) => rows.filter((_, i) => kinds[i] === kind);
          const part = comparePasses(pick(baseline.distributions), pick(pass.distributions), pick(baseline.batchSizes));
          if (part.positions > 0) agreementByKind[kind] = part.agreement;
        }
        const before = mean(pass.distinctBefore);
        const after = mean(pass.distinctAfter);
        const state = resolvePolicy(entry.setting, info);
        results.push({
          name: entry.name,
          setting: entry.setting,
          description: state.description,
          agreement: comparison.agreement,
          agreementByKind,
          klMean: comparison.klMean,
          klP95: comparison.klP95,
          distinctAfter: after,
          distinctReduction: before > 0 ? 1 - after / before : 0,
          bytesSaved: offBytes > 0 ? clamp(1 - (after * pass.distinctAfter.length) / offBytes) : 0,
          speedup: pass.decodeMs > 0 ? baseline.decodeMs / pass.decodeMs : 1,
        });
      }
      const positions = comparePasses(baseline.distributions, baseline.distributions, baseline.batchSizes).positions;
      const profile: PruneProfile = {
        measuredAt: Date.now(),
        quick,
        chats: access.lanes,
        thresholds: { ...thresholds },
        positions,
        distinctOff: union,
        settings: results,
        auto: pickAuto(results, thresholds),
        seconds: seconds(),
      };
      return profile;
    },
    { signal: options.signal, onStarted: () => progress({ phase: "reference", fraction: 0, message: "reference answers with pruning off" }) },
  );
  progress({ phase: "setting", fraction: 1, message: "done" });
  return { applicable: true, profile: { ...profile, seconds: seconds() } };
}

async function measurePass(
  engine: LynxEngine,
  access: ExclusiveAccess,
  items: readonly ForcedItem[],
  topK: number,
  signal: AbortSignal | undefined,
  onStep: (step: number) => void,
): Promise<Pass> {
  const layers = engine.info.layers;
  const moe = engine.native.shape(layers)?.moeLayers ?? null;
  // the patch keeps the last 64 decode batches: drained after every step, none is missed
  const recorder = new RoutingRecorder(engine.native, layers, engine.info.experts, () => moe);
  let steps = 0;
  const forced = await access.teacherForce(items, {
    topK,
    ...(signal ? { signal } : {}),
    onStep: () => {
      recorder.drain();
      onStep(++steps);
    },
  });
  const summary = recorder.summary(access.lanes);
  return {
    distributions: forced.distributions,
    batchSizes: forced.batchSizes,
    decodeMs: forced.decodeMs,
    decodeSteps: forced.decodeSteps,
    distinctBefore: summary.layers.map((l) => l.distinctBefore),
    distinctAfter: summary.layers.map((l) => l.distinctAfter),
  };
}

/** Decode steps of one pass if lanes run in lockstep, longest items first (for the progress bar). */
function estimateSteps(items: readonly ForcedItem[], lanes: number): number {
  const lengths = items.map((i) => Math.max(0, i.continuation.length - 1)).filter((n) => n > 0).sort((a, b) => b - a);
  const load = new Array<number>(lanes).fill(0);
  for (const n of lengths) {
    let min = 0;
    for (let l = 1; l < lanes; l++) if (load[l]! < load[min]!) min = l;
    load[min]! += n;
  }
  return Math.max(1, ...load);
}

/** The long passage cut at a word so that its prompt holds at most `budget` tokens; null if even a sentence does not fit. */
function longPrompt(engine: LynxEngine, budget: number): Token[] | null {
  const words = longPassage.split(" ");
  const tokensFor = (n: number): Token[] | null => {
    try {
      return engine.promptTokens({ messages: [{ role: "user", text: `${words.slice(0, n).join(" ")}\n\n${longQuestion}` }] });
    } catch {
      return null; // longer than the context
    }
  };
  let lo = 0;
  let hi = words.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    const tokens = tokensFor(mid);
    if (tokens && tokens.length <= budget) lo = mid;
    else hi = mid - 1;
  }
  return lo >= 20 ? tokensFor(lo) : null;
}

/** Tokens in the model's vocabulary, from its GGUF metadata (infinite when it does not say). */
function vocabularySize(engine: LynxEngine): number {
  const metadata = engine.model.fileInfo.metadata as { tokenizer?: { ggml?: { tokens?: readonly unknown[] } } };
  const size = metadata.tokenizer?.ggml?.tokens?.length;
  return typeof size === "number" && size > 0 ? size : Number.POSITIVE_INFINITY;
}

const clamp = (x: number) => Math.max(-1, Math.min(1, x));

// The engine: one MoE model, one context whose sequences serve every chat, batch-aware expert selection
// through our llama.cpp patch, and routing telemetry. No Electron here: it runs in plain Node.
import crypto from "node:crypto";
import { resolveChatWrapper, type ChatWrapper, type LlamaContext, type LlamaGrammar, type LlamaModel, type Token } from "node-llama-cpp";
import {
  maxChatsLimit,
  type AggressivenessSetting,
  type ChatSettings,
  type ChatSnapshot,
  type HostEvent,
  type ModelInfo,
  type PolicySpec,
  type PolicyState,
} from "../api/contract.js";
import { AnswerRoutingMeter, type RoutingMark } from "./answer-routing.js";
import { BatchScheduler } from "./batch-scheduler.js";
import { Chat } from "./chat.js";
import { EngineError } from "./errors.js";
import { supportsFunctionCalling } from "./function-calling.js";
import { jsonObjectGrammar } from "./json-grammar.js";
import { checkPromptFits, runGeneration, type GenerationInput, type GenerationRequest, type GenerationResult } from "./generation.js";
import { loadPatchedLlama, physicalCores, type PatchedLlama } from "./load-llama.js";
import { probeFiniteLogits } from "./logits-probe.js";
import { inspectModelFile } from "./model-file.js";
import { MoeSelectType } from "./native/moe-select-api.js";
import { generateGreedy, teacherForce, type ForcedItem, type ForcedOptions, type ForcedResult } from "./forced-decode.js";
import { describePolicy, familyDefault, resolvePolicy, type AutoChoice } from "./policy.js";
import { SequencePool } from "./sequence-pool.js";
import { TelemetrySampler } from "./telemetry.js";

export interface EngineOptions {
  modelPath: string;
  /** Maximum chats generating at once = sequences of the context (default 4, at most 16). */
  maxChats?: number;
  threads?: number;
  /** Context tokens per chat (default: min(training context, 4096)). */
  contextPerChat?: number;
  /** Record routing statistics (default true; costs one synchronisation per ubatch). */
  stats?: boolean;
  /** How long a decode may wait for a generating chat's next token, in ms (default 2). */
  batchWaitMs?: number;
  /** One KV cache for all sequences (default true): a decode of n sequences is then one ubatch. */
  unifiedKv?: boolean;
  /**
   * llama.cpp's flash attention (default off: on CPU its tiled softmax rounds differently with the cache layout,
   * so batched chats drifted from their solo answers; without it they match).
   */
  flashAttention?: boolean;
}

/**
 * What an exclusive task (the pruning check) may do while it holds every sequence of the context. Policies it sets
 * apply to its own decodes only: no chat runs meanwhile, and the user's policy is restored when it ends.
 */
export interface ExclusiveAccess {
  /** Sequences held (= the engine's maxChats). */
  readonly lanes: number;
  setPolicy(spec: PolicySpec): void;
  /** Greedy answers to the prompts (tokens as promptTokens returns them), lanes at a time; see generateGreedy. */
  generateGreedy(prompts: readonly (readonly Token[])[], maxTokens: number, options?: { signal?: AbortSignal; onAnswer?: () => void }): Promise<Token[][]>;
  /** Teacher-forced next-token distributions in lockstep decode steps of one token per lane; see teacherForce. */
  teacherForce(items: readonly ForcedItem[], options: ForcedOptions): Promise<ForcedResult>;
}

export class LynxEngine {
  private readonly chatMap = new Map<string, Chat>();
  private readonly listeners = new Set<(event: HostEvent) => void>();
  private policyState: PolicyState;
  private chatWrapper: ChatWrapper | undefined;
  private disposed = false;
  private readonly routing: AnswerRoutingMeter;
  /** One-shot generations in flight (the API's), aborted when the engine is disposed. */
  private readonly generations = new Map<Promise<unknown>, AbortController>();
  /** Set while an exclusive task waits for or holds the context: the user's policy is kept, not applied. */
  private exclusiveTask: Promise<unknown> | null = null;
  /** Aborts the exclusive task when the engine is disposed. */
  private exclusiveAbort: AbortController | null = null;
  /** The task holds the sequences: its policy is in effect, the user's waits. */
  private holdingContext = false;
  private autoChoice: AutoChoice | null = null;

  private constructor(
    readonly info: ModelInfo,
    private readonly patched: PatchedLlama,
    readonly model: LlamaModel,
    readonly context: LlamaContext,
    readonly pool: SequencePool,
    readonly scheduler: BatchScheduler,
    readonly telemetry: TelemetrySampler,
  ) {
    this.routing = new AnswerRoutingMeter(patched.native, info.layers, info.experts, info.expertsPerToken, () => patched.native.shape(info.layers)?.moeLayers ?? null);
    this.policyState = resolvePolicy({ mode: "preset", preset: "off" }, info);
    this.applyPolicy(this.policyState.effective);
  }

  static async load(options: EngineOptions): Promise<LynxEngine> {
    const facts = await inspectModelFile(options.modelPath);
    const patched = await loadPatchedLlama();
    const { llama, native } = patched;
    const maxChats = Math.min(maxChatsLimit, Math.max(1, Math.floor(options.maxChats ?? 4)));
    const threads = options.threads ?? physicalCores();

    patched.recentLogs.length = 0;
    let model: LlamaModel;
    try {
      model = await llama.loadModel({ modelPath: facts.path, gpuLayers: 0 });
    } catch (err) {
      const logs = patched.recentLogs.join("\n");
      if (/unknown model architecture/i.test(logs)) {
        throw new EngineError("UNSUPPORTED_ARCHITECTURE", `llama.cpp does not support the architecture "${facts.architecture}" of ${facts.name}`, { cause: err });
      }
      const detail = patched.recentLogs.filter((l) => /error|fail|missing|wrong/i.test(l)).slice(-3).join("; ");
      throw new EngineError("MODEL_LOAD_FAILED", `cannot load ${facts.name}: ${detail || (err as Error).message}`, { cause: err });
    }

    const contextPerChat = options.contextPerChat ?? Math.min(facts.trainContextLength || 4096, 4096);
    const scheduler = new BatchScheduler(options.batchWaitMs ?? 2);
    // a unified KV cache makes a decode of n sequences one ubatch, and has no out-of-order outputs
    native.setKvUnified(options.unifiedKv ?? true);
    native.enableStats(options.stats ?? true);
    let context: LlamaContext;
    try {
      context = await model.createContext({
        sequences: maxChats,
        contextSize: contextPerChat,
        threads,
        flashAttention: options.flashAttention ?? false,
        batching: { itemPrioritizationStrategy: scheduler.strategy },
      });
    } catch (err) {
      await model.dispose();
      throw new EngineError("MODEL_LOAD_FAILED", `cannot create a context for ${maxChats} chats: ${(err as Error).message}`, { cause: err });
    }

    const sequences = Array.from({ length: maxChats }, () => context.getSequence());
    try {
      await probeFiniteLogits(model, sequences[0]!, facts.name);
    } catch (err) {
      await context.dispose();
      await model.dispose();
      throw err;
    }
    const info: ModelInfo = {
      ...facts,
      contextLength: context.contextSize,
      maxChats,
      threads,
      engineBuild: patched.build,
    };
    let engine: LynxEngine | undefined;
    const pool = new SequencePool(sequences, () => engine?.emitQueue());
    const telemetry = new TelemetrySampler(native, scheduler, info, () => pool.queue.length);
    native.resetStats(-1);
    engine = new LynxEngine(info, patched, model, context, pool, scheduler, telemetry);
    return engine;
  }

  get native() {
    return this.patched.native;
  }

  // chats

  openChat(settings: Partial<ChatSettings> & { title?: string } = {}): Chat {
    this.assertAlive();
    const id = crypto.randomUUID();
    const chat = new Chat(id, settings.title ?? `Chat ${this.chatMap.size + 1}`, settings, this.chatServices());
    this.chatMap.set(id, chat);
    this.emit({ type: "chat.snapshot", chat: chat.snapshot() });
    return chat;
  }

  /** Re-creates a chat from a snapshot (e.g. of another model's engine): same id, title, settings and history. */
  restoreChat(snapshot: ChatSnapshot): Chat {
    this.assertAlive();
    const chat = new Chat(snapshot.id, snapshot.title, snapshot.settings, this.chatServices());
    chat.messages = snapshot.messages.map((m) => ({ ...m }));
    this.chatMap.set(chat.id, chat);
    return chat;
  }

  chat(id: string): Chat {
    const chat = this.chatMap.get(id);
    if (!chat) throw new EngineError("CHAT_NOT_FOUND", `no chat with id ${id}`);
    return chat;
  }

  chats(): Chat[] {
    return [...this.chatMap.values()];
  }

  async closeChat(id: string) {
    const chat = this.chat(id);
    this.chatMap.delete(id);
    await chat.close();
    this.emit({ type: "chat.closed", chatId: id });
  }

  private chatServices() {
    this.chatWrapper ??= resolveChatWrapper(this.model);
    return {
      model: this.model,
      chatWrapper: this.chatWrapper,
      contextSize: this.context.contextSize,
      pool: this.pool,
      scheduler: this.scheduler,
      telemetry: this.telemetry,
      routing: this.routing,
      policy: () => this.policyState,
      emit: (event: HostEvent) => this.emit(event),
    };
  }

  // one-shot generations (the OpenAI-compatible API)

  /** Generates once from messages or a raw prompt on a pool sequence, batched and pruned like the chats. */
  generate(request: GenerationRequest): Promise<GenerationResult> {
    this.assertAlive();
    const abort = new AbortController();
    const outer = request.signal;
    if (outer?.aborted) abort.abort(outer.reason);
    else outer?.addEventListener("abort", () => abort.abort(outer.reason), { once: true });
    const run = runGeneration(this.chatServices(), { ...request, signal: abort.signal });
    this.generations.set(run, abort);
    void run.catch(() => {}).finally(() => this.generations.delete(run));
    return run;
  }

  /** The prompt's tokens as a generation evaluates them; throws CONTEXT_FULL when a sequence cannot hold them. */
  promptTokens(input: GenerationInput): Token[] {
    return checkPromptFits(this.chatServices(), input);
  }

  /** A grammar that constrains output to JSON, or to JSON matching a schema (node-llama-cpp's schema subset). */
  async jsonGrammar(schema?: object): Promise<LlamaGrammar> {
    const llama = this.patched.llama;
    return schema === undefined ? await llama.createGrammar({ grammar: jsonObjectGrammar }) : await llama.createGrammarForJsonSchema(schema as never);
  }

  /** Whether the model's chat wrapper has a function-call syntax of its own (tools are offered only then). */
  get functionCalling(): boolean {
    return supportsFunctionCalling(this.chatServices().chatWrapper);
  }

  /** The node-llama-cpp chat wrapper resolved from the model's template (e.g. "ChatML", "Qwen"). */
  get chatWrapperName(): string {
    return this.chatServices().chatWrapper.wrapperName ?? "unknown";
  }

  /** Running totals of the batched decode steps' distinct experts (plain top-k and after selection). */
  routingTotals(): RoutingMark {
    return this.routing.runningTotals();
  }

  // policy

  get policy(): PolicyState {
    return this.policyState;
  }

  setAggressiveness(setting: AggressivenessSetting): PolicyState {
    this.policyState = resolvePolicy(setting, this.info, this.autoChoice);
    this.applyPolicy(this.policyState.effective);
    return this.policyState;
  }

  /** What the `auto` setting stands for on this model (from its pruning check; null: not checked). */
  setAutoChoice(choice: AutoChoice | null): PolicyState {
    this.autoChoice = choice;
    if (this.policyState.setting.mode === "auto") return this.setAggressiveness(this.policyState.setting);
    return this.policyState;
  }

  get auto(): AutoChoice | null {
    return this.autoChoice;
  }

  /** True while an exclusive task waits for or holds the context (chats and API requests queue meanwhile). */
  get exclusive(): boolean {
    return this.exclusiveTask !== null;
  }

  /**
   * Runs `task` with every sequence of the context. From the call on, chats and API generations queue (their status
   * says so); the task starts when the generations already running have ended, under their own policy. When it ends,
   * however it ends, the sequences are cleared, the user's policy (including any change made meanwhile) applies
   * again and the queue is served in order. One task at a time.
   */
  async runExclusive<T>(task: (access: ExclusiveAccess) => Promise<T>, options: { signal?: AbortSignal; onStarted?: () => void } = {}): Promise<T> {
    this.assertAlive();
    if (this.exclusiveTask) throw new EngineError("CHAT_BUSY", "another exclusive task (a pruning check) is running");
    const abort = new AbortController();
    this.exclusiveAbort = abort;
    const signal = options.signal ? AbortSignal.any([options.signal, abort.signal]) : abort.signal;
    const run = (async () => {
      const sequences = await this.pool.reserveAll(signal);
      this.holdingContext = true;
      try {
        options.onStarted?.();
        return await task({
          lanes: sequences.length,
          setPolicy: (spec) => this.applyPolicy(spec, true),
          generateGreedy: (prompts, maxTokens, o = {}) => generateGreedy(this.model, sequences, this.scheduler, prompts, maxTokens, { ...o, signal: o.signal ? AbortSignal.any([o.signal, signal]) : signal }),
          teacherForce: (items, o) => teacherForce(sequences, this.scheduler, items, { ...o, signal: o.signal ? AbortSignal.any([o.signal, signal]) : signal }),
        });
      } finally {
        await Promise.all(sequences.map((s) => s.clearHistory().catch(() => {})));
        this.holdingContext = false;
        this.exclusiveTask = null;
        if (!this.disposed) this.applyPolicy(this.policyState.effective);
        this.pool.releaseAll();
      }
    })();
    this.exclusiveTask = run;
    try {
      return await run;
    } finally {
      this.exclusiveTask = null;
      this.exclusiveAbort = null;
      if (!this.disposed) this.applyPolicy(this.policyState.effective);
    }
  }

  /** Sets an explicit policy (CLI, benchmarks); the UI setting is described as custom. */
  setPolicy(spec: PolicySpec): PolicyState {
    const base = familyDefault(this.info);
    const applicable = this.info.isMoE;
    const effective: PolicySpec = applicable ? spec : { kind: "off" };
    this.policyState = {
      setting: spec.kind === "budget" ? { mode: "budget", experts: spec.experts } : { mode: "preset", preset: spec.kind === "off" ? "off" : "balanced" },
      effective,
      description: describePolicy(effective, base, applicable),
      familyDefault: base,
      applicable,
    };
    this.applyPolicy(effective);
    return this.policyState;
  }

  private applyPolicy(spec: PolicySpec, fromExclusiveTask = false) {
    // while an exclusive task holds the context its policy is in effect; the user's applies when it ends
    if (this.holdingContext !== fromExclusiveTask) return;
    const native = this.patched.native;
    if (spec.kind === "affinity") native.setPolicy(MoeSelectType.affinity, spec.alpha, spec.beta, 0);
    else if (spec.kind === "budget") native.setPolicy(MoeSelectType.budget, 0, 0, spec.experts);
    else native.setPolicy(MoeSelectType.off, 0, 0, 0);
  }

  // events

  subscribe(listener: (event: HostEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: HostEvent) {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // a listener's failure must not break generation
      }
    }
  }

  private emitQueue() {
    for (const chatId of this.pool.queue) {
      const chat = this.chatMap.get(chatId);
      if (chat) this.emit({ type: "chat.status", chatId, status: "queued", queuePosition: this.pool.queue.indexOf(chatId) + 1 });
    }
  }

  private assertAlive() {
    if (this.disposed) throw new EngineError("INTERNAL", "the engine was disposed");
  }

  async dispose() {
    if (this.disposed) return;
    this.disposed = true;
    // an exclusive task (a pruning check) stops at its next step and hands the sequences back first
    this.exclusiveAbort?.abort(new EngineError("INTERNAL", "the model was unloaded"));
    await this.exclusiveTask?.catch(() => {});
    this.telemetry.stop();
    this.routing.stop();
    this.pool.rejectAll(new EngineError("INTERNAL", "the model was unloaded"));
    for (const abort of this.generations.values()) abort.abort(new EngineError("INTERNAL", "the model was unloaded"));
    await Promise.all([...this.generations.keys()].map((run) => run.catch(() => {})));
    await Promise.all(this.chats().map((chat) => chat.close()));
    this.chatMap.clear();
    await this.context.dispose();
    await this.model.dispose();
    this.listeners.clear();
  }
}

// Turns the patch's routing statistics into compact frames for the UI, at most ~20 per second:
// per chat, expert counts over a sliding window of its recent tokens; the latest decode batches' asked/kept
// experts; batch sizes and speeds.
import type { BatchTelemetry, ChatTelemetry, TelemetryFrame } from "../api/contract.js";
import type { BatchScheduler } from "./batch-scheduler.js";
import { Counter, type MoeSelectApi } from "./native/moe-select-api.js";

interface ModelShape {
  layers: number;
  experts: number;
  expertsPerToken: number;
  moeLayers: number;
  expertBytes: number;
}

interface WindowEntry {
  tokens: number;
  delta: Uint32Array;
}

class ChatWindow {
  readonly sum: Uint32Array;
  readonly entries: WindowEntry[] = [];
  windowTokens = 0;
  totalTokens = 0;
  readonly tokenTimes: number[] = [];

  constructor(size: number, private readonly limit: number) {
    this.sum = new Uint32Array(size);
  }

  add(delta: Uint32Array, tokens: number) {
    this.entries.push({ tokens, delta });
    for (let i = 0; i < delta.length; i++) this.sum[i]! += delta[i]!;
    this.windowTokens += tokens;
    while (this.entries.length > 1 && this.windowTokens - this.entries[0]!.tokens >= this.limit) {
      const old = this.entries.shift()!;
      for (let i = 0; i < old.delta.length; i++) this.sum[i]! -= old.delta[i]!;
      this.windowTokens -= old.tokens;
    }
  }
}

export class TelemetrySampler {
  private readonly size: number;
  private readonly seqChat = new Map<number, string>();
  private readonly lastSeqCounts = new Map<number, Uint32Array>();
  private readonly windows = new Map<string, ChatWindow>();
  private readonly pendingTokens = new Map<string, number>();
  private readonly batches: BatchTelemetry[] = [];
  private nextUbatch = 0;
  private frameSeq = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly listeners = new Set<(frame: TelemetryFrame) => void>();
  private moeLayers: Uint8Array;

  constructor(
    private readonly native: MoeSelectApi,
    private readonly scheduler: BatchScheduler,
    private readonly shape: ModelShape,
    private readonly queuedChats: () => number,
    private readonly windowTokens = 64,
    private readonly intervalMs = 50,
  ) {
    this.size = shape.layers * Math.max(shape.experts, 1);
    this.moeLayers = new Uint8Array(shape.layers);
    this.nextUbatch = native.ubatchCount();
  }

  /** A sequence starts serving a chat: its native counts restart from zero. */
  bindSequence(sequenceId: number, chatId: string) {
    this.native.resetStats(sequenceId);
    this.seqChat.set(sequenceId, chatId);
    this.lastSeqCounts.set(sequenceId, new Uint32Array(this.size));
    if (!this.windows.has(chatId)) this.windows.set(chatId, new ChatWindow(this.size, this.windowTokens));
  }

  unbindSequence(sequenceId: number) {
    this.collectSequence(sequenceId);
    this.seqChat.delete(sequenceId);
    this.lastSeqCounts.delete(sequenceId);
  }

  countTokens(chatId: string, tokens: number) {
    this.pendingTokens.set(chatId, (this.pendingTokens.get(chatId) ?? 0) + tokens);
    const window = this.windows.get(chatId);
    if (window) {
      const now = performance.now();
      for (let i = 0; i < tokens; i++) window.tokenTimes.push(now);
      window.totalTokens += tokens;
    }
  }

  forgetChat(chatId: string) {
    this.windows.delete(chatId);
    this.pendingTokens.delete(chatId);
  }

  subscribe(listener: (frame: TelemetryFrame) => void): () => void {
    this.listeners.add(listener);
    let lastSent = 0;
    this.timer ??= setInterval(() => {
      // while nothing generates, one frame a second keeps the UI's numbers fresh without redrawing 20 times a second
      const idle = this.scheduler.generatingChats === 0 && this.queuedChats() === 0;
      if (idle && performance.now() - lastSent < 1000) return;
      lastSent = performance.now();
      const frame = this.frame();
      for (const l of this.listeners) l(frame);
    }, this.intervalMs);
    this.timer.unref?.();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.listeners.clear();
  }

  private collectSequence(sequenceId: number) {
    const chatId = this.seqChat.get(sequenceId);
    const last = this.lastSeqCounts.get(sequenceId);
    const window = chatId ? this.windows.get(chatId) : undefined;
    if (!chatId || !last || !window || this.shape.experts === 0) return;
    const now = new Uint32Array(this.size);
    this.native.seqCounts(sequenceId, now);
    const delta = new Uint32Array(this.size);
    let any = false;
    for (let i = 0; i < now.length; i++) {
      const d = now[i]! - last[i]!;
      delta[i] = d > 0 ? d : 0;
      any ||= d > 0;
    }
    this.lastSeqCounts.set(sequenceId, now);
    const tokens = this.pendingTokens.get(chatId) ?? 0;
    this.pendingTokens.set(chatId, 0);
    if (any || tokens > 0) window.add(delta, tokens);
  }

  private collectBatches() {
    if (this.shape.experts === 0) return;
    const total = this.native.ubatchCount();
    const from = Math.max(this.nextUbatch, total - 8);
    for (let i = from; i < total; i++) {
      const batch: BatchTelemetry = {
        size: 0,
        map: new Uint8Array(this.size),
        before: new Uint16Array(this.shape.layers),
        after: new Uint16Array(this.shape.layers),
      };
      batch.size = this.native.ubatch(i, batch.map, batch.before, batch.after, this.shape.layers);
      if (batch.size > 0) this.batches.push(batch);
    }
    this.nextUbatch = total;
    if (this.batches.length > 8) this.batches.splice(0, this.batches.length - 8);
  }

  frame(): TelemetryFrame {
    for (const sequenceId of this.seqChat.keys()) this.collectSequence(sequenceId);
    this.collectBatches();
    const shape = this.native.shape(this.shape.layers);
    if (shape) this.moeLayers = shape.moeLayers;

    const now = performance.now();
    const chats: ChatTelemetry[] = [];
    let recentTokens = 0;
    for (const [chatId, window] of this.windows) {
      while (window.tokenTimes.length > 0 && now - window.tokenTimes[0]! > 2000) window.tokenTimes.shift();
      const span = window.tokenTimes.length > 1 ? (now - window.tokenTimes[0]!) / 1000 : 0;
      const tokensPerSecond = span > 0 ? (window.tokenTimes.length - 1) / span : 0;
      recentTokens += window.tokenTimes.length;
      chats.push({ chatId, counts: window.sum.slice(), windowTokens: window.windowTokens, tokensPerSecond, tokens: window.totalTokens });
    }
    const overallTps = chats.reduce((sum, chat) => sum + chat.tokensPerSecond, 0);

    let before = 0;
    let after = 0;
    let samples = 0;
    for (const batch of this.batches) {
      for (let l = 0; l < this.shape.layers; l++) {
        if (!this.moeLayers[l]) continue;
        before += batch.before[l]!;
        after += batch.after[l]!;
        samples++;
      }
    }
    const distinctBefore = samples ? before / samples : 0;
    const distinctAfter = samples ? after / samples : 0;
    const counters = this.native.counters();
    const routed = counters[Counter.routed]!;
    const stats = this.scheduler.stats;

    return {
      seq: this.frameSeq++,
      timeMs: Date.now(),
      nLayers: this.shape.layers,
      nExperts: this.shape.experts,
      expertsPerToken: this.shape.expertsPerToken,
      moeLayers: this.moeLayers.slice(),
      chats,
      batches: this.batches.slice(),
      batchHistogram: this.native.batchHistogram(17),
      overall: {
        tokensPerSecond: recentTokens > 1 ? overallTps : 0,
        generatingChats: this.scheduler.generatingChats,
        queuedChats: this.queuedChats(),
        currentBatchSize: stats.lastBatchSize,
        decodeSteps: stats.decodeSteps,
        fullBatchShare: stats.decodeSteps ? stats.fullSteps / stats.decodeSteps : 0,
        distinctBefore,
        distinctAfter,
        expertBytesBefore: distinctBefore * this.shape.moeLayers * this.shape.expertBytes,
        expertBytesAfter: distinctAfter * this.shape.moeLayers * this.shape.expertBytes,
        top1KeptShare: routed ? counters[Counter.top1Kept]! / routed : 1,
        massRetained: routed ? counters[Counter.massRetained]! / routed : 1,
      },
    };
  }
}

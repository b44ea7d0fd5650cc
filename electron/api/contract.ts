// The one contract between the renderer and the host (Electron main process or web-mode server).
// Pure types and constants: no Node, no DOM, so both sides import it.

export type ChatId = string;

export type ChatStatus = "idle" | "queued" | "generating";

export type Role = "system" | "user" | "assistant";

export interface ChatMessage {
  role: Exclude<Role, "system">;
  text: string;
  /** Set on assistant messages that were stopped by the user or cut by a limit. */
  stopReason?: StopReason;
}

export type StopReason = "eos" | "maxTokens" | "aborted" | "contextFull" | "error";

export interface SamplingOptions {
  /** 0 = greedy. */
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repeatPenalty: number;
  maxTokens: number;
  seed?: number;
}

export const defaultSampling: SamplingOptions = {
  temperature: 0.7,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repeatPenalty: 1.1,
  maxTokens: 512,
};

export interface ChatSettings {
  systemPrompt: string;
  sampling: SamplingOptions;
}

export interface ChatSnapshot {
  id: ChatId;
  title: string;
  status: ChatStatus;
  queuePosition?: number;
  settings: ChatSettings;
  messages: ChatMessage[];
}

export interface ModelInfo {
  path: string;
  name: string;
  architecture: string;
  layers: number;
  /** 0 for a dense model. */
  experts: number;
  expertsPerToken: number;
  isMoE: boolean;
  /** Layers that have experts (some models keep their first layers dense). */
  moeLayers: number;
  sizeBytes: number;
  contextLength: number;
  trainContextLength: number;
  /** Bytes of one expert's weights in one layer (gate + up + down), for the bytes-per-step estimate. */
  expertBytes: number;
  maxChats: number;
  threads: number;
  chatTemplate: string;
}

export type PolicySpec =
  | { kind: "off" }
  | { kind: "affinity"; alpha: number; beta: number }
  | { kind: "budget"; experts: number };

export type AggressivenessPreset = "off" | "gentle" | "balanced" | "aggressive";

/** What the user picked; the host turns it into an effective PolicySpec for the loaded model. */
export type AggressivenessSetting =
  | { mode: "preset"; preset: AggressivenessPreset }
  /** 0 = off ... 0.5 = balanced ... 1 = most aggressive. */
  | { mode: "slider"; value: number }
  /** Advanced: a hard cap of experts per layer per decode step. */
  | { mode: "budget"; experts: number };

export interface PolicyState {
  setting: AggressivenessSetting;
  effective: PolicySpec;
  /** Human-readable, e.g. "affinity alpha=3.0 beta=2 (Qwen3 family default)". */
  description: string;
  /** Where the balanced point comes from. */
  familyDefault: { alpha: number; beta: number; source: string };
  /** False for dense models: pruning does not apply. */
  applicable: boolean;
}

/** Telemetry frame, at most ~20 per second; typed arrays, no per-token JSON. */
export interface TelemetryFrame {
  seq: number;
  timeMs: number;
  nLayers: number;
  nExperts: number;
  expertsPerToken: number;
  /** [nLayers] 1 where the layer has experts. */
  moeLayers: Uint8Array;
  chats: ChatTelemetry[];
  /** Latest decode batches, newest last. */
  batches: BatchTelemetry[];
  /** decode steps by batch size: index = number of tokens in the ubatch. */
  batchHistogram: Float64Array;
  overall: OverallTelemetry;
}

export interface ChatTelemetry {
  chatId: ChatId;
  /** [nLayers * nExperts] selections by this chat's recent tokens (sliding window), layer-major. */
  counts: Uint32Array;
  windowTokens: number;
  tokensPerSecond: number;
  tokens: number;
}

export interface BatchTelemetry {
  size: number;
  /** [nLayers * nExperts]: 0 unused, 1 asked and pruned, 2 asked and kept, 3 kept, reached only by re-routing. */
  map: Uint8Array;
  /** [nLayers] distinct experts plain top-k would touch / touched after selection. */
  before: Uint16Array;
  after: Uint16Array;
}

export interface OverallTelemetry {
  tokensPerSecond: number;
  generatingChats: number;
  queuedChats: number;
  currentBatchSize: number;
  decodeSteps: number;
  /** Share of decode steps (batch >= 2) that held every generating chat. */
  fullBatchShare: number;
  /** Mean distinct experts per MoE layer over the recent batches. */
  distinctBefore: number;
  distinctAfter: number;
  /** Estimated expert weight bytes read per decode step, before and after selection. */
  expertBytesBefore: number;
  expertBytesAfter: number;
  top1KeptShare: number;
  massRetained: number;
}

export type HostEvent =
  | { type: "chat.delta"; chatId: ChatId; text: string }
  | { type: "chat.status"; chatId: ChatId; status: ChatStatus; queuePosition?: number }
  | { type: "chat.done"; chatId: ChatId; message: ChatMessage }
  | { type: "chat.error"; chatId: ChatId; code: EngineErrorCode; message: string }
  | { type: "chat.snapshot"; chat: ChatSnapshot }
  | { type: "chat.closed"; chatId: ChatId }
  | { type: "model.changed"; model: ModelInfo; policy: PolicyState }
  | { type: "host.error"; code: EngineErrorCode; message: string };

export type EngineErrorCode =
  | "MODEL_NOT_FOUND"
  | "NOT_GGUF"
  | "TRUNCATED_GGUF"
  | "UNSUPPORTED_ARCHITECTURE"
  | "MODEL_LOAD_FAILED"
  | "CONTEXT_FULL"
  | "ENGINE_NOT_PATCHED"
  | "CHAT_NOT_FOUND"
  | "CHAT_BUSY"
  | "INVALID_INPUT"
  | "INTERNAL";

/**
 * The API the renderer calls. Every method is async because it crosses a process or network boundary.
 * Implemented by the host service (electron/host) and reached through the Electron preload bridge
 * or the web-mode HTTP/WebSocket client: the renderer code is the same.
 */
export interface LynxApi {
  getModel(): Promise<ModelInfo>;
  listChats(): Promise<ChatSnapshot[]>;
  openChat(settings?: Partial<ChatSettings> & { title?: string }): Promise<ChatSnapshot>;
  renameChat(chatId: ChatId, title: string): Promise<void>;
  updateChatSettings(chatId: ChatId, settings: Partial<ChatSettings>): Promise<void>;
  /** Starts generation; tokens arrive as chat.delta events. Resolves when queued or started. */
  send(chatId: ChatId, text: string): Promise<void>;
  stop(chatId: ChatId): Promise<void>;
  regenerate(chatId: ChatId): Promise<void>;
  /** Replace the last user message and generate again. */
  editLastAndResend(chatId: ChatId, text: string): Promise<void>;
  resetChat(chatId: ChatId): Promise<void>;
  closeChat(chatId: ChatId): Promise<void>;
  getPolicy(): Promise<PolicyState>;
  setPolicy(setting: AggressivenessSetting): Promise<PolicyState>;
  /** Electron only: shows a file dialog; web mode rejects. */
  openModelDialog?(): Promise<ModelInfo | null>;
  subscribe(onEvent: (event: HostEvent) => void, onTelemetry: (frame: TelemetryFrame) => void): () => void;
}

export const maxChatsLimit = 16;
export const maxMessageLength = 100_000;

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
  /** When the message was written (ms since the epoch). */
  createdAt?: number;
  /** Answers: what generating it cost. */
  stats?: AnswerStats;
  /** An answer cut short by a crash or a shutdown while it streamed: the text is what was saved. */
  interrupted?: boolean;
}

/** Per-answer statistics, kept with the message in the chat store. */
export interface AnswerStats {
  /** Tokens generated. */
  tokens: number;
  /** From the request (queue wait and prompt processing included) to the first generated token. */
  timeToFirstTokenMs: number;
  /** Tokens after the first per second of decoding. */
  tokensPerSecond: number;
  /** From the request to the last token. */
  durationMs: number;
  /** The pruning in effect when the answer started. */
  pruning: { setting: AggressivenessSetting; effective: PolicySpec; description: string };
  /** Decode steps of this answer (tokens after the first) and how many of them were batched with other chats. */
  decodeSteps: number;
  batchedSteps: number;
  /**
   * Distinct experts per MoE layer per decode step, averaged over the answer's decode steps: what plain top-k
   * would read and what was read after batch-aware selection. 0 for dense models.
   */
  expertsBefore: number;
  expertsAfter: number;
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
  /** The engine build that runs the model and the CPU backend it loaded (absent only in test doubles). */
  engineBuild?: EngineBuildInfo;
}

/** native: built for the build machine (development); portable: a CPU backend per instruction-set level, picked at run time. */
export interface EngineBuildInfo {
  flavor: "native" | "portable";
  /** The CPU backend variant ggml loaded (e.g. "sse42", "haswell", "skylakex"), "native" for the native build. */
  cpuVariant: string;
  /** Instruction-set features of the loaded CPU backend, as llama.cpp's system info reports them. */
  cpuFeatures: string[];
  /** The backend library ggml loaded (portable build). */
  cpuLibrary?: string;
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
  /** The stored chats changed (created, renamed, deleted, answered): a history list should refresh. */
  | { type: "history.changed" }
  /** The chat store repaired or skipped something when it opened (shown once in the UI). */
  | { type: "store.notice"; notices: StoreNotice[] }
  | { type: "host.error"; code: EngineErrorCode; message: string };

export type EngineErrorCode =
  | "MODEL_NOT_FOUND"
  | "NOT_GGUF"
  | "TRUNCATED_GGUF"
  | "CORRUPT_GGUF"
  | "UNSUPPORTED_ARCHITECTURE"
  | "MODEL_LOAD_FAILED"
  | "CONTEXT_FULL"
  | "ENGINE_NOT_PATCHED"
  | "CHAT_NOT_FOUND"
  | "CHAT_BUSY"
  | "INVALID_INPUT"
  | "STORE_LOCKED"
  | "STORE_UNSUPPORTED_VERSION"
  | "STORE_IO"
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
  /** Stored chats, newest first; `search` matches titles and message text (case-insensitive). */
  listHistory(query?: HistoryQuery): Promise<ChatSummary[]>;
  /** Opens a stored chat in a tab (its context is rebuilt from its messages on the next send). */
  reopenChat(chatId: ChatId): Promise<ChatSnapshot>;
  /** Removes a chat from the store (and closes its tab). */
  deleteChat(chatId: ChatId): Promise<void>;
  exportChat(chatId: ChatId, format: ExportFormat): Promise<ChatExport>;
  getAppSettings(): Promise<AppSettings>;
  updateAppSettings(settings: Partial<AppSettingsUpdate>): Promise<AppSettings>;
  /** Where chats are kept, and what the store repaired when it opened. */
  getStorageInfo(): Promise<StorageInfo>;
  /** Electron only: shows a file dialog; web mode rejects. */
  openModelDialog?(): Promise<ModelInfo | null>;
  subscribe(onEvent: (event: HostEvent) => void, onTelemetry: (frame: TelemetryFrame) => void): () => void;
}

export interface HistoryQuery {
  search?: string;
  limit?: number;
}

export interface ChatSummary {
  id: ChatId;
  title: string;
  createdAt: number;
  updatedAt: number;
  messageCount: number;
  /** The start of the last message. */
  preview: string;
  /** Open in a tab now. */
  open: boolean;
}

export type ExportFormat = "markdown" | "json";

export interface ChatExport {
  fileName: string;
  mimeType: string;
  content: string;
}

export type ThemeSetting = "light" | "dark" | "system";

export interface AppSettings {
  pruning: AggressivenessSetting;
  /** Applied at the next start (the context is created with this many sequences). */
  maxChats: number | null;
  threads: number | null;
  theme: ThemeSetting;
  lastModel: string | null;
  /** Newest first. */
  recentModels: string[];
}

/** What the renderer may change directly (the pruning goes through setPolicy, the model through opening one). */
export type AppSettingsUpdate = Pick<AppSettings, "maxChats" | "threads" | "theme">;

export interface StoreNotice {
  kind: "repaired" | "skipped" | "rebuilt";
  chatId?: ChatId;
  message: string;
}

export interface StorageInfo {
  /** null when nothing is saved (a host started without a data folder). */
  dataDir: string | null;
  formatVersion: number;
  notices: StoreNotice[];
}

export const maxChatsLimit = 16;
export const maxMessageLength = 100_000;

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
  | { mode: "budget"; experts: number }
  /** The pruning check's pick for the loaded model (PruneProfile.auto); nothing is pruned until it has been checked. */
  | { mode: "auto" };

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
  | { type: "host.error"; code: EngineErrorCode; message: string }
  /** The pruning check started, progressed, ended or the loaded model's profile changed. */
  | { type: "pruneCheck.changed"; state: PruneCheckState }
  /** A download's progress (throttled, a few per second) or a change of its status. */
  | { type: "download.progress"; download: DownloadState }
  /** Files in the models folder, the recent list or a model's settings changed: a library view should refresh. */
  | { type: "library.changed" };

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
  /** The fit estimate says the model with these settings needs more memory than is free (load with force to insist). */
  | "MODEL_TOO_LARGE"
  /** A download's source answered with an HTTP error (404, 403...). */
  | "DOWNLOAD_HTTP_ERROR"
  /** A download failed on the way (network, stalled, resolution of an hf: URI). */
  | "DOWNLOAD_FAILED"
  /** The downloaded bytes do not match the size or checksum the source gave. */
  | "DOWNLOAD_VERIFY_FAILED"
  /** Not enough free disk for the download. */
  | "DISK_FULL"
  | "DOWNLOAD_NOT_FOUND"
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
  /** The pruning check of the loaded model: whether one runs, its progress, the stored profile. */
  getPruneCheck(): Promise<PruneCheckState>;
  /** Starts the check (progress arrives as pruneCheck.changed events); chats queue while it runs. */
  startPruneCheck(options?: PruneCheckOptions): Promise<PruneCheckState>;
  cancelPruneCheck(): Promise<void>;
  /** Electron only: shows a file dialog; web mode rejects. */
  openModelDialog?(): Promise<ModelInfo | null>;
  /** Electron only: a folder picker whose pick becomes the models folder (null: cancelled); web mode rejects. */
  chooseModelsDir?(): Promise<AppSettings | null>;
  /** The OpenAI-compatible local API: its settings, whether it runs, its URL and the requests in flight. */
  getLocalApi(): Promise<LocalApiState>;
  /** Changes (and saves) the local API's settings; starts, restarts or stops it to match. */
  setLocalApi(settings: Partial<LocalApiSettings>): Promise<LocalApiState>;
  /** The model library: the models folder, recent files, downloads, the curated list and this machine's memory. */
  listModels(): Promise<ModelLibraryState>;
  /** Memory estimate for loading a library file with these settings (defaults: its remembered settings). */
  estimateFit(path: string, options?: FitRequest): Promise<FitEstimate>;
  /** Loads a file the library lists; refused with MODEL_TOO_LARGE when it cannot fit, unless `force`. */
  loadModel(path: string, options?: { force?: boolean }): Promise<ModelInfo>;
  /** Per-model settings of a library file, applied when it is loaded (again). */
  updateModelSettings(path: string, patch: ModelSettingsUpdate): Promise<ModelSettings>;
  /** Deletes a file in the models folder (never one outside it, never the loaded one). */
  deleteModel(path: string): Promise<void>;
  /** Starts a download: an http(s) URL, hf:user/repo/file.gguf or hf:user/repo:QUANT. */
  startDownload(uri: string): Promise<DownloadState>;
  pauseDownload(id: string): Promise<DownloadState>;
  resumeDownload(id: string): Promise<DownloadState>;
  /** Stops a download and removes its partial file. */
  cancelDownload(id: string): Promise<DownloadState>;
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
  /** The local API (absent in a store written before it existed: the defaults apply). */
  localApi?: LocalApiSettings;
  /** The models folder; null: <data folder>/models. */
  modelsDir: string | null;
}

/** What the renderer may change directly (the pruning goes through setPolicy, the model through opening one). */
export type AppSettingsUpdate = Pick<AppSettings, "maxChats" | "threads" | "theme" | "modelsDir">;

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

/** One setting of the pruning check (electron/prune-check): how close it stays to policy off on this model. */
export interface PruneSettingResult {
  /** e.g. "gentle", "slider 0.75", "budget 25%". */
  name: string;
  setting: AggressivenessSetting;
  /** The effective policy on this model, in words. */
  description: string;
  /** Share of teacher-forced decode positions whose top-1 token equals policy off's. */
  agreement: number;
  /** The same per kind of probe prompt ("conversation", "arithmetic", "code", "prose", "long"). */
  agreementByKind?: Record<string, number>;
  /** KL(off || setting) over the next-token distributions: mean and 95th percentile. */
  klMean: number;
  klP95: number;
  /** Mean distinct experts per MoE layer per batched decode step, after selection. */
  distinctAfter: number;
  /** 1 - distinct experts per layer per step after selection / the plain top-k union of the same steps. */
  distinctReduction: number;
  /** Share of expert weight bytes per decode step not read, against off. */
  bytesSaved: number;
  /** Decode throughput against off, measured in the same run. */
  speedup: number;
}

/** What the pruning check measured on one model file; Auto is the most aggressive setting within the thresholds. */
export interface PruneProfile {
  measuredAt: number;
  quick: boolean;
  /** Concurrent chats (lanes) of the batched decode steps. */
  chats: number;
  thresholds: { agreement: number; klMean: number };
  /** Teacher-forced positions compared per setting. */
  positions: number;
  /** Mean distinct experts per MoE layer per step under off (the plain top-k union at this batch size). */
  distinctOff: number;
  settings: PruneSettingResult[];
  auto: PruneSettingResult | null;
  seconds: number;
}

export interface PruneCheckOptions {
  /** Fewer prompts and shorter answers (about a third of the time). */
  quick?: boolean;
}

export interface PruneCheckProgress {
  /** "waiting" for running answers to end, "reference" answers with pruning off, then one "setting" pass each. */
  phase: "waiting" | "reference" | "setting";
  /** 0..1 over the whole check. */
  fraction: number;
  /** e.g. "Balanced (4 of 12)". */
  message: string;
}

export interface PruneCheckState {
  /** False for a dense model: nothing to prune, nothing to check. */
  applicable: boolean;
  status: "idle" | "running" | "done" | "cancelled" | "failed";
  progress: PruneCheckProgress | null;
  /** Why the last check failed. */
  error: string | null;
  /** The loaded model's stored profile (null until one was measured). */
  profile: PruneProfile | null;
}

/** Settings remembered per model file (keyed by its content fingerprint) and applied when it is loaded again. */
export interface ModelSettings {
  contextSize: number | null;
  maxChats: number | null;
  threads: number | null;
  /** The pruning setting to apply when this model loads; null: keep the app's current one. */
  defaultPruning: AggressivenessSetting | null;
  /** The latest pruning check of this file; null until one ran. */
  pruneProfile: PruneProfile | null;
}
/** The OpenAI-compatible local API's settings (docs/api.md). The key is not the web UI's token. */
export interface LocalApiSettings {
  enabled: boolean;
  /** Address to bind: 127.0.0.1 by default; any non-loopback address requires apiKey. */
  host: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** "Authorization: Bearer KEY" every request must carry; null: none (loopback only). */
  apiKey: string | null;
}

export const defaultLocalApiSettings: LocalApiSettings = { enabled: false, host: "127.0.0.1", port: 1234, apiKey: null };

/** One API request in flight. */
export interface LocalApiRequest {
  id: string;
  endpoint: string;
  /** The client's address and user agent. */
  client: string;
  state: "queued" | "generating";
  startedAt: number;
  /** Tokens generated so far (all choices). */
  tokens: number;
  tokensPerSecond: number;
}

export interface LocalApiState {
  settings: LocalApiSettings;
  running: boolean;
  /** The base URL clients use (http://HOST:PORT/v1) while running. */
  url: string | null;
  /** Why it is not running although enabled (a port in use, ...). */
  error: string | null;
  requests: LocalApiRequest[];
}

/**
 * Telemetry chat ids of the API's generations: `api-<request id>-<choice>`. They are sequences of the same engine
 * as the tabs' chats (same batches, same pruning), shown in the UI as API requests.
 */
export const apiGenerationPrefix = "api-";

export const maxChatsLimit = 16;
export const maxMessageLength = 100_000;

/** What the renderer may change of a model's settings (the pruning check writes pruneProfile itself). */
export type ModelSettingsUpdate = Partial<Omit<ModelSettings, "pruneProfile">>;

/** Facts about a GGUF file read from its header (after the preflight), for the library. */
export interface ModelDetails {
  name: string;
  architecture: string;
  /** Total parameters (all experts). */
  parameters: number;
  /** e.g. "Q4_K_M" (the file type), or the dominant tensor type. */
  quantization: string;
  /** The training context length. */
  contextLength: number;
  layers: number;
  isMoE: boolean;
  /** 0 for dense models. */
  experts: number;
  expertsPerToken: number;
  moeLayers: number;
  /** Batch-aware expert pruning applies (MoE models only). */
  pruningApplies: boolean;
}

export interface FitRequest {
  /** Context tokens per chat. */
  contextSize?: number;
  /** Concurrent chats (sequences of the context). */
  maxChats?: number;
}

/** node-llama-cpp's GgufInsights estimate for a load, against this machine's free memory. */
export interface FitEstimate {
  contextSize: number;
  maxChats: number;
  /** Layers offloaded to a GPU (0 on a CPU build). */
  gpuLayers: number;
  /** RAM for the weights (mmap off) and for the context (KV cache, compute buffers), bytes. */
  weightsBytes: number;
  contextBytes: number;
  totalBytes: number;
  /** GPU memory, bytes (0 on a CPU build). */
  vramBytes: number;
  /** Memory free for the load: available RAM now plus what unloading the current model gives back. */
  availableBytes: number;
  machineBytes: number;
  fits: boolean;
  /** One line: why it fits or not, with the numbers. */
  summary: string;
}

export interface LibraryModel {
  path: string;
  fileName: string;
  /** In the models folder, or only in the recent list (opened from elsewhere). */
  origin: "folder" | "recent";
  sizeBytes: number;
  /** null when the file is broken (see error). */
  details: ModelDetails | null;
  error: { code: EngineErrorCode; message: string } | null;
  /** With the file's remembered settings; null for broken files. */
  fit: FitEstimate | null;
  settings: ModelSettings | null;
  loaded: boolean;
}

export type DownloadStatus = "starting" | "downloading" | "paused" | "verifying" | "done" | "failed" | "cancelled";

export interface DownloadState {
  id: string;
  uri: string;
  /** Known once the source answered. */
  fileName: string | null;
  status: DownloadStatus;
  downloadedBytes: number;
  totalBytes: number;
  /** 0-100. */
  percent: number;
  bytesPerSecond: number;
  /** null while unknown. */
  etaSeconds: number | null;
  /** The sha256 the source gave (verified at the end), or null. */
  expectedSha256: string | null;
  /** The file in the models folder once done. */
  path: string | null;
  error: { code: EngineErrorCode; message: string } | null;
  createdAt: number;
  updatedAt: number;
}

/** A model of the curated list: real repositories and files (see electron/models/curated.ts for how each was checked). */
export interface CuratedModel {
  id: string;
  name: string;
  /** Hugging Face repository of the GGUF files. */
  repo: string;
  /** The recommended file and its quantisation. */
  file: string | null;
  quantization: string;
  /** What the download box gets; null when no GGUF file could be verified. */
  uri: string | null;
  sizeBytes: number;
  totalParams: string;
  activeParams: string;
  experts: number;
  expertsPerToken: number;
  /** Weights (file size) plus the KV cache of one 4096-token chat (f16), bytes. */
  memoryEstimateBytes: number;
  /** Whether that estimate fits this machine's free memory now. */
  fits: boolean;
  verified: string;
}

export interface ModelLibraryState {
  /** null without a data folder. */
  modelsDir: string | null;
  models: LibraryModel[];
  downloads: DownloadState[];
  curated: CuratedModel[];
  memory: { machineBytes: number; availableBytes: number };
  /** false on a CPU build, else the GPU type. */
  gpu: string | false;
}

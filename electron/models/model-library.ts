// The model library: the GGUF files of the models folder and the recent list, each described (or listed broken with
// its typed error), with a fit estimate for its remembered settings; the per-model settings; and the downloads.
// One instance per host (or CLI run). It never loads a model: the engine does, after the host asked checkFit.
import fs from "node:fs";
import path from "node:path";
import type { Llama } from "node-llama-cpp";
import type {
  FitEstimate,
  FitRequest,
  HostEvent,
  LibraryModel,
  ModelLibraryState,
  ModelSettings,
  ModelSettingsUpdate,
} from "../api/contract.js";
import { maxChatsLimit } from "../api/contract.js";
import { EngineError, toEngineError } from "../engine/errors.js";
import { loadPatchedLlama } from "../engine/load-llama.js";
import { inspectModelFile } from "../engine/model-file.js";
import { modelFingerprint, type ModelSettingsStore } from "../store/model-settings.js";
import { curatedModels } from "./curated.js";
import { DownloadManager, stagingFolderName } from "./downloads.js";
import { estimateFit } from "./fit.js";
import { readMemory, type MemoryInfo } from "./memory.js";
import { describeModelFile, type DescribedModel } from "./model-details.js";

/** Files listed from the models folder at most (it is read without recursion). */
const maxFolderFiles = 500;
/** Described files kept in memory (GgufInsights holds node-llama-cpp's simulation session per file). */
const maxCached = 64;

export interface ModelLibraryOptions {
  modelsDir: string;
  /** downloads.json lives here; null: downloads are not remembered across restarts. */
  stateDir: string | null;
  settings: ModelSettingsStore | null;
  /** Paths of models opened from elsewhere, newest first. */
  recent?: () => string[];
  /** The model the engine has loaded now (never deleted, marked in the list). */
  loadedPath?: () => string | null;
  /** Bytes the current model frees when it is unloaded (counted as available for a switch). */
  releasableBytes?: () => number;
  events?: (event: HostEvent) => void;
  llama?: () => Promise<Llama>;
  memory?: () => MemoryInfo;
  huggingFaceEndpoint?: string;
  progressIntervalMs?: number;
  stallTimeoutMs?: number;
  /** Resume downloads the last run left unfinished (default true). */
  autoResume?: boolean;
}

interface CacheEntry {
  key: string;
  described: DescribedModel | null;
  error: EngineError | null;
  fingerprint: string | null;
}

export class ModelLibrary {
  readonly downloads: DownloadManager;
  private dir: string;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly memory: () => MemoryInfo;

  private constructor(private readonly options: ModelLibraryOptions) {
    this.dir = path.resolve(options.modelsDir);
    fs.mkdirSync(this.dir, { recursive: true });
    this.memory = options.memory ?? readMemory;
    this.downloads = new DownloadManager({
      modelsDir: () => this.dir,
      stateFile: options.stateDir ? path.join(options.stateDir, "downloads.json") : null,
      verifyFile: async (file) => {
        await inspectModelFile(file);
      },
      onChange: (download) => options.events?.({ type: "download.progress", download }),
      onFinished: () => options.events?.({ type: "library.changed" }),
      ...(options.huggingFaceEndpoint ? { huggingFaceEndpoint: options.huggingFaceEndpoint } : {}),
      ...(options.progressIntervalMs !== undefined ? { progressIntervalMs: options.progressIntervalMs } : {}),
      ...(options.stallTimeoutMs !== undefined ? { stallTimeoutMs: options.stallTimeoutMs } : {}),
    });
  }

  static open(options: ModelLibraryOptions): ModelLibrary {
    const library = new ModelLibrary(options);
    if (options.autoResume ?? true) {
      for (const id of library.downloads.interrupted()) void library.downloads.resume(id).catch(() => {});
    }
    return library;
  }

  get modelsDir(): string {
    return this.dir;
  }

  /**
   * Points the library at another folder (downloads in progress finish where they started). A folder the user picked
   * must exist (nothing is created where a page says); the default one is created.
   */
  setModelsDir(dir: string, options: { create?: boolean } = {}) {
    if (!path.isAbsolute(dir)) throw new EngineError("INVALID_INPUT", `the models folder must be an absolute path, not ${JSON.stringify(dir)}`);
    const resolved = path.resolve(dir);
    if (options.create) fs.mkdirSync(resolved, { recursive: true });
    let isDirectory = false;
    try {
      isDirectory = fs.statSync(resolved).isDirectory();
    } catch {
      throw new EngineError("INVALID_INPUT", `the models folder ${resolved} does not exist`);
    }
    if (!isDirectory) throw new EngineError("INVALID_INPUT", `${resolved} is not a folder`);
    this.dir = resolved;
    this.options.events?.({ type: "library.changed" });
  }

  /** Every GGUF of the folder (no recursion, the staging folder excluded) and of the recent list. */
  files(): Array<{ path: string; origin: "folder" | "recent" }> {
    const seen = new Set<string>();
    const out: Array<{ path: string; origin: "folder" | "recent" }> = [];
    let names: string[] = [];
    try {
      names = fs.readdirSync(this.dir).filter((n) => n.toLowerCase().endsWith(".gguf") && n !== stagingFolderName).sort().slice(0, maxFolderFiles);
    } catch {
      // a missing folder lists nothing
    }
    for (const name of names) {
      const file = path.join(this.dir, name);
      try {
        if (!fs.statSync(file).isFile()) continue;
      } catch {
        continue;
      }
      seen.add(file);
      out.push({ path: file, origin: "folder" });
    }
    const loaded = this.options.loadedPath?.() ?? null;
    for (const p of [...(loaded ? [loaded] : []), ...(this.options.recent?.() ?? [])]) {
      const file = path.resolve(p);
      if (seen.has(file) || !fs.existsSync(file)) continue;
      seen.add(file);
      out.push({ path: file, origin: "recent" });
    }
    return out;
  }

  async list(): Promise<ModelLibraryState> {
    const memory = this.memory();
    const models: LibraryModel[] = [];
    for (const file of this.files()) models.push(await this.entry(file.path, file.origin, memory));
    const llama = await this.llama().catch(() => null);
    return {
      modelsDir: this.dir,
      models,
      downloads: this.downloads.list(),
      curated: curatedModels(memory.availableBytes),
      memory,
      gpu: llama ? llama.gpu : false,
    };
  }

  /** One file, described (or with the typed error that makes it unusable). */
  async info(file: string): Promise<LibraryModel> {
    const resolved = path.resolve(file);
    const origin = path.dirname(resolved) === this.dir ? "folder" : "recent";
    return this.entry(resolved, origin, this.memory());
  }

  /** Throws the typed error of a broken file, else its description. */
  async describe(file: string): Promise<DescribedModel> {
    const entry = await this.cached(path.resolve(file));
    if (entry.error) throw entry.error;
    return entry.described!;
  }

  /** The settings a load of this file uses: its remembered ones, then the app's, then the engine's defaults. */
  settingsFor(file: string): ModelSettings {
    const store = this.options.settings;
    if (!store) return { contextSize: null, maxChats: null, threads: null, defaultPruning: null, pruneProfile: null };
    return store.get(modelFingerprint(path.resolve(file)));
  }

  updateSettings(file: string, patch: ModelSettingsUpdate): ModelSettings {
    const store = this.options.settings;
    if (!store) throw new EngineError("INVALID_INPUT", "per-model settings are not saved here: start with a data folder (--data-dir)");
    const resolved = path.resolve(file);
    const size = fs.statSync(resolved).size;
    // the pruning check owns pruneProfile: a patch from the renderer cannot touch it
    const { pruneProfile: _ignored, ...allowed } = patch as ModelSettingsUpdate & { pruneProfile?: unknown };
    void _ignored;
    const next = store.update(modelFingerprint(resolved), allowed, { path: resolved, size });
    this.options.events?.({ type: "library.changed" });
    return next;
  }

  /** The fit estimate for `request`, filled from the file's settings and the engine's defaults. */
  async estimate(file: string, request: FitRequest = {}, appDefaults: { maxChats?: number | null } = {}): Promise<FitEstimate> {
    const described = await this.describe(file);
    return this.estimateFor(described, this.resolveRequest(file, described, request, appDefaults), this.memory());
  }

  /** Refuses a load that cannot fit, with the numbers, unless `force`. Returns the estimate either way. */
  async checkFit(file: string, request: FitRequest, options: { force?: boolean } = {}): Promise<FitEstimate> {
    const fit = await this.estimate(file, request);
    if (!fit.fits && !options.force) {
      throw new EngineError("MODEL_TOO_LARGE", `${path.basename(file)} ${fit.summary}. Lower the context or the chats in its settings, or load it anyway (force).`);
    }
    return fit;
  }

  /** Deletes a model of the models folder; refuses others and the loaded one. */
  remove(nameOrPath: string): string {
    const candidate = path.isAbsolute(nameOrPath) ? path.resolve(nameOrPath) : path.join(this.dir, nameOrPath);
    if (path.dirname(candidate) !== this.dir || !candidate.toLowerCase().endsWith(".gguf")) {
      throw new EngineError("INVALID_INPUT", `only .gguf files in the models folder (${this.dir}) can be deleted`);
    }
    const loaded = this.options.loadedPath?.();
    if (loaded && path.resolve(loaded) === candidate) throw new EngineError("CHAT_BUSY", `${path.basename(candidate)} is loaded; open another model first`);
    if (!fs.existsSync(candidate)) throw new EngineError("MODEL_NOT_FOUND", `${path.basename(candidate)} is not in the models folder`);
    fs.rmSync(candidate);
    this.cache.delete(candidate);
    this.options.events?.({ type: "library.changed" });
    return candidate;
  }

  /** True when `file` is one the library lists (the host loads only those on a page's request). */
  lists(file: string): boolean {
    const resolved = path.resolve(file);
    return this.files().some((f) => f.path === resolved);
  }

  async dispose() {
    await this.downloads.dispose();
  }

  // internals

  private llama(): Promise<Llama> {
    return this.options.llama ? this.options.llama() : loadPatchedLlama().then((p) => p.llama);
  }

  private resolveRequest(file: string, described: DescribedModel, request: FitRequest, appDefaults: { maxChats?: number | null }) {
    const settings = this.options.settings ? this.settingsFor(file) : null;
    const maxChats = Math.min(maxChatsLimit, Math.max(1, request.maxChats ?? settings?.maxChats ?? appDefaults.maxChats ?? 4));
    // the engine's default (electron/engine/engine.ts): the training context, at most 4096
    const contextSize = request.contextSize ?? settings?.contextSize ?? Math.min(described.facts.trainContextLength || 4096, 4096);
    return { contextSize, maxChats };
  }

  private async estimateFor(described: DescribedModel, input: { contextSize: number; maxChats: number }, memory: MemoryInfo) {
    const loaded = this.options.loadedPath?.();
    const releasable = loaded && path.resolve(loaded) !== described.facts.path ? (this.options.releasableBytes?.() ?? 0) : 0;
    return estimateFit(described.insights, input, memory, releasable);
  }

  private async entry(file: string, origin: "folder" | "recent", memory: MemoryInfo): Promise<LibraryModel> {
    const entry = await this.cached(file);
    const loaded = this.options.loadedPath?.();
    let size = 0;
    try {
      size = fs.statSync(file).size;
    } catch {
      // listed a moment ago, gone now: shown with its error
    }
    const base = { path: file, fileName: path.basename(file), origin, sizeBytes: size, loaded: !!loaded && path.resolve(loaded) === file };
    if (!entry.described) {
      return { ...base, details: null, error: { code: entry.error!.code, message: entry.error!.message }, fit: null, settings: null };
    }
    const settings = this.options.settings && entry.fingerprint ? this.options.settings.get(entry.fingerprint) : null;
    let fit: FitEstimate | null = null;
    try {
      fit = await this.estimateFor(entry.described, this.resolveRequest(file, entry.described, {}, {}), memory);
    } catch {
      // no estimate is better than no listing
    }
    return { ...base, details: entry.described.details, error: null, fit, settings };
  }

  private async cached(file: string): Promise<CacheEntry> {
    let key = "missing";
    try {
      const st = fs.statSync(file);
      key = `${st.size}:${st.mtimeMs}`;
    } catch {
      // described as not found below
    }
    const hit = this.cache.get(file);
    if (hit && hit.key === key) {
      // most recently used last
      this.cache.delete(file);
      this.cache.set(file, hit);
      return hit;
    }
    let entry: CacheEntry;
    try {
      const described = await describeModelFile(file, await this.llama());
      entry = { key, described, error: null, fingerprint: safeFingerprint(file) };
    } catch (err) {
      entry = { key, described: null, error: toEngineError(err, "CORRUPT_GGUF"), fingerprint: null };
    }
    this.cache.set(file, entry);
    while (this.cache.size > maxCached) this.cache.delete(this.cache.keys().next().value!);
    return entry;
  }
}

function safeFingerprint(file: string): string | null {
  try {
    return modelFingerprint(file);
  } catch {
    return null;
  }
}

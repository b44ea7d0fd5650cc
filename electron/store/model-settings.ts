// Per-model settings (context size, concurrent chats, threads, default pruning, the latest pruning check), remembered
// per model file in <data dir>/models.json and applied when that file is loaded again. A file is known by a content
// fingerprint, not its path, so a moved or renamed model keeps its settings and a replaced one (same path, other
// bytes) starts afresh: a pruning check is re-measured only when the model itself changed.
// The caller holds the data folder's lock (the host opens the chat store first, which takes it).
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { ModelSettings, PruneProfile } from "../api/contract.js";
import { aggressivenessSettingSchema } from "../api/schemas.js";
import { readJsonFile, writeFileAtomic } from "./durable-fs.js";
import { StoreError } from "./store-error.js";

export const modelSettingsVersion = 1;

export const defaultModelSettings: ModelSettings = {
  contextSize: null,
  maxChats: null,
  threads: null,
  defaultPruning: null,
  pruneProfile: null,
};

const unit = z.number().finite().min(0).max(1);
const pruneSettingResultSchema = z.object({
  name: z.string().min(1).max(100),
  setting: aggressivenessSettingSchema,
  description: z.string().max(500),
  agreement: unit,
  agreementByKind: z.record(z.string().max(40), unit).optional(),
  klMean: z.number().finite().min(0),
  klP95: z.number().finite().min(0),
  distinctAfter: z.number().finite().min(0).max(1 << 16),
  distinctReduction: z.number().finite().min(-1).max(1),
  bytesSaved: z.number().finite().min(-1).max(1),
  speedup: z.number().finite().min(0),
});

export const pruneProfileSchema = z.object({
  measuredAt: z.number().finite().min(0),
  quick: z.boolean(),
  chats: z.number().int().min(1).max(64),
  thresholds: z.object({ agreement: unit, klMean: z.number().finite().min(0) }),
  positions: z.number().int().min(0),
  distinctOff: z.number().finite().min(0).max(1 << 16),
  settings: z.array(pruneSettingResultSchema).max(64),
  auto: pruneSettingResultSchema.nullable(),
  seconds: z.number().finite().min(0),
}) satisfies z.ZodType<PruneProfile>;

export const modelSettingsSchema = z.object({
  contextSize: z.number().int().min(64).max(1 << 24).nullable(),
  maxChats: z.number().int().min(1).max(16).nullable(),
  threads: z.number().int().min(1).max(1024).nullable(),
  defaultPruning: aggressivenessSettingSchema.nullable(),
  pruneProfile: pruneProfileSchema.nullable(),
}) satisfies z.ZodType<ModelSettings>;

const entrySchema = modelSettingsSchema.extend({
  /** Where the file was last loaded from, and its size: for people reading the file, not for matching. */
  path: z.string().max(4096),
  size: z.number().int().min(0),
  lastUsed: z.number().finite().min(0),
});
type Entry = z.infer<typeof entrySchema>;

const fingerprintSchema = z.string().regex(/^[0-9a-f]{32}$/);
const fileSchema = z.object({
  version: z.number().int().min(1),
  models: z.record(fingerprintSchema, entrySchema),
});

/** Models remembered at most; the least recently used are dropped beyond it. */
const maxModels = 200;
/** Bytes hashed at each end of the file: enough to tell GGUFs apart (header, metadata, last tensors) in milliseconds. */
const edgeBytes = 1 << 20;

/**
 * A model file's fingerprint: sha256 over its size, its first and its last MiB. Reading the whole file would take
 * minutes for a 20 GB model; two different GGUFs of the same size share neither their metadata nor their last tensor.
 */
export function modelFingerprint(file: string): string {
  const fd = fs.openSync(file, "r");
  try {
    const size = fs.fstatSync(fd).size;
    const hash = createHash("sha256").update(`gguf-fingerprint-v1:${size}:`);
    const read = (position: number, length: number) => {
      const buffer = Buffer.alloc(length);
      const got = fs.readSync(fd, buffer, 0, length, position);
      hash.update(buffer.subarray(0, got));
    };
    read(0, Math.min(edgeBytes, size));
    if (size > edgeBytes) read(Math.max(edgeBytes, size - edgeBytes), Math.min(edgeBytes, size - edgeBytes));
    return hash.digest("hex").slice(0, 32);
  } finally {
    fs.closeSync(fd);
  }
}

export interface ModelSettingsStore {
  readonly file: string;
  /** The settings remembered for this fingerprint (defaults when none). */
  get(fingerprint: string): ModelSettings;
  /** Merges `patch` into the file's settings and saves atomically; returns the new settings. */
  update(fingerprint: string, patch: Partial<ModelSettings>, file: { path: string; size: number }): ModelSettings;
  /** Forgets a model's settings. */
  remove(fingerprint: string): void;
}

export function openModelSettingsStore(dataDir: string, options: { log?: (message: string) => void; now?: () => number } = {}): ModelSettingsStore {
  const log = options.log ?? ((m: string) => console.warn(`[model settings] ${m}`));
  const now = options.now ?? Date.now;
  const file = path.join(path.resolve(dataDir), "models.json");
  const models = new Map<string, Entry>();

  const raw = readJsonFile(file);
  if (raw.ok) {
    const parsed = fileSchema.safeParse(raw.value);
    if (parsed.success && parsed.data.version <= modelSettingsVersion) {
      for (const [key, entry] of Object.entries(parsed.data.models)) models.set(key, entry);
    } else if (parsed.success) {
      throw new StoreError("STORE_UNSUPPORTED_VERSION", `${file} has version ${parsed.data.version}; this app reads up to ${modelSettingsVersion}`);
    } else {
      // keep what is readable: one bad entry must not cost the others
      const loose = z.object({ models: z.record(z.string(), z.unknown()) }).safeParse(raw.value);
      let kept = 0;
      for (const [key, value] of Object.entries(loose.success ? loose.data.models : {})) {
        const entry = entrySchema.safeParse(value);
        if (fingerprintSchema.safeParse(key).success && entry.success) {
          models.set(key, entry.data);
          kept++;
        }
      }
      log(`${file} did not match its schema: kept ${kept} model entries, dropped the rest`);
      preserve("invalid");
    }
  } else if (!raw.missing) {
    log(`${file} was unreadable (${raw.error}): per-model settings start from defaults`);
    preserve("unreadable");
  }

  /** Keeps a damaged file beside the new one, so nothing a user wrote by hand is silently lost. */
  function preserve(why: string) {
    try {
      fs.copyFileSync(file, `${file}.${why}-${now()}`);
    } catch {
      // best effort: the settings themselves are rebuilt either way
    }
  }

  function save() {
    const entries = [...models.entries()].sort((a, b) => b[1].lastUsed - a[1].lastUsed).slice(0, maxModels);
    models.clear();
    for (const [key, entry] of entries) models.set(key, entry);
    try {
      writeFileAtomic(file, JSON.stringify({ version: modelSettingsVersion, models: Object.fromEntries(entries) }, null, 1) + "\n");
    } catch (err) {
      throw new StoreError("STORE_IO", `could not save per-model settings to ${file}: ${(err as Error).message}`, { cause: err });
    }
  }

  const settingsOf = (entry: Entry | undefined): ModelSettings =>
    entry
      ? { contextSize: entry.contextSize, maxChats: entry.maxChats, threads: entry.threads, defaultPruning: entry.defaultPruning, pruneProfile: entry.pruneProfile }
      : { ...defaultModelSettings };

  const checkKey = (fingerprint: string) => {
    if (!fingerprintSchema.safeParse(fingerprint).success) throw new StoreError("INVALID_INPUT", "not a model fingerprint");
  };

  return {
    file,
    get(fingerprint) {
      return settingsOf(models.get(fingerprint));
    },
    update(fingerprint, patch, source) {
      checkKey(fingerprint);
      const merged = modelSettingsSchema.safeParse({ ...settingsOf(models.get(fingerprint)), ...patch });
      if (!merged.success) throw new StoreError("INVALID_INPUT", `invalid model settings: ${merged.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
      models.set(fingerprint, { ...merged.data, path: source.path, size: source.size, lastUsed: now() });
      save();
      return settingsOf(models.get(fingerprint));
    },
    remove(fingerprint) {
      if (models.delete(fingerprint)) save();
    },
  };
}

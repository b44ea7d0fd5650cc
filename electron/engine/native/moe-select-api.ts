// TypeScript bridge to the C API our llama.cpp patch exports (include/llama.h, "Batch-aware expert selection").
// koffi opens the libllama that node-llama-cpp's addon already mapped: dlopen returns the same handle, so the
// policy and statistics are shared with the running context without touching the addon.
import fs from "node:fs";
import koffi, { type LibraryHandle } from "koffi";
import { EngineError } from "../errors.js";

export const expectedApiVersion = 2;

export const MoeSelectType = { off: 0, affinity: 1, budget: 2 } as const;

/** Indexes of llama_moe_stats_counters. */
export const Counter = { decode: 0, pruned: 1, skipped: 2, routed: 3, top1Kept: 4, massRetained: 5, unkept: 6 } as const;

export interface StatsShape {
  nLayers: number;
  nExperts: number;
  expertsPerToken: number;
  moeLayers: Uint8Array;
}

export interface MoeSelectApi {
  readonly libraryPath: string;
  readonly apiVersion: number;
  setPolicy(type: number, alpha: number, beta: number, budget: number): void;
  getPolicy(): { type: number; alpha: number; beta: number; budget: number };
  setKvUnified(enabled: boolean): void;
  enableStats(enabled: boolean): void;
  resetStats(seqId: number): void;
  shape(maxLayers: number): StatsShape | null;
  seqCounts(seqId: number, dst: Uint32Array): void;
  ubatchCount(): number;
  /** Returns the ubatch size, or -1 if it is no longer held. */
  ubatch(index: number, map: Uint8Array, before: Uint16Array, after: Uint16Array, nLayers: number): number;
  counters(): Float64Array;
  batchHistogram(size: number): Float64Array;
}

/** The libllama mapped into this process (Linux: /proc/self/maps). */
export function findMappedLibllama(): string[] {
  try {
    const maps = fs.readFileSync("/proc/self/maps", "utf8");
    const paths = new Set<string>();
    for (const line of maps.split("\n")) {
      const path = line.slice(line.indexOf("/"));
      if (line.includes("/") && /\/libllama[^/]*\.(so|dylib|dll)/.test(path)) paths.add(path.trim());
    }
    return [...paths];
  } catch {
    return [];
  }
}

export function bindMoeSelectApi(libraryPath: string): MoeSelectApi {
  let lib: LibraryHandle;
  try {
    lib = koffi.load(libraryPath);
  } catch (err) {
    throw new EngineError("ENGINE_NOT_PATCHED", `cannot open ${libraryPath}: ${(err as Error).message}`);
  }

  let versionFn: () => number;
  try {
    versionFn = lib.func("int32_t llama_moe_select_api_version(void)");
  } catch {
    throw new EngineError(
      "ENGINE_NOT_PATCHED",
      `the loaded llama.cpp (${libraryPath}) is not Lynx's patched build: it lacks llama_moe_select_api_version. ` +
        "Run `npm run build:engine` to build it.",
    );
  }
  const apiVersion = versionFn();
  if (apiVersion !== expectedApiVersion) {
    throw new EngineError(
      "ENGINE_NOT_PATCHED",
      `the loaded llama.cpp patch has API version ${apiVersion}, this app needs ${expectedApiVersion}: run \`npm run build:engine\``,
    );
  }

  const set = lib.func("void llama_moe_select_set(int32_t type, float alpha, float beta, int32_t budget)");
  const get = lib.func("int32_t llama_moe_select_get(_Out_ float *alpha, _Out_ float *beta, _Out_ int32_t *budget)");
  const setKvUnified = lib.func("void llama_moe_select_set_kv_unified(bool kv_unified)");
  const enable = lib.func("void llama_moe_stats_enable(bool enable)");
  const reset = lib.func("void llama_moe_stats_reset(int32_t seq_id)");
  const shape = lib.func(
    "int32_t llama_moe_stats_shape(_Out_ int32_t *n_layer, _Out_ int32_t *n_expert, _Out_ int32_t *n_used, uint8_t *is_moe, int32_t n)",
  );
  const seqCounts = lib.func("int32_t llama_moe_stats_seq_counts(int32_t seq_id, uint32_t *dst, int32_t n)");
  const nUbatch = lib.func("int64_t llama_moe_stats_n_ubatch(void)");
  const ubatch = lib.func(
    "int32_t llama_moe_stats_ubatch(int64_t idx, uint8_t *map, uint16_t *before, uint16_t *after, int32_t n_layer)",
  );
  const counters = lib.func("int32_t llama_moe_stats_counters(double *dst, int32_t n)");
  const hist = lib.func("int32_t llama_moe_stats_batch_hist(uint64_t *dst, int32_t n)");

  return {
    libraryPath,
    apiVersion,
    setPolicy: (type, alpha, beta, budget) => set(type, alpha, beta, budget),
    getPolicy() {
      const alpha = [0];
      const beta = [0];
      const budget = [0];
      const type = get(alpha, beta, budget) as number;
      return { type, alpha: alpha[0]!, beta: beta[0]!, budget: budget[0]! };
    },
    setKvUnified: (enabled) => setKvUnified(enabled),
    enableStats: (enabled) => enable(enabled),
    resetStats: (seqId) => reset(seqId),
    shape(maxLayers) {
      const nLayer = [0];
      const nExpert = [0];
      const nUsed = [0];
      const moeLayers = new Uint8Array(maxLayers);
      if (shape(nLayer, nExpert, nUsed, moeLayers, maxLayers) === 0) return null;
      return { nLayers: nLayer[0]!, nExperts: nExpert[0]!, expertsPerToken: nUsed[0]!, moeLayers: moeLayers.slice(0, nLayer[0]!) };
    },
    seqCounts: (seqId, dst) => void seqCounts(seqId, dst, dst.length),
    ubatchCount: () => Number(nUbatch()),
    ubatch: (index, map, before, after, nLayers) => ubatch(index, map, before, after, nLayers) as number,
    counters() {
      const dst = new Float64Array(7);
      counters(dst, dst.length);
      return dst;
    },
    batchHistogram(size) {
      const raw = new BigUint64Array(size);
      hist(raw, size);
      return Float64Array.from(raw, Number);
    },
  };
}

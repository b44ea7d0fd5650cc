// The identity of a patched engine build (patch hash, cmake options, cache key), shared by the engine loader and the
// build script (tools/engine/build-engine.ts); it lives with the engine so that the engine never imports tools/.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/** Custom cmake option that carries the patch hash: it gives the patched build its own folder name. */
export const patchedCmakeOption = "LYNX_MOE_SELECT";

/**
 * cmake options of every patched build besides the patch hash; they are part of the cache key.
 * GGML_OPENMP=OFF: ggml's own thread pool, as in node-llama-cpp's prebuilt binaries. node-llama-cpp decodes on
 * libuv's worker threads, and OpenMP keeps one team per calling thread; with it, our build ran at 0.70-0.73 of the
 * prebuilt binaries at 16 chats, without it at 0.98-1.11 (docs/benchmarks.md).
 */
export const engineCmakeOptions: Readonly<Record<string, string>> = { GGML_OPENMP: "OFF" };

/**
 * What a build for distribution adds (`npm run build:engine -- --portable`): the options node-llama-cpp 3.21.1 sets
 * for its own release binaries (dist/bindings/utils/compileLLamaCpp.js, CI mode): no -march=native, the CPU backend
 * built once per instruction-set level (x64, sse42, sandybridge, haswell, skylakex, ... on x86-64) as separate
 * libggml-cpu-*.so, and ggml's backend registry loading the best one for the running CPU (GGML_BACKEND_DL).
 * node-llama-cpp's loader supports it: after loading the addon it calls ggml_backend_load_all_from_path on the
 * addon's folder when no backend is registered yet.
 */
export const portableCmakeOptions: Readonly<Record<string, string>> = { GGML_NATIVE: "OFF", GGML_BACKEND_DL: "ON", GGML_CPU_ALL_VARIANTS: "ON" };

/** native: -march=native, the default for development; portable: the build a package ships. */
export type EngineFlavor = "native" | "portable";
export const engineFlavors: readonly EngineFlavor[] = ["native", "portable"];

function flavorCmakeOptions(flavor: EngineFlavor): Record<string, string> {
  return flavor === "portable" ? { ...engineCmakeOptions, ...portableCmakeOptions } : { ...engineCmakeOptions };
}

/** Every cmake option of the patched build, as the loader must name them to find it. */
export function patchedCmakeOptions(patchHash: string, flavor: EngineFlavor = "native"): Record<string, string> {
  return { ...flavorCmakeOptions(flavor), [patchedCmakeOption]: patchHash };
}

/** `--portable` (build script) or LYNX_ENGINE_BUILD=native|portable; undefined when neither names one. */
export function flavorFromArgs(args: string[], env: NodeJS.ProcessEnv = process.env): EngineFlavor | undefined {
  if (args.includes("--portable")) return "portable";
  const value = env.LYNX_ENGINE_BUILD;
  if (value === undefined || value === "") return undefined;
  if (value === "native" || value === "portable") return value;
  throw new Error(`unknown LYNX_ENGINE_BUILD value "${value}": use native or portable`);
}

export type EngineGpu = false | "cuda" | "vulkan" | "metal";

export interface EngineBuildOptions {
  nlcVersion: string;
  patchHash: string;
  gpu: EngineGpu;
  flavor: EngineFlavor;
  key: string;
}

export function gpuFromArgs(args: string[], env: NodeJS.ProcessEnv = process.env): EngineGpu {
  const index = args.indexOf("--gpu");
  const value = index >= 0 ? args[index + 1] : env.LYNX_ENGINE_GPU;
  if (value === undefined || value === "false" || value === "cpu") return false;
  if (value === "cuda" || value === "vulkan" || value === "metal") return value;
  throw new Error(`unknown --gpu value "${value}": use false, cuda, vulkan or metal`);
}

export function engineBuildOptions(root: string, gpu: EngineGpu, flavor: EngineFlavor = "native"): EngineBuildOptions {
  const nlcVersion = (JSON.parse(fs.readFileSync(path.join(root, "node_modules", "node-llama-cpp", "package.json"), "utf8")) as { version: string }).version;
  const patch = fs.readFileSync(path.join(root, "patches", "llama-moe-select.diff"));
  const patchHash = crypto.createHash("sha256").update(patch).digest("hex").slice(0, 16);
  // the native key is what it was before portable builds existed, so existing caches stay valid
  const optionsHash = crypto.createHash("sha256").update(JSON.stringify(flavorCmakeOptions(flavor))).digest("hex").slice(0, 8);
  const flavorTag = flavor === "portable" ? "-portable" : "";
  return { nlcVersion, patchHash, gpu, flavor, key: `nlc-${nlcVersion}-patch-${patchHash}-opts-${optionsHash}-${gpu === false ? "cpu" : gpu}${flavorTag}-${process.platform}-${process.arch}` };
}

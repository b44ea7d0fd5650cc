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

/** Every cmake option of the patched build, as the loader must name them to find it. */
export function patchedCmakeOptions(patchHash: string): Record<string, string> {
  return { ...engineCmakeOptions, [patchedCmakeOption]: patchHash };
}

export type EngineGpu = false | "cuda" | "vulkan" | "metal";

export interface EngineBuildOptions {
  nlcVersion: string;
  patchHash: string;
  gpu: EngineGpu;
  key: string;
}

export function gpuFromArgs(args: string[], env: NodeJS.ProcessEnv = process.env): EngineGpu {
  const index = args.indexOf("--gpu");
  const value = index >= 0 ? args[index + 1] : env.LYNX_ENGINE_GPU;
  if (value === undefined || value === "false" || value === "cpu") return false;
  if (value === "cuda" || value === "vulkan" || value === "metal") return value;
  throw new Error(`unknown --gpu value "${value}": use false, cuda, vulkan or metal`);
}

export function engineBuildOptions(root: string, gpu: EngineGpu): EngineBuildOptions {
  const nlcVersion = (JSON.parse(fs.readFileSync(path.join(root, "node_modules", "node-llama-cpp", "package.json"), "utf8")) as { version: string }).version;
  const patch = fs.readFileSync(path.join(root, "patches", "llama-moe-select.diff"));
  const patchHash = crypto.createHash("sha256").update(patch).digest("hex").slice(0, 16);
  const optionsHash = crypto.createHash("sha256").update(JSON.stringify(engineCmakeOptions)).digest("hex").slice(0, 8);
  return { nlcVersion, patchHash, gpu, key: `nlc-${nlcVersion}-patch-${patchHash}-opts-${optionsHash}-${gpu === false ? "cpu" : gpu}-${process.platform}-${process.arch}` };
}

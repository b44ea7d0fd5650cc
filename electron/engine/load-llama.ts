// Loads node-llama-cpp with Lynx's patched llama.cpp build and binds the patch's C API.
// The patched build has its own local-build folder (a cmake option carries the patch hash), so a plain
// getLlama() elsewhere in the same project still gets the unpatched prebuilt binaries.
// Two flavors can sit side by side: native (development) and portable (what a package ships). LYNX_ENGINE_BUILD
// picks one; otherwise the native build is used when it is there, else the portable one (a package has only that).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { getLlama, LlamaLogLevel, type Llama } from "node-llama-cpp";
import type { EngineBuildInfo } from "../api/contract.js";
import { engineBuildOptions, engineFlavors, flavorFromArgs, patchedCmakeOptions, type EngineFlavor } from "./native/build-identity.js";
import { describeCpuBackend } from "./native/cpu-backend.js";
import { EngineError } from "./errors.js";
import { bindMoeSelectApi, findMappedLibllama, type MoeSelectApi } from "./native/moe-select-api.js";

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface PatchedLlama {
  llama: Llama;
  native: MoeSelectApi;
  /** llama.cpp log lines of the current model load, to explain failures. */
  recentLogs: string[];
  /** Which build was loaded and which CPU backend variant ggml picked. */
  build: EngineBuildInfo;
}

let loading: Promise<PatchedLlama> | null = null;

/** One patched llama per process: its C API state (policy, statistics) is process-global. */
export function loadPatchedLlama(): Promise<PatchedLlama> {
  loading ??= load().catch((err) => {
    loading = null;
    throw err;
  });
  return loading;
}

async function load(): Promise<PatchedLlama> {
  const { patchHash } = engineBuildOptions(projectRoot, false);
  const requested = flavorFromArgs([]);
  const recentLogs: string[] = [];
  let llama: Llama | undefined;
  let flavor: EngineFlavor = "native";
  const failures: string[] = [];
  for (const candidate of requested ? [requested] : engineFlavors) {
    try {
      llama = await getLlama({
        gpu: false,
        build: "never",
        usePrebuiltBinaries: false,
        cmakeOptions: patchedCmakeOptions(patchHash, candidate),
        progressLogs: false,
        logLevel: LlamaLogLevel.warn,
        logger(level, message) {
          recentLogs.push(message);
          if (recentLogs.length > 200) recentLogs.splice(0, recentLogs.length - 200);
          if (level === LlamaLogLevel.error && process.env.LYNX_DEBUG) process.stderr.write(`[llama] ${message}\n`);
        },
      });
      flavor = candidate;
      break;
    } catch (err) {
      failures.push(`${candidate}: ${(err as Error).message}`);
    }
  }
  if (!llama) {
    const build = requested === "portable" ? "npm run build:engine -- --portable" : "npm run build:engine";
    throw new EngineError(
      "ENGINE_NOT_PATCHED",
      `Lynx's patched llama.cpp build (patch ${patchHash}${requested ? `, ${requested}` : ""}) is not installed: run \`${build}\` (${failures.join("; ")})`,
    );
  }
  const build = describeCpuBackend(flavor, llama.systemInfo);

  const mapped = findMappedLibllama();
  const ours = mapped.find((p) => p.includes(path.sep + "localBuilds" + path.sep)) ?? mapped[0] ?? findLibllamaBesideAddon();
  if (!ours) throw new EngineError("ENGINE_NOT_PATCHED", "cannot find the libllama that node-llama-cpp loaded");
  const native = bindMoeSelectApi(ours);
  return { llama, native, recentLogs, build };
}

function findLibllamaBesideAddon(): string | undefined {
  const builds = path.join(projectRoot, "node_modules", "node-llama-cpp", "llama", "localBuilds");
  if (!fs.existsSync(builds)) return undefined;
  for (const folder of fs.readdirSync(builds)) {
    const release = path.join(builds, folder, "Release");
    if (!fs.existsSync(release)) continue;
    const lib = fs.readdirSync(release).find((f) => /^libllama.*\.(so|dylib|dll)$/.test(f));
    if (lib) return path.join(release, lib);
  }
  return undefined;
}

/** Physical cores: node-llama-cpp's default counted hyper-threads (4 on a 2-core machine), which was slower. */
export function physicalCores(): number {
  try {
    const cpuinfo = fs.readFileSync("/proc/cpuinfo", "utf8");
    const cores = new Set<string>();
    let physical = "0";
    for (const line of cpuinfo.split("\n")) {
      const [key, value = ""] = line.split(":").map((s) => s.trim());
      if (key === "physical id") physical = value;
      if (key === "core id") cores.add(`${physical}:${value}`);
    }
    if (cores.size > 0) return cores.size;
  } catch {
    // not Linux
  }
  return os.availableParallelism();
}

// Which CPU backend ggml runs: the portable build ships one libggml-cpu-<variant> per instruction-set level and
// ggml's backend registry loads the best one for this CPU; the native build links one built for the build machine.
import fs from "node:fs";
import path from "node:path";
import type { EngineBuildInfo } from "../../api/contract.js";
import type { EngineFlavor } from "./build-identity.js";

function variantOfLibrary(file: string): string | null {
  const match = /^(?:lib)?ggml-cpu-(.+?)\.(?:so|dylib|dll)$/.exec(path.basename(file));
  return match ? match[1]! : null;
}

/** The libggml-cpu-* libraries this process has mapped (Linux); empty elsewhere. */
export function mappedCpuBackends(): string[] {
  try {
    const maps = fs.readFileSync("/proc/self/maps", "utf8");
    const found = new Set<string>();
    for (const line of maps.split("\n")) {
      const slash = line.indexOf("/");
      if (slash >= 0 && variantOfLibrary(line.slice(slash).trim())) found.add(line.slice(slash).trim());
    }
    return [...found];
  } catch {
    return [];
  }
}

/** CPU features as llama.cpp's system info prints them ("CPU : SSE3 = 1 | AVX = 1 | ..."): the loaded backend's. */
export function cpuFeaturesFromSystemInfo(systemInfo: string): string[] {
  const features: string[] = [];
  for (const section of systemInfo.split(/\|/)) {
    const match = /(?:^|:)\s*([A-Z0-9_]+)\s*=\s*1\s*$/.exec(section.trim());
    if (match) features.push(match[1]!);
  }
  return features;
}

/**
 * The loaded CPU backend: for a portable build the variant ggml's registry picked (ggml_backend_load_best dlopens the
 * libggml-cpu-<variant> with the best score for this CPU; we read which one is mapped), for a native build "native".
 * Where the mapped libraries cannot be listed (not Linux) the variant is "unknown"; the features still say it.
 * (ggml logs the library it loaded at info level, but node-llama-cpp's logger did not receive that line here.)
 */
export function describeCpuBackend(flavor: EngineFlavor, systemInfo: string): EngineBuildInfo {
  const cpuFeatures = cpuFeaturesFromSystemInfo(systemInfo);
  if (flavor === "native") return { flavor, cpuVariant: "native", cpuFeatures };
  const library = mappedCpuBackends()[0];
  const cpuVariant = library ? (variantOfLibrary(library) ?? path.basename(library)) : "unknown";
  return { flavor, cpuVariant, cpuFeatures, ...(library ? { cpuLibrary: library } : {}) };
}

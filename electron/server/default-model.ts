// Where the app finds its model when the user has not picked one. Shared by web mode and Electron main.

import { existsSync } from "node:fs";
import path from "node:path";

export const bundledModelRelative = path.join("resources", "models", "default.gguf");
export const fixtureModelRelative = path.join("test", "fixtures", "models", "qwen3moe-tiny.gguf");

/**
 * The bundled default model (resources/models/default.gguf) if it exists, else the generated test
 * fixture (test/fixtures/models/qwen3moe-tiny.gguf). Extra roots (e.g. Electron's resourcesPath)
 * are searched first for the bundled model.
 */
export function resolveDefaultModelPath(projectRoot: string, extraResourceRoots: string[] = []): string {
  for (const root of extraResourceRoots) {
    const candidate = path.join(root, "models", "default.gguf");
    if (existsSync(candidate)) return candidate;
  }
  const bundled = path.join(projectRoot, bundledModelRelative);
  if (existsSync(bundled)) return bundled;
  return path.join(projectRoot, fixtureModelRelative);
}

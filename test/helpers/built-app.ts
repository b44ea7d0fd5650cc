// Builds what the packaged app runs (the renderer with vite, the Electron main and preload with esbuild) for tests
// that load the built bundles. The renderer is rebuilt only when missing: these tests look at its files, not its code.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

function run(args: string[]) {
  const result = spawnSync(process.execPath, args, { cwd: projectRoot, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
}

export function buildApp(): { main: string; preload: string } {
  if (!fs.existsSync(path.join(projectRoot, "dist", "renderer", "index.html"))) {
    run([path.join(projectRoot, "node_modules", "vite", "bin", "vite.js"), "build", "--logLevel", "warn"]);
  }
  run([path.join(projectRoot, "scripts", "build-electron.mjs")]);
  return { main: path.join(projectRoot, "dist", "electron", "main", "main.js"), preload: path.join(projectRoot, "dist", "electron", "preload.cjs") };
}

// `npm run dist`: builds the renderer, the Electron main and preload and the portable engine, then packages the app
// with electron-builder for this platform. Without Electron's runtime (it cannot be downloaded on machines without
// internet access) it still produces the app payload: electron-builder --dir with ELECTRON_DIST (an unpacked
// Electron) when given, else the same file set packed with @electron/asar into release/payload/resources.
//
//   npm run dist [-- --engine portable|native] [--out DIR] [--no-build]
//
// The last line printed is one JSON object: how it was packaged, where, and the payload's sizes.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { packPayload } from "./pack-payload.js";
import { packagedEngine, payloadRules } from "./payload-files.js";
import { payloadSizes } from "./payload-sizes.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

function log(message: string) {
  process.stderr.write(`[dist] ${message}\n`);
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const result = spawnSync(command, args, { cwd: root, stdio: ["ignore", "inherit", "inherit"], env });
  if (result.status !== 0) {
    log(`${path.basename(command)} ${args.join(" ")} failed (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
}

/** An unpacked Electron runtime: ELECTRON_DIST, or the one `npm install` downloaded into node_modules/electron/dist. */
function electronRuntime(): string | null {
  if (process.env.ELECTRON_DIST) return path.resolve(process.env.ELECTRON_DIST);
  const dist = path.join(root, "node_modules", "electron", "dist");
  return fs.existsSync(path.join(dist, "version")) ? dist : null;
}

async function main() {
  const { values } = parseArgs({
    options: { engine: { type: "string" }, out: { type: "string" }, "no-build": { type: "boolean", default: false } },
  });
  const flavor = values.engine ?? process.env.LYNX_ENGINE_BUILD ?? "portable";
  if (flavor !== "portable" && flavor !== "native") throw new Error(`--engine takes portable or native, not ${flavor}`);
  const env = { ...process.env, LYNX_ENGINE_BUILD: flavor };

  if (!values["no-build"]) {
    log("building the renderer (vite)");
    run(process.execPath, [path.join(root, "node_modules", "vite", "bin", "vite.js"), "build", "--logLevel", "warn"]);
    log("building the Electron main process and preload (esbuild)");
    run(process.execPath, [path.join(root, "scripts", "build-electron.mjs")]);
    log(`building (or restoring) the ${flavor} engine`);
    run(process.execPath, ["--import", "tsx", path.join(root, "tools", "engine", "build-engine.ts"), ...(flavor === "portable" ? ["--portable"] : [])], env);
  }
  const engine = packagedEngine(root, env);
  if (!engine.folder) throw new Error(`the ${flavor} engine build (${engine.key}) is not in node_modules/node-llama-cpp/llama/localBuilds: run npm run build:engine${flavor === "portable" ? " -- --portable" : ""}`);
  log(`engine: ${flavor} build localBuilds/${engine.folder}`);

  const electron = electronRuntime();
  let method: string;
  let resourcesDir: string;
  if (electron) {
    const outDir = path.resolve(values.out ?? path.join(root, "release"));
    const dirOnly = Boolean(process.env.ELECTRON_DIST);
    log(`electron-builder ${dirOnly ? "--dir " : ""}with the Electron runtime at ${electron}`);
    run(
      process.execPath,
      [path.join(root, "node_modules", "electron-builder", "cli.js"), ...(dirOnly ? ["--dir"] : []), "--config", "electron-builder.ts", `-c.electronDist=${electron}`, `-c.directories.output=${outDir}`],
      env,
    );
    method = dirOnly ? "electron-builder --dir" : "electron-builder";
    const unpacked = fs.readdirSync(outDir).find((name) => /-unpacked$/.test(name));
    resourcesDir = unpacked ? path.join(outDir, unpacked, "resources") : outDir;
  } else {
    log("Electron's runtime archive cannot be downloaded here (no node_modules/electron/dist, no ELECTRON_DIST): packing the app payload with @electron/asar, without installers");
    const outDir = path.resolve(values.out ?? path.join(root, "release", "payload"));
    const packed = await packPayload(root, outDir, payloadRules(root, engine.folder));
    method = "@electron/asar";
    resourcesDir = packed.resourcesDir;
  }
  const sizes = payloadSizes(resourcesDir);
  log(`payload at ${resourcesDir}: app.asar ${mb(sizes.appAsarBytes)}, app.asar.unpacked ${mb(sizes.unpackedBytes)}, models ${mb(sizes.modelsBytes)}`);
  console.log(JSON.stringify({ method, engine: flavor, engineFolder: engine.folder, resourcesDir, ...sizes }));
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

main().catch((error: unknown) => {
  log(`ERROR: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

// `npm start`: builds what is needed, then runs the Electron app if its runtime binary is installed;
// otherwise (it cannot be downloaded offline) starts web mode and opens the browser where a display exists.
//   npm start -- [--model PATH] [--port N] [--max-chats N] [--threads N] [--web]

import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const forceWeb = args.includes("--web");
const passArgs = args.filter((a) => a !== "--web");

function newestMtime(dir) {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function run(command, commandArgs) {
  const r = spawnSync(command, commandArgs, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`${command} ${commandArgs.join(" ")} failed`);
    process.exit(r.status ?? 1);
  }
}

// 1. Renderer (vite build) when missing or older than its sources.
const rendererIndex = path.join(root, "dist", "renderer", "index.html");
const rendererSources = Math.max(
  newestMtime(path.join(root, "renderer")),
  newestMtime(path.join(root, "electron", "api")),
  existsSync(path.join(root, "vite.config.ts")) ? statSync(path.join(root, "vite.config.ts")).mtimeMs : 0,
);
if (!existsSync(rendererIndex) || statSync(rendererIndex).mtimeMs < rendererSources) {
  console.log("Building the renderer…");
  run(process.execPath, [path.join(root, "node_modules", "vite", "bin", "vite.js"), "build", "--logLevel", "warn"]);
}

/** The Electron runtime binary, if `npm install` could download it. */
function electronBinary() {
  const pkg = path.join(root, "node_modules", "electron");
  const pathTxt = path.join(pkg, "path.txt");
  if (!existsSync(pathTxt)) return null;
  const rel = readFileSync(pathTxt, "utf8").trim();
  const bin = path.join(pkg, "dist", rel);
  return existsSync(bin) ? bin : null;
}

const electron = forceWeb ? null : electronBinary();
let child;
if (electron) {
  console.log("Building the Electron main process and preload…");
  run(process.execPath, [path.join(root, "scripts", "build-electron.mjs")]);
  console.log("Starting Lynx Chat (Electron)…");
  const env = { ...process.env };
  delete env.ELECTRON_RUN_AS_NODE;
  child = spawn(electron, [root, ...passArgs], { cwd: root, stdio: "inherit", env });
} else {
  if (!forceWeb) console.log("Electron runtime not installed (it cannot be downloaded offline): starting web mode");
  const serve = path.join(root, "electron", "server", "serve.ts");
  const openArgs = process.env.DISPLAY || process.env.WAYLAND_DISPLAY || process.platform !== "linux" ? ["--open"] : [];
  child = spawn(process.execPath, ["--import", "tsx", serve, ...openArgs, ...passArgs], { cwd: root, stdio: "inherit" });
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

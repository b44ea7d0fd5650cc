// llama.cpp's own tools (llama-server, llama-batched-bench), built from the same extracted and patched llama.cpp
// source node-llama-cpp ships (node_modules/node-llama-cpp/llama/llama.cpp), outside the clone and once per source:
// the references our engine and our API are compared against.
//
//   ~/.cache/lynx-chat/llama-tools/<engine build key>/bin/<tool>   the binaries (static: no shared library to find)
//   ~/.cache/lynx-chat/llama-tools/<engine build key>/build        the cmake build folder, kept for the next tool
//
// The key is the engine's (node-llama-cpp version + patch hash + cmake options), so a new patch builds new tools.
// `LYNX_LLAMA_TOOLS_CACHE` moves the cache. CLI: `npx tsx tools/llama-tools/llama-tools.ts llama-server [...]`.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { engineBuildOptions, engineCmakeOptions } from "../../electron/engine/native/build-identity.js";

export type LlamaTool = "llama-server" | "llama-batched-bench";

const root = path.resolve(import.meta.dirname, "../..");
const source = path.join(root, "node_modules", "node-llama-cpp", "llama", "llama.cpp");

/**
 * cmake options of the tools' build. Static libraries, so a binary copied out of the build folder still runs; no
 * web UI (it would be downloaded or built with npm); no curl or OpenSSL (models are local files); the engine's own
 * options (GGML_OPENMP=OFF) so the comparison is with the same ggml configuration.
 */
const toolCmakeOptions: Readonly<Record<string, string>> = {
  CMAKE_BUILD_TYPE: "Release",
  GGML_NATIVE: "ON",
  BUILD_SHARED_LIBS: "OFF",
  LLAMA_CURL: "OFF",
  LLAMA_OPENSSL: "OFF",
  LLAMA_BUILD_TESTS: "OFF",
  LLAMA_BUILD_EXAMPLES: "OFF",
  LLAMA_BUILD_TOOLS: "ON",
  LLAMA_BUILD_SERVER: "ON",
  LLAMA_BUILD_APP: "OFF",
  LLAMA_BUILD_UI: "OFF",
  LLAMA_USE_PREBUILT_UI: "OFF",
  ...engineCmakeOptions,
};

export function llamaToolsDir(): string {
  const cache = process.env.LYNX_LLAMA_TOOLS_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "lynx-chat", "llama-tools");
  return path.join(cache, engineBuildOptions(root, false).key);
}

/** Where the tool's binary is once built (it may not exist yet). */
export function llamaToolPath(tool: LlamaTool): string {
  return path.join(llamaToolsDir(), "bin", tool);
}

/** The tool's binary when it is in the cache, else null (nothing is built). */
export function cachedLlamaTool(tool: LlamaTool): string | null {
  const binary = llamaToolPath(tool);
  return fs.existsSync(binary) ? binary : null;
}

/** The command that builds the tools into the cache, for messages. */
export const buildCommand = "npm run build:llama-tools";

/**
 * The tools' binaries, building the missing ones (at nice 10; about 15 minutes on 2 shared cores the first time,
 * a minute or two for another tool once ggml is built). A lock folder keeps two processes from building at once.
 */
export function llamaTools(tools: LlamaTool[], log: (line: string) => void = (l) => process.stderr.write(`[llama-tools] ${l}\n`)): Record<LlamaTool, string> {
  const missing = tools.filter((t) => !cachedLlamaTool(t));
  if (missing.length) build(missing, log);
  return Object.fromEntries(tools.map((t) => [t, llamaToolPath(t)])) as Record<LlamaTool, string>;
}

function build(tools: LlamaTool[], log: (line: string) => void) {
  if (!fs.existsSync(path.join(source, "CMakeLists.txt"))) throw new Error(`no llama.cpp source at ${source}: run npm ci (it extracts it)`);
  for (const program of ["cmake", "c++"]) {
    if (spawnSync(program, ["--version"]).status !== 0) throw new Error(`${program} is missing (Debian: apt-get install -y cmake g++)`);
  }
  const dir = llamaToolsDir();
  const buildDir = path.join(dir, "build");
  fs.mkdirSync(path.join(dir, "bin"), { recursive: true });
  const unlock = lock(path.join(dir, "build.lock"), log);
  try {
    const still = tools.filter((t) => !cachedLlamaTool(t));
    if (!still.length) return; // another process built them while we waited
    log(`building ${still.join(", ")} from ${source} into ${dir} (once; ~15 min on 2 cores the first time)`);
    // a build folder configured from another clone's source: cmake refuses it, so configure afresh
    const cacheFile = path.join(buildDir, "CMakeCache.txt");
    if (fs.existsSync(cacheFile) && !fs.readFileSync(cacheFile, "utf8").includes(`CMAKE_HOME_DIRECTORY:INTERNAL=${source}\n`)) {
      fs.rmSync(buildDir, { recursive: true, force: true });
    }
    const generator = spawnSync("ninja", ["--version"]).status === 0 ? ["-G", "Ninja"] : [];
    run(["-S", source, "-B", buildDir, ...generator, ...Object.entries(toolCmakeOptions).map(([name, value]) => `-D${name}=${value}`)]);
    run(["--build", buildDir, "--target", ...still, "--parallel", String(os.availableParallelism())]);
    for (const tool of still) {
      // copy, then rename: a reader never sees half a binary
      const temp = `${llamaToolPath(tool)}.${process.pid}.tmp`;
      fs.copyFileSync(path.join(buildDir, "bin", tool), temp);
      fs.chmodSync(temp, 0o755);
      fs.renameSync(temp, llamaToolPath(tool));
    }
  } finally {
    unlock();
  }
}

function run(args: string[]) {
  // nice: the machine is shared; the build must not slow everyone else down
  const result = spawnSync("nice", ["-n", "10", "cmake", ...args], { stdio: ["ignore", "inherit", "inherit"] });
  if (result.status !== 0) throw new Error(`cmake ${args.join(" ")} failed (exit ${result.status})`);
}

/** A lock folder holding the owner's pid; a dead owner's lock is taken over. */
function lock(dir: string, log: (line: string) => void): () => void {
  let waitedSince = 0;
  for (;;) {
    try {
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, "pid"), String(process.pid));
      return () => fs.rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const owner = lockOwner(dir);
    if (owner !== "starting" && !alive(owner)) {
      fs.rmSync(dir, { recursive: true, force: true });
      continue;
    }
    if (!waitedSince) {
      waitedSince = Date.now();
      log(`another process (pid ${owner}) is building the tools; waiting`);
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000);
  }
}

/** The pid in the lock; "starting" while a fresh lock has none yet (its owner is about to write it). */
function lockOwner(dir: string): number | "starting" {
  try {
    return Number(fs.readFileSync(path.join(dir, "pid"), "utf8"));
  } catch {
    try {
      return Date.now() - fs.statSync(dir).mtimeMs < 10_000 ? "starting" : NaN;
    } catch {
      return NaN; // gone: try again
    }
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const wanted = process.argv.slice(2) as LlamaTool[];
  const known: LlamaTool[] = ["llama-server", "llama-batched-bench"];
  const unknown = wanted.filter((t) => !known.includes(t));
  if (!wanted.length || unknown.length) {
    console.error(`usage: npx tsx tools/llama-tools/llama-tools.ts ${known.join(" | ")} [...]`);
    process.exit(2);
  }
  const paths = llamaTools(wanted);
  console.log(JSON.stringify(paths));
}

// Builds node-llama-cpp's bundled llama.cpp with our patch (patches/llama-moe-select.diff), or restores
// the binaries from a cache outside the clone keyed by node-llama-cpp version + patch hash + build options.
//
//   npm run build:engine [-- --gpu false|cuda|vulkan|metal] [--portable] [--force]
//
// --portable (or LYNX_ENGINE_BUILD=portable): the build a package ships, for any CPU of the architecture (see
// portableCmakeOptions); it has its own folder and cache key, beside the native build used for development.
//
// The patched build lives in its own folder (a custom cmake option carries the patch hash), so node-llama-cpp's
// unpatched prebuilt binaries stay loadable beside it for comparisons.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { engineBuildOptions, flavorFromArgs, gpuFromArgs, patchedCmakeOption, patchedCmakeOptions, portableCmakeOptions, type EngineFlavor } from "../../electron/engine/native/build-identity.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const nlcDir = path.join(root, "node_modules", "node-llama-cpp");
const llamaDir = path.join(nlcDir, "llama");
const sourceDir = path.join(llamaDir, "llama.cpp");
const localBuildsDir = path.join(llamaDir, "localBuilds");

function log(message: string) {
  process.stdout.write(`[build:engine] ${message}\n`);
}

function fail(message: string): never {
  process.stderr.write(`\n[build:engine] ERROR: ${message}\n\n`);
  process.exit(1);
}

function which(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

function checkToolchain(gpu: string | false) {
  const missing: string[] = [];
  if (!which("cmake")) missing.push("cmake (Debian: apt-get install -y cmake)");
  if (!which("c++") && !which("g++") && !which("clang++")) missing.push("a C++ compiler (Debian: apt-get install -y g++)");
  if (!which("git")) missing.push("git (Debian: apt-get install -y git)");
  if (gpu === "cuda" && !which("nvcc")) missing.push("the CUDA toolkit (nvcc)");
  if (missing.length > 0) fail(`cannot build the patched llama.cpp, missing:\n  - ${missing.join("\n  - ")}`);
}

function runNlc(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const result = spawnSync(process.execPath, [path.join(nlcDir, "dist", "cli", "cli.js"), ...args], {
    cwd: root,
    env,
    stdio: "inherit",
  });
  if (result.status !== 0) fail(`node-llama-cpp ${args.join(" ")} failed (exit ${result.status})`);
}

function git(args: string[], options: { check?: boolean } = {}) {
  const result = spawnSync("git", ["-C", sourceDir, ...args], { encoding: "utf8" });
  if (options.check === false) return result.status === 0;
  if (result.status !== 0) fail(`git ${args.join(" ")} failed:\n${result.stderr}`);
  return true;
}

/** Extract the bundled source offline (if needed) and make sure our patch is applied exactly once. */
function prepareSource(patchFile: string) {
  if (!fs.existsSync(path.join(sourceDir, "CMakeLists.txt"))) {
    log("extracting llama.cpp source from node-llama-cpp's git bundle (offline)");
    runNlc(["source", "download", "--gpu", "false", "--skipBuild", "--noUsageExample"]);
  }
  if (git(["apply", "--reverse", "--check", patchFile], { check: false })) {
    log("patch already applied");
    return;
  }
  if (!git(["apply", "--check", patchFile], { check: false })) {
    log("source differs from the patch's base: extracting a fresh copy");
    fs.rmSync(sourceDir, { recursive: true, force: true });
    runNlc(["source", "download", "--gpu", "false", "--skipBuild", "--noUsageExample"]);
  }
  git(["apply", "--whitespace=nowarn", patchFile]);
  log("patch applied");
}

function copyDir(from: string, to: string) {
  fs.rmSync(to, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.cpSync(from, to, { recursive: true, verbatimSymlinks: true });
}

function main() {
  const args = process.argv.slice(2);
  if (process.env.LYNX_SKIP_ENGINE_BUILD === "1") {
    log("LYNX_SKIP_ENGINE_BUILD=1: skipping");
    return;
  }
  if (!fs.existsSync(nlcDir)) fail("node-llama-cpp is not installed: run npm install first");

  const gpu = gpuFromArgs(args);
  const flavor = flavorFromArgs(args) ?? "native";
  const force = args.includes("--force");
  const patchFile = path.join(root, "patches", "llama-moe-select.diff");
  const options = engineBuildOptions(root, gpu, flavor);
  const cacheRoot = process.env.LYNX_ENGINE_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "lynx-chat", "engine");
  const cacheDir = path.join(cacheRoot, options.key);
  const metaFile = path.join(cacheDir, "build.json");

  log(`node-llama-cpp ${options.nlcVersion}, patch ${options.patchHash}, gpu ${gpu === false ? "off (CPU)" : gpu}, ${flavor} build`);

  removeStaleBuilds(options.patchHash);

  // Source is needed even on a cache hit: fixtures read vocabularies from it, benchmarks build llama.cpp tools.
  checkToolchain(gpu);
  prepareSource(patchFile);

  if (!force && fs.existsSync(metaFile)) {
    const meta = JSON.parse(fs.readFileSync(metaFile, "utf8")) as { folder: string };
    const target = path.join(localBuildsDir, meta.folder);
    if (!fs.existsSync(path.join(target, ".lynx-key")) || fs.readFileSync(path.join(target, ".lynx-key"), "utf8") !== options.key) {
      log(`restoring cached build ${options.key} from ${cacheDir}`);
      copyDir(path.join(cacheDir, meta.folder), target);
      fs.writeFileSync(path.join(target, ".lynx-key"), options.key);
    } else {
      log("patched build is up to date");
    }
    return;
  }

  log(flavor === "portable"
    ? "building the portable patched llama.cpp (the CPU backend once per instruction-set level: 30-40 minutes on 2 cores)"
    : "building the patched llama.cpp (about 6 minutes on 2 cores)");
  const before = new Set(fs.existsSync(localBuildsDir) ? fs.readdirSync(localBuildsDir) : []);
  const started = Date.now();
  runNlc(["source", "build", "--gpu", String(gpu), "--noUsageExample"], {
    ...process.env,
    ...Object.fromEntries(Object.entries(patchedCmakeOptions(options.patchHash, flavor)).map(([name, value]) => [`NODE_LLAMA_CPP_CMAKE_OPTION_${name}`, value])),
  });
  const folder = findBuildFolder(before, options.patchHash, flavor);
  fs.writeFileSync(path.join(localBuildsDir, folder, ".lynx-key"), options.key);
  log(`built in ${((Date.now() - started) / 1000).toFixed(0)} s into localBuilds/${folder}`);

  copyDir(path.join(localBuildsDir, folder), path.join(cacheDir, folder));
  fs.writeFileSync(metaFile, JSON.stringify({ folder, ...options, builtAt: new Date().toISOString() }, null, 2));
  log(`cached at ${cacheDir}`);
}

/**
 * Patched builds of earlier patch versions only take disk space: the loader looks for the current hash. Builds of
 * the current patch with other options (native beside portable) stay.
 */
function removeStaleBuilds(patchHash: string) {
  if (!fs.existsSync(localBuildsDir)) return;
  for (const name of fs.readdirSync(localBuildsDir)) {
    const keyFile = path.join(localBuildsDir, name, ".lynx-key");
    if (fs.existsSync(keyFile) && !fs.readFileSync(keyFile, "utf8").includes(`-patch-${patchHash}-`)) {
      log(`removing the build of an earlier patch: localBuilds/${name}`);
      fs.rmSync(path.join(localBuildsDir, name), { recursive: true, force: true });
    }
  }
}

/** The folder node-llama-cpp built into: the one whose cmake cache carries our option (and the portable ones or not). */
function findBuildFolder(before: Set<string>, patchHash: string, flavor: EngineFlavor): string {
  for (const name of fs.readdirSync(localBuildsDir)) {
    const cache = path.join(localBuildsDir, name, "CMakeCache.txt");
    if (!fs.existsSync(cache)) continue;
    const text = fs.readFileSync(cache, "utf8");
    if (!text.includes(`${patchedCmakeOption}:UNINITIALIZED=${patchHash}`)) continue;
    const portable = Object.entries(portableCmakeOptions).every(([option, value]) => new RegExp(`^${option}:[A-Z]+=${value}$`, "m").test(text));
    if (portable === (flavor === "portable")) return name;
  }
  const created = fs.readdirSync(localBuildsDir).filter((name) => !before.has(name));
  if (created.length === 1) return created[0]!;
  return fail("could not find the folder node-llama-cpp built into");
}

main();

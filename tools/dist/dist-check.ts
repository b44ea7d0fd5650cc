// `npm run dist:check`: opens an app payload (resources/ with app.asar, app.asar.unpacked, models/) and verifies in
// plain Node what the packaged main process needs at run time. Fails with the list of what is missing.
//
//   npm run dist:check [-- --payload DIR] [--old-cpu] [--timeout-ms N]
//
// 1. In the archive: package.json's main, the preload, the renderer; every native library unpacked and present in
//    app.asar.unpacked; the engine build's key matching the packaged patch; the bundled model at
//    resources/models/default.gguf.
// 2. At run time: the archive is laid out as Electron shows it to the app (packed files extracted into a folder
//    named app.asar, unpacked ones linked to the payload's app.asar.unpacked, as Electron's asar support redirects
//    them) and the packaged main.js runs in plain Node with the recording `electron` stand-in
//    (tools/dist/runtime/): its imports must resolve inside the package, node-llama-cpp, the patched engine and
//    koffi's native module must load from app.asar.unpacked, the engine's start-up check must pass, the host must
//    load the bundled model, app:// must serve the renderer with its CSP, and a short chat must answer.
// --old-cpu runs step 2 under `qemu-x86_64 -cpu Nehalem` (a CPU without AVX): the portable engine must load its
// sse42 variant and answer.
// The last line printed is one JSON object.
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { extractFile, getRawHeader } from "@electron/asar";
import { payloadSizes } from "./payload-sizes.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const runtimeDir = path.join(root, "tools", "dist", "runtime");
const nativeLibrary = /\.(node|so(\.\d+)*|dylib|dll)$/;

interface AsarEntry {
  files?: Record<string, AsarEntry>;
  size?: number;
  unpacked?: boolean;
  link?: string;
}

export interface DistCheckOptions {
  /** The payload's resources folder (or a folder holding resources/). */
  payload: string;
  oldCpu?: boolean;
  timeoutMs?: number;
  /** Answer length of the check's chat. */
  maxTokens?: number;
  log?: (line: string) => void;
}

export interface DistCheckResult {
  ok: boolean;
  problems: string[];
  resourcesDir: string;
  engine: { flavor: string; key: string; cpuVariant: string | null; cpuFeatures: string[] } | null;
  chat: unknown;
  sizes: ReturnType<typeof payloadSizes>;
  seconds: number;
}

export function findResourcesDir(payload: string): string {
  const candidates = [payload, path.join(payload, "resources")];
  for (const dir of candidates) if (fs.existsSync(path.join(dir, "app.asar"))) return dir;
  throw new Error(`no app.asar in ${payload} or ${path.join(payload, "resources")}`);
}

/** Default payload: electron-builder's --dir output, else the one `npm run dist` packed itself. */
function defaultPayload(): string {
  const release = path.join(root, "release");
  const unpacked = fs.existsSync(release) ? fs.readdirSync(release).find((n) => /-unpacked$/.test(n)) : undefined;
  return unpacked ? path.join(release, unpacked) : path.join(release, "payload");
}

function archiveFiles(header: AsarEntry, prefix = ""): Array<[string, AsarEntry]> {
  const out: Array<[string, AsarEntry]> = [];
  for (const [name, entry] of Object.entries(header.files ?? {})) {
    const rel = prefix ? `${prefix}/${name}` : name;
    if (entry.files) out.push(...archiveFiles(entry, rel));
    else out.push([rel, entry]);
  }
  return out;
}

function inside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

/**
 * The archive as Electron presents it to the app: a folder named app.asar with the packed files, the unpacked ones
 * linked to the payload's app.asar.unpacked (Electron redirects reads of those), beside links to app.asar.unpacked
 * and models.
 */
function layOut(resourcesDir: string, files: Array<[string, AsarEntry]>, into: string, problems: string[]): string {
  const archive = path.join(resourcesDir, "app.asar");
  const unpackedDir = path.join(resourcesDir, "app.asar.unpacked");
  const resources = path.join(into, "resources");
  const appDir = path.join(resources, "app.asar");
  fs.mkdirSync(appDir, { recursive: true });
  for (const [rel, entry] of files) {
    const target = path.join(appDir, ...rel.split("/"));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    if (entry.unpacked) {
      const real = path.join(unpackedDir, ...rel.split("/"));
      if (!fs.existsSync(real)) problems.push(`${rel} is marked unpacked but missing from app.asar.unpacked`);
      else fs.symlinkSync(real, target);
    } else if (entry.link) {
      fs.symlinkSync(path.relative(path.dirname(rel), entry.link), target);
    } else {
      fs.writeFileSync(target, extractFile(archive, rel));
    }
  }
  if (fs.existsSync(unpackedDir)) fs.symlinkSync(unpackedDir, path.join(resources, "app.asar.unpacked"));
  if (fs.existsSync(path.join(resourcesDir, "models"))) fs.symlinkSync(path.join(resourcesDir, "models"), path.join(resources, "models"));
  return resources;
}

function staticChecks(resourcesDir: string, files: Array<[string, AsarEntry]>, problems: string[]) {
  const archive = path.join(resourcesDir, "app.asar");
  const byPath = new Map(files);
  const pkgEntry = byPath.get("package.json");
  let main = "";
  if (!pkgEntry) problems.push("package.json is not in app.asar");
  else {
    const pkg = JSON.parse(extractFile(archive, "package.json").toString("utf8")) as { main?: string; type?: string };
    main = (pkg.main ?? "index.js").replace(/^\.\//, "");
    if (!byPath.has(main)) problems.push(`package.json's main (${main}) is not in app.asar`);
    if (pkg.type !== "module") problems.push('package.json must say "type": "module" (main.js is an ES module)');
  }
  for (const need of ["dist/electron/preload.cjs", "dist/renderer/index.html", "patches/llama-moe-select.diff"]) {
    if (!byPath.has(need)) problems.push(`${need} is not in app.asar`);
  }
  for (const [rel, entry] of files) {
    if (nativeLibrary.test(rel) && !entry.unpacked) problems.push(`native library ${rel} is inside app.asar: it cannot be loaded from there (add it to asarUnpack)`);
    if (entry.unpacked) {
      const real = path.join(resourcesDir, "app.asar.unpacked", ...rel.split("/"));
      if (fs.existsSync(real) && entry.size !== undefined && fs.statSync(real).size !== entry.size) problems.push(`${rel}: app.asar.unpacked holds ${fs.statSync(real).size} bytes, the archive says ${entry.size}`);
    }
  }
  const model = path.join(resourcesDir, "models", "default.gguf");
  if (!fs.existsSync(model)) problems.push("the bundled model resources/models/default.gguf is missing");
  else if (fs.readFileSync(model).subarray(0, 4).toString("latin1") !== "GGUF") problems.push("resources/models/default.gguf is not a GGUF file");

  // the engine build that is packaged, and whether it was built from the packaged patch
  const keys = files.filter(([rel]) => /^node_modules\/node-llama-cpp\/llama\/localBuilds\/[^/]+\/\.lynx-key$/.test(rel));
  if (keys.length !== 1) problems.push(`expected one patched engine build in the package, found ${keys.length}`);
  let engineKey = "";
  if (keys.length === 1 && byPath.has("patches/llama-moe-select.diff")) {
    const [rel, entry] = keys[0]!;
    engineKey = (entry.unpacked ? fs.readFileSync(path.join(resourcesDir, "app.asar.unpacked", ...rel.split("/"))) : extractFile(archive, rel)).toString("utf8");
    const patchHash = crypto.createHash("sha256").update(extractFile(archive, "patches/llama-moe-select.diff")).digest("hex").slice(0, 16);
    if (!engineKey.includes(`-patch-${patchHash}-`)) problems.push(`the packaged engine (${engineKey}) was not built from the packaged patch (${patchHash})`);
    const folder = rel.split("/")[4]!;
    if (!byPath.has(`node_modules/node-llama-cpp/llama/localBuilds/${folder}/Release/llama-addon.node`)) problems.push(`the engine build ${folder} has no Release/llama-addon.node`);
  }
  return { main, engineKey };
}

interface DriverReport {
  errors?: string[];
  model?: { ok: boolean; value?: { path: string; engineBuild?: { flavor: string; cpuVariant: string; cpuFeatures: string[]; cpuLibrary?: string } } };
  protocol?: { index?: { status: number; csp: string | null }; assets?: Array<{ path: string; status: number }>; escape?: number };
  preload?: { exposedKeys: string[]; requires: string[] };
  mapped?: Record<string, string[]> | null;
  chat?: { text?: string; stopReason?: string; tokens?: number | null; error?: unknown };
  exitCode?: number | null;
}

function runDriver(command: string[], env: NodeJS.ProcessEnv, timeoutMs: number, log: (line: string) => void): Promise<{ code: number | null; report: DriverReport | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command[0]!, command.slice(1), { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (stderr.length > 20_000) stderr = stderr.slice(-20_000);
    });
    const timer = setTimeout(() => {
      log(`the packaged main did not finish within ${timeoutMs / 1000} s: stopping it`);
      child.kill("SIGKILL");
    }, timeoutMs + 30_000);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split("\n").at(-1) ?? "";
      let report: DriverReport | null = null;
      try {
        report = JSON.parse(last) as DriverReport;
      } catch {
        // no report: the process died (e.g. Illegal instruction)
      }
      resolve({ code: code ?? (signal === "SIGILL" ? 132 : -1), report, stderr });
    });
  });
}

export async function distCheck(options: DistCheckOptions): Promise<DistCheckResult> {
  const started = Date.now();
  const log = options.log ?? (() => {});
  const resourcesDir = findResourcesDir(path.resolve(options.payload));
  const problems: string[] = [];
  const header = getRawHeader(path.join(resourcesDir, "app.asar")).header as AsarEntry;
  const files = archiveFiles(header);
  const { main, engineKey } = staticChecks(resourcesDir, files, problems);
  const flavor = engineKey.includes("-portable-") ? "portable" : "native";
  log(`payload ${resourcesDir}: ${files.length} files in app.asar, ${files.filter(([, e]) => e.unpacked).length} unpacked, engine ${engineKey || "?"}`);

  const work = fs.mkdtempSync(path.join(os.tmpdir(), "lynx-dist-check-"));
  let engine: DistCheckResult["engine"] = null;
  let chat: unknown = null;
  try {
    const resources = layOut(resourcesDir, files, work, problems);
    const appDir = path.join(resources, "app.asar");
    const resolveLog = path.join(work, "resolved.txt");
    const userData = path.join(work, "user-data");
    fs.mkdirSync(userData);
    // Electron loads an unpacked module under its app.asar path (its asar support redirects the read), so module
    // resolution starts inside the archive: --preserve-symlinks keeps the linked path as the module's identity
    const nodeArgs = [
      "--preserve-symlinks",
      "--preserve-symlinks-main",
      "--import",
      path.join(runtimeDir, "register-stand-in.mjs"),
      path.join(runtimeDir, "drive-main.mjs"),
      "--main",
      path.join(appDir, ...main.split("/")),
      "--preload",
      path.join(appDir, "dist", "electron", "preload.cjs"),
      "--chat",
      "What is 2+3?",
      "--max-tokens",
      String(options.maxTokens ?? 4),
      "--timeout-ms",
      String(options.timeoutMs ?? 120_000),
    ];
    const command = options.oldCpu ? ["qemu-x86_64", "-cpu", "Nehalem", process.execPath, ...nodeArgs] : [process.execPath, ...nodeArgs];
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LYNX_STANDIN_PACKAGED: "1",
      LYNX_STANDIN_RESOURCES: resources,
      LYNX_STANDIN_APP_PATH: appDir,
      LYNX_STANDIN_USER_DATA: userData,
      LYNX_STANDIN_RESOLVE_LOG: resolveLog,
    };
    log(`running the packaged main in plain Node${options.oldCpu ? " under qemu-x86_64 -cpu Nehalem" : ""}`);
    const { code, report, stderr } = await runDriver(command, env, options.timeoutMs ?? 120_000, log);
    if (!report) {
      problems.push(`the packaged main process died (exit ${code}${code === 132 ? ": Illegal instruction" : ""}): ${stderr.trim().split("\n").slice(-5).join(" | ")}`);
    } else {
      for (const error of report.errors ?? []) problems.push(`packaged main: ${error}`);
      judgeRun(report, { resources, resourcesDir, appDir, flavor, oldCpu: options.oldCpu ?? false }, problems);
      const build = report.model?.value?.engineBuild;
      engine = { flavor: build?.flavor ?? flavor, key: engineKey, cpuVariant: build?.cpuVariant ?? null, cpuFeatures: build?.cpuFeatures ?? [] };
      chat = report.chat ?? null;
    }
    if (fs.existsSync(resolveLog)) judgeResolution(fs.readFileSync(resolveLog, "utf8").split("\n").filter(Boolean), { work, resourcesDir }, problems);
    else problems.push("no module resolution was recorded");
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return { ok: problems.length === 0, problems, resourcesDir, engine, chat, sizes: payloadSizes(resourcesDir), seconds: (Date.now() - started) / 1000 };
}

function judgeRun(report: DriverReport, where: { resources: string; resourcesDir: string; appDir: string; flavor: string; oldCpu: boolean }, problems: string[]) {
  const unpackedDir = fs.realpathSync(path.join(where.resourcesDir, "app.asar.unpacked"));
  if (report.exitCode !== null && report.exitCode !== undefined) problems.push(`the packaged main called app.exit(${report.exitCode})`);
  const model = report.model;
  if (!model?.ok || !model.value) problems.push(`the host did not load a model: ${JSON.stringify(model)}`);
  else {
    const expected = path.join(where.resources, "models", "default.gguf");
    if (model.value.path !== expected) problems.push(`the app loaded ${model.value.path}, not the bundled model at ${expected}`);
    const build = model.value.engineBuild;
    if (!build) problems.push("the model info does not say which engine build runs");
    else {
      if (build.flavor !== where.flavor) problems.push(`the engine ran the ${build.flavor} build, the package carries the ${where.flavor} one`);
      if (where.oldCpu && build.cpuVariant !== "sse42") problems.push(`on a Nehalem CPU the engine loaded the CPU variant ${build.cpuVariant}, not sse42`);
      if (build.flavor === "portable" && (!build.cpuLibrary || !inside(fs.realpathSync(build.cpuLibrary), unpackedDir))) problems.push(`the CPU backend ${build.cpuLibrary ?? "?"} was not loaded from app.asar.unpacked`);
    }
  }
  const mapped = report.mapped;
  if (mapped) {
    for (const [kind, libs] of Object.entries(mapped)) {
      if (libs.length === 0) problems.push(`no ${kind} library was loaded`);
      for (const lib of libs) if (!inside(fs.realpathSync(lib), unpackedDir)) problems.push(`${kind} was loaded from ${lib}, outside app.asar.unpacked`);
    }
  }
  const p = report.protocol;
  if (p?.index?.status !== 200) problems.push(`app://lynx/index.html answered ${p?.index?.status}`);
  if (!p?.index?.csp?.includes("default-src 'none'")) problems.push("the renderer's entry page is served without the CSP");
  for (const asset of p?.assets ?? []) if (asset.status !== 200) problems.push(`renderer asset ${asset.path} answered ${asset.status}`);
  if ((p?.assets ?? []).length === 0) problems.push("the renderer's entry page references no scripts");
  if (p?.escape === 200) problems.push("app:// served a file outside the renderer folder");
  if (JSON.stringify(report.preload?.exposedKeys) !== '["lynx"]') problems.push(`the preload exposed ${JSON.stringify(report.preload?.exposedKeys)}`);
  const chat = report.chat;
  if (!chat || chat.error || !chat.tokens) problems.push(`the chat did not answer: ${JSON.stringify(chat)}`);
}

/** Every module the packaged main resolved lies inside the package (or is the check's own stand-in). */
function judgeResolution(resolved: string[], where: { work: string; resourcesDir: string }, problems: string[]) {
  const allowed = [fs.realpathSync(where.work), fs.realpathSync(where.resourcesDir), fs.realpathSync(runtimeDir)];
  const outside = [...new Set(resolved)].filter((file) => {
    const real = fs.existsSync(file) ? fs.realpathSync(file) : file;
    return !allowed.some((dir) => inside(real, dir));
  });
  for (const file of outside.slice(0, 20)) problems.push(`the packaged main resolved a module outside the package: ${file}`);
  if (outside.length > 20) problems.push(`... and ${outside.length - 20} more modules outside the package`);
  if (!resolved.some((f) => f.includes(`${path.sep}node-llama-cpp${path.sep}`))) problems.push("node-llama-cpp was never resolved");
}

async function main() {
  const { values } = parseArgs({
    options: { payload: { type: "string" }, "old-cpu": { type: "boolean", default: false }, "timeout-ms": { type: "string" } },
  });
  const oldCpu = values["old-cpu"]!;
  const result = await distCheck({
    payload: values.payload ?? defaultPayload(),
    oldCpu,
    // qemu emulates every instruction: the model load and a few tokens take minutes there
    timeoutMs: Number(values["timeout-ms"] ?? (oldCpu ? 540_000 : 120_000)),
    log: (line) => process.stderr.write(`[dist:check] ${line}\n`),
  });
  for (const problem of result.problems) process.stderr.write(`[dist:check] MISSING: ${problem}\n`);
  process.stderr.write(`[dist:check] ${result.ok ? "passed" : `failed: ${result.problems.length} problem(s)`} in ${result.seconds.toFixed(1)} s\n`);
  console.log(JSON.stringify({ ...result, oldCpu }));
  process.exit(result.ok ? 0 : 1);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`[dist:check] ERROR: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}

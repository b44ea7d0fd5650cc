// npm run models -- list | info PATH | download URI | rm NAME   [--dir DIR] [--data-dir DIR] [--json]
// The model library headless: the same ModelLibrary the app uses (descriptions after our preflight, GgufInsights fit
// estimates, node-llama-cpp's downloader with verification and the atomic move). Progress goes to stderr on a
// terminal; with --json the last line printed is one JSON object.
import path from "node:path";
import { parseArgs } from "node:util";
import type { DownloadState, LibraryModel } from "../api/contract.js";
import { toEngineError } from "../engine/errors.js";
import { gib, ModelLibrary } from "../models/index.js";
import { defaultDataDir } from "../store/data-dir.js";
import { openModelSettingsStore } from "../store/model-settings.js";

const usage = `Usage: npm run models -- <command> [options]
  list               the models folder and its files (architecture, size, MoE, fit)
  info PATH          one file in detail (or its typed error)
  download URI       an http(s) URL, hf:user/repo/file.gguf or hf:user/repo:QUANT
  rm NAME            delete a file of the models folder
options:
  --dir DIR          models folder (default: <data dir>/models)
  --data-dir DIR     data folder (per-model settings, download list; default ${defaultDataDir()})
  --context N        context tokens for the fit estimate
  --chats N          concurrent chats for the fit estimate
  --json             print one JSON object last`;

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      dir: { type: "string" },
      "data-dir": { type: "string" },
      context: { type: "string" },
      chats: { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [command, arg] = positionals;
  if (values.help || !command) {
    console.log(usage);
    process.exit(command || values.help ? 0 : 2);
  }
  const dataDir = path.resolve(values["data-dir"] ?? defaultDataDir());
  const modelsDir = path.resolve(values.dir ?? path.join(dataDir, "models"));
  const library = ModelLibrary.open({ modelsDir, stateDir: dataDir, settings: openModelSettingsStore(dataDir), autoResume: false });
  const json = values.json;
  const request = {
    ...(values.context ? { contextSize: Number(values.context) } : {}),
    ...(values.chats ? { maxChats: Number(values.chats) } : {}),
  };
  let result: unknown;
  try {
    if (command === "list") {
      const state = await library.list();
      if (!json) {
        console.log(`models folder: ${state.modelsDir}  (memory available ${gib(state.memory.availableBytes)} of ${gib(state.memory.machineBytes)})`);
        for (const m of state.models) console.log(describe(m));
        if (state.models.length === 0) console.log("  (no GGUF files)");
      }
      result = { command, modelsDir: state.modelsDir, memory: state.memory, models: state.models };
    } else if (command === "info") {
      if (!arg) throw new Error("info needs a PATH");
      const entry = await library.info(arg);
      const fit = entry.details ? await library.estimate(arg, request) : null;
      if (!json) {
        console.log(describe(entry));
        if (entry.details) console.log(JSON.stringify(entry.details, null, 2));
        if (fit) console.log(`fit: ${fit.summary}`);
      }
      result = { command, model: { ...entry, fit } };
      if (entry.error) process.exitCode = 1;
    } else if (command === "download") {
      if (!arg) throw new Error("download needs a URI");
      const started = await library.downloads.start(arg);
      const tty = process.stderr.isTTY && !json;
      let last = 0;
      const timer = setInterval(() => {
        const s = library.downloads.get(started.id);
        if (Date.now() - last < 500) return;
        last = Date.now();
        const line = progressLine(s);
        if (tty) process.stderr.write(`\r${line}\x1b[K`);
        else if (!json) console.error(line);
      }, 250);
      const done = await library.downloads.settled(started.id);
      clearInterval(timer);
      if (tty) process.stderr.write("\n");
      if (done.status !== "done") {
        process.exitCode = 1;
        if (!json) console.error(`download ${done.status}: ${done.error?.code ?? ""} ${done.error?.message ?? ""}`);
      } else if (!json) console.log(`saved ${done.path}`);
      result = { command, download: done };
    } else if (command === "rm") {
      if (!arg) throw new Error("rm needs a NAME");
      const removed = library.remove(arg);
      if (!json) console.log(`deleted ${removed}`);
      result = { command, removed };
    } else {
      throw new Error(`unknown command ${command}\n${usage}`);
    }
  } catch (err) {
    const e = toEngineError(err);
    process.exitCode = 1;
    result = { command, error: { code: e.code, message: e.message } };
    if (!json) console.error(`${e.code}: ${e.message}`);
  } finally {
    await library.dispose();
  }
  if (json) console.log(JSON.stringify(result));
}

function describe(m: LibraryModel): string {
  if (!m.details) return `  ${m.fileName}  BROKEN ${m.error?.code}: ${m.error?.message}`;
  const d = m.details;
  const moe = d.isMoE ? `MoE ${d.experts} experts, ${d.expertsPerToken} per token` : "dense (pruning does not apply)";
  const fit = m.fit ? (m.fit.fits ? `fits (${gib(m.fit.totalBytes)})` : `DOES NOT FIT: ${m.fit.summary}`) : "";
  return `  ${m.fileName}  ${d.architecture}  ${(d.parameters / 1e9).toFixed(2)}B params  ${d.quantization}  ${gib(m.sizeBytes)}  ctx ${d.contextLength}  ${moe}  ${fit}`;
}

function progressLine(s: DownloadState): string {
  const eta = s.etaSeconds === null ? "?" : `${Math.round(s.etaSeconds)} s`;
  return `${s.fileName ?? s.uri}: ${s.status} ${s.percent.toFixed(1)}%  ${gib(s.downloadedBytes)} / ${gib(s.totalBytes)}  ${(s.bytesPerSecond / 1024 / 1024).toFixed(1)} MiB/s  ETA ${eta}`;
}

await main();
// node-llama-cpp keeps handles (its simulation sessions) that would hold the process open
process.exit(process.exitCode ?? 0);

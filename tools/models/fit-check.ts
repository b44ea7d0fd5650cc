// npm run models:fit-check [-- --model PATH]: the fit estimate of a large generated model (bench-mixtral-8x2,
// 1.5 GiB, generated into test/fixtures/models on first use, about 2.5 minutes on 2 cores) against llama.cpp's
// allocations and the RSS growth of a load with mmap off. Prints one JSON object last.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { parseArgs } from "node:util";
import { ModelLibrary } from "../../electron/models/index.js";
import { projectRoot } from "../../electron/engine/load-llama.js";
import { measureLoad } from "./measure-fit.js";

const { values } = parseArgs({ options: { model: { type: "string" }, context: { type: "string", default: "4096" }, chats: { type: "string", default: "4" } } });
let file = values.model;
if (!file) {
  const gen = spawnSync(process.execPath, ["--import", "tsx", path.join(projectRoot, "tools/fixtures/generate.ts"), "--only", "bench-mixtral-8x2"], { stdio: "inherit" });
  if (gen.status !== 0) process.exit(1);
  file = path.join(projectRoot, "test/fixtures/models/bench-mixtral-8x2.gguf");
}
const contextSize = Number(values.context);
const maxChats = Number(values.chats);
const library = ModelLibrary.open({ modelsDir: path.dirname(file), stateDir: null, settings: null });
const fit = await library.estimate(file, { contextSize, maxChats });
const measured = await measureLoad(file, contextSize, maxChats);
await library.dispose();
const result = {
  model: path.basename(file),
  contextSize,
  maxChats,
  estimateBytes: fit.totalBytes,
  allocatedBytes: measured.allocatedBytes,
  rssGrowthBytes: measured.rssGrowthBytes,
  estimateOverAllocated: fit.totalBytes / measured.allocatedBytes,
  estimateOverRss: fit.totalBytes / measured.rssGrowthBytes,
  withinTwentyPercentOfRss: Math.abs(fit.totalBytes / measured.rssGrowthBytes - 1) <= 0.2,
};
console.log(measured.buffers.join("\n"));
console.log(JSON.stringify(result));
process.exit(result.withinTwentyPercentOfRss ? 0 : 1);

// `npm run serve`: web mode. Loads the model into the host service and serves the renderer + API on
// 127.0.0.1 with a per-launch secret token. Node only (no electron import).
//
//   npm run serve -- [--model PATH] [--data-dir DIR] [--port N] [--max-chats N] [--threads N] [--open]

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { maxChatsLimit } from "../api/contract.js";
import { createHost } from "../host/host.js";
import { defaultDataDir } from "../store/index.js";
import { fixtureModelRelative, resolveDefaultModelPath } from "./default-model.js";
import { openInBrowser } from "./open-browser.js";
import { defaultStaticDir, projectRoot, startWebServer } from "./web-server.js";
import { intOption } from "../cli/int-option.js";

const usage = `Usage: npm run serve -- [options]
  --model PATH      GGUF model (default: the last one used, else resources/models/default.gguf, else the test fixture)
  --data-dir DIR    where chats, tabs and settings are saved (default: ${defaultDataDir()})
  --port N          TCP port on 127.0.0.1 (default 0: a free port)
  --max-chats N     chats that may generate at once (1-${maxChatsLimit})
  --threads N       CPU threads for the engine
  --static DIR      built renderer folder (default dist/renderer)
  --open            open the page in the default browser (where a display exists)
  -h, --help        this help`;

function runOrExit(args: string[]) {
  const result = spawnSync(process.execPath, args, { cwd: projectRoot, stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: "string" },
      "data-dir": { type: "string" },
      port: { type: "string" },
      "max-chats": { type: "string" },
      threads: { type: "string" },
      static: { type: "string" },
      open: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const modelPath = path.resolve(values.model ?? resolveDefaultModelPath(projectRoot));
  const port = intOption(values.port, "port", 0, 65535) ?? 0;
  const maxChats = intOption(values["max-chats"], "max-chats", 1, maxChatsLimit);
  const threads = intOption(values.threads, "threads", 1, 1024);
  const staticDir = path.resolve(values.static ?? defaultStaticDir);
  const dataDir = path.resolve(values["data-dir"] ?? defaultDataDir());

  // a fresh clone has neither the built renderer nor (without the bundled model) the fixture: make them
  if (!existsSync(modelPath) && values.model === undefined && modelPath.endsWith(fixtureModelRelative)) {
    console.log("No bundled model: generating the test fixture model (npm run fixtures) ...");
    runOrExit(["--import", "tsx", path.join(projectRoot, "tools", "fixtures", "generate.ts"), "--only", "qwen3moe-tiny"]);
  }
  if (!existsSync(modelPath)) {
    console.error(`Model not found: ${modelPath}`);
    console.error("Pass --model PATH to a GGUF model.");
    process.exit(1);
  }
  if (!existsSync(path.join(staticDir, "index.html")) && values.static === undefined) {
    console.log("Building the renderer (vite build) ...");
    runOrExit([path.join(projectRoot, "node_modules", "vite", "bin", "vite.js"), "build", "--logLevel", "warn"]);
  }
  if (!existsSync(path.join(staticDir, "index.html"))) {
    console.error(`The renderer is not built (${staticDir}): run npm run build:renderer first.`);
    process.exit(1);
  }

  console.log(`Chats are saved in ${dataDir}`);
  console.log(`Loading ${modelPath} ...`);
  const host = await createHost({
    modelPath,
    preferStoredModel: values.model === undefined,
    dataDir,
    ...(maxChats !== undefined ? { maxChats } : {}),
    ...(threads !== undefined ? { threads } : {}),
  });
  const web = await startWebServer({ host, port, staticDir, log: (m) => console.error(m) });
  console.log(`Lynx Chat (web mode) is ready. Open this URL (it contains this launch's secret token):`);
  console.log(`  ${web.url}`);
  if (values.open && !openInBrowser(web.url)) console.log("(No display found: open the URL in a browser yourself.)");

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    console.log(`\n${signal}: shutting down`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await web.close().catch(() => {});
    await host.dispose().catch(() => {});
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

main().catch((error: unknown) => {
  const code = (error as { code?: string } | null)?.code;
  console.error(`Failed to start: ${code ? `[${code}] ` : ""}${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

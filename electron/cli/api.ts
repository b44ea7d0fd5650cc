// `npm run api`: the OpenAI-compatible API, headless. Loads the model into one engine and serves it until
// SIGINT/SIGTERM (stop accepting, abort what runs, exit 0).
//
//   npm run api -- [--model PATH] [--host 127.0.0.1] [--port 1234] [--max-chats N] [--api-key KEY] [--cors ORIGIN]
import path from "node:path";
import { parseArgs } from "node:util";
import { maxChatsLimit } from "../api/contract.js";
import { EngineError } from "../engine/errors.js";
import { inspectModelFile } from "../engine/model-file.js";
import { parsePolicy } from "../engine/policy.js";
import { resolveDefaultModelPath } from "../server/default-model.js";
import { intOption } from "./int-option.js";

const projectRoot = path.resolve(import.meta.dirname, "../..");

const usage = `usage: npm run api -- [options]
  --model PATH      GGUF model (default: resources/models/default.gguf)
  --host ADDR       address to bind (default 127.0.0.1; any other needs --api-key)
  --port N          TCP port (default 1234; 0: a free port)
  --max-chats N     requests that generate at once = sequences (1-${maxChatsLimit}, default 8)
  --max-queue N     requests that may wait for a sequence (default 16; beyond: 503)
  --api-key KEY     require "Authorization: Bearer KEY" (also read from LYNX_API_KEY)
  --cors ORIGIN     allow this one browser origin (no CORS by default)
  --policy P        pruning: off | affinity:A,B | budget:M (default off)
  --threads N       CPU threads for the engine
  -h, --help        this help`;

async function main() {
  const { values } = parseArgs({
    options: {
      model: { type: "string" },
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string" },
      "max-chats": { type: "string" },
      "max-queue": { type: "string" },
      "api-key": { type: "string" },
      cors: { type: "string" },
      policy: { type: "string", default: "off" },
      threads: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const modelPath = path.resolve(values.model ?? resolveDefaultModelPath(projectRoot));
  const port = intOption(values.port, "port", 0, 65535) ?? 1234;
  const maxChats = intOption(values["max-chats"], "max-chats", 1, maxChatsLimit) ?? 8;
  const maxQueue = intOption(values["max-queue"], "max-queue", 0, 1024);
  const threads = intOption(values.threads, "threads", 1, 1024);
  const apiKey = values["api-key"] ?? process.env.LYNX_API_KEY;
  const policy = parsePolicy(values.policy!);
  const loopback = ["127.0.0.1", "::1", "localhost"].includes(values.host!);
  if (!loopback && !apiKey) {
    console.error(`binding to ${values.host} (not a loopback address) requires --api-key`);
    process.exit(2);
  }

  // a broken file is refused before the native engine is imported
  await inspectModelFile(modelPath);
  const [{ LynxEngine }, { startApiServer }] = await Promise.all([import("../engine/engine.js"), import("../openai/server.js")]);
  const engine = await LynxEngine.load({ modelPath, maxChats, ...(threads ? { threads } : {}) });
  const state = engine.setPolicy(policy);
  const server = await startApiServer(engine, {
    host: values.host!,
    port,
    ...(apiKey ? { apiKey } : {}),
    ...(maxQueue !== undefined ? { maxQueue } : {}),
    ...(values.cors ? { corsOrigin: values.cors } : {}),
  });
  console.error(`model ${engine.info.name} (${engine.info.architecture}), ${maxChats} sequences, ${engine.info.threads} threads, policy ${state.description}`);
  console.log(`OpenAI-compatible API: ${server.url}`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`${signal}: stopping`);
    // a hung native call must not keep the process alive past a few seconds
    setTimeout(() => process.exit(0), 8000).unref();
    server
      .close()
      .then(() => engine.dispose())
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        console.error(err);
        process.exit(1);
      });
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((err) => {
  if (err instanceof EngineError) console.error(`error [${err.code}]: ${err.message}`);
  else console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

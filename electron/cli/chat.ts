// Headless CLI: runs prompts as concurrent chats through the real engine and prints a routing summary.
//
//   npm run chat -- --model PATH --chats N --policy off|affinity:A,B|budget:M [--max-tokens T] [--json] [--data-dir DIR] "prompt 1" ...
import { parseArgs } from "node:util";
import type { ChatMessage, PolicySpec } from "../api/contract.js";
import { EngineError } from "../engine/errors.js";
import { inspectModelFile } from "../engine/model-file.js";
import { parsePolicy } from "../engine/policy.js";

const usage = `usage: npm run chat -- --model PATH [--chats N] [--policy off|affinity:A,B|budget:M]
                        [--max-tokens T] [--temperature X] [--threads N] [--ignore-eos] [--json]
                        [--data-dir DIR] "prompt" ...
With fewer prompts than --chats, prompts are reused round-robin.
--data-dir saves the chats (with their statistics) into that data folder: the app's History lists them.`;

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      model: { type: "string" },
      chats: { type: "string" },
      policy: { type: "string", default: "off" },
      "max-tokens": { type: "string", default: "64" },
      temperature: { type: "string", default: "0" },
      threads: { type: "string" },
      "ignore-eos": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      "data-dir": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help || !values.model) {
    console.log(usage);
    process.exit(values.help ? 0 : 2);
  }
  const prompts = positionals.length > 0 ? positionals : ["Tell me about mixtures of experts."];
  const nChats = Number(values.chats ?? prompts.length);
  if (!Number.isInteger(nChats) || nChats < 1 || nChats > 16) throw new Error("--chats must be 1..16");
  const policy: PolicySpec = parsePolicy(values.policy!);
  const maxTokens = Number(values["max-tokens"]);
  const json = values.json!;

  // a broken or hostile file is refused before node-llama-cpp and the native engine are even imported
  // (their start-up takes seconds; the check takes milliseconds)
  await inspectModelFile(values.model);
  // opened first: a data folder another process holds is refused before the model loads
  const store = values["data-dir"] ? (await import("../store/index.js")).openChatStore(values["data-dir"]) : null;
  const [{ LynxEngine }, { Counter }, { RoutingRecorder }] = await Promise.all([
    import("../engine/engine.js"),
    import("../engine/native/moe-select-api.js"),
    import("../engine/routing-recorder.js"),
  ]);
  const engine = await LynxEngine.load({
    modelPath: values.model,
    maxChats: nChats,
    ...(values.threads ? { threads: Number(values.threads) } : {}),
  });
  const policyState = engine.setPolicy(policy);
  const log = (line: string) => (json ? process.stderr : process.stdout).write(line + "\n");
  log(`model ${engine.info.name} (${engine.info.architecture}, ${engine.info.layers} layers, ` +
    (engine.info.isMoE ? `${engine.info.experts} experts, top-${engine.info.expertsPerToken})` : "dense)") +
    `, ${nChats} chats, ${engine.info.threads} threads, policy ${policyState.description}`);
  const build = engine.info.engineBuild;
  if (build) log(`engine: ${build.flavor} build, CPU backend ${build.cpuVariant}${build.cpuFeatures.length > 0 ? ` (${build.cpuFeatures.join(" ")})` : ""}`);

  const recorder = new RoutingRecorder(engine.native, engine.info.layers, engine.info.experts, () => engine.native.shape(engine.info.layers)?.moeLayers ?? null).start();
  const countersBefore = engine.native.counters();
  engine.scheduler.resetStats();

  const started = performance.now();
  let tokens = 0;
  const chats = Array.from({ length: nChats }, (_, i) =>
    engine.openChat({ title: `chat ${i + 1}`, sampling: { temperature: Number(values.temperature), topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1, maxTokens } }),
  );
  const unsubscribe = engine.subscribe((event) => {
    if (event.type === "chat.delta" && nChats === 1 && !json) process.stdout.write(event.text);
  });
  const results: ChatMessage[] = await Promise.all(
    chats.map((chat, i) =>
      chat.send(prompts[i % prompts.length]!, {
        ignoreEos: values["ignore-eos"]!,
        onToken: (generated) => {
          tokens += generated.length;
        },
      }),
    ),
  );
  unsubscribe();
  const seconds = (performance.now() - started) / 1000;
  recorder.stop();
  const summary = recorder.summary(nChats);
  const counters = engine.native.counters().map((v, i) => v - countersBefore[i]!);

  if (nChats > 1 && !json) {
    results.forEach((message, i) => log(`\n[chat ${i + 1}] ${prompts[i % prompts.length]}\n${message.text} (${message.stopReason})`));
  }
  const meanBefore = mean(summary.layers.map((l) => l.distinctBefore));
  const meanAfter = mean(summary.layers.map((l) => l.distinctAfter));
  const routed = counters[Counter.routed]!;
  log(`\nrouting summary: ${summary.decodeBatches.total} decode steps, ${summary.decodeBatches.full} with all ${nChats} chats, mean batch ${summary.decodeBatches.meanSize.toFixed(2)}`);
  if (engine.info.isMoE) {
    log(`distinct experts per layer (mean over decode batches): ${meanBefore.toFixed(2)} -> ${meanAfter.toFixed(2)} ` +
      `(${meanBefore > 0 ? ((1 - meanAfter / meanBefore) * 100).toFixed(1) : "0.0"}% fewer)`);
    for (const layer of summary.layers) {
      log(`  layer ${String(layer.layer).padStart(2)}: ${layer.distinctBefore.toFixed(2)} -> ${layer.distinctAfter.toFixed(2)} (max ${layer.distinctAfterMax})`);
    }
    if (routed > 0) {
      log(`top-1 expert kept for ${((counters[Counter.top1Kept]! / routed) * 100).toFixed(1)}% of token-layers, router mass retained ${((counters[Counter.massRetained]! / routed) * 100).toFixed(1)}%`);
    }
  } else {
    log("dense model: nothing to prune");
  }
  log(`${tokens} tokens in ${seconds.toFixed(2)} s (${(tokens / seconds).toFixed(1)} tokens/s)`);

  if (json) {
    console.log(
      JSON.stringify({
        chats: nChats,
        engineBuild: engine.info.engineBuild,
        model: { name: engine.info.name, architecture: engine.info.architecture, experts: engine.info.experts, expertsPerToken: engine.info.expertsPerToken, isMoE: engine.info.isMoE },
        decodeBatches: summary.decodeBatches,
        layers: summary.layers,
        distinctBefore: meanBefore,
        distinctAfter: meanAfter,
        tokens,
        seconds,
        tokensPerSecond: tokens / seconds,
        policy: { ...policyState.effective, description: policyState.description },
        top1Kept: routed ? counters[Counter.top1Kept]! / routed : null,
        massRetained: routed ? counters[Counter.massRetained]! / routed : null,
        fullBatchShare: engine.scheduler.stats.decodeSteps ? engine.scheduler.stats.fullSteps / engine.scheduler.stats.decodeSteps : null,
        outputs: results.map((m) => ({ text: m.text, stopReason: m.stopReason })),
      }),
    );
  }
  if (store) {
    try {
      for (const chat of chats) {
        store.createChat({ id: chat.id, title: `CLI: ${chat.messages[0]?.text.slice(0, 60) ?? chat.title}`, settings: chat.settings, ...(chat.messages[0]?.createdAt ? { createdAt: chat.messages[0].createdAt } : {}) });
        store.syncMessages(chat.id, chat.messages);
      }
      log(`saved ${chats.length} chats in ${store.dir}`);
    } finally {
      store.close();
    }
  }
  await engine.dispose();
}

function mean(values: number[]) {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0;
}

main().catch((err) => {
  if (err instanceof EngineError) console.error(`error [${err.code}]: ${err.message}`);
  else console.error(err);
  process.exit(1);
});

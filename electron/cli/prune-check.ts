// Headless pruning check: what each pruning setting costs on a model, and what Auto picks (docs/prune-check.md).
//
//   npm run prune-check -- --model PATH [--chats 8] [--quick] [--json] [--profile FILE] [--data-dir DIR]
//                          [--min-agreement 0.99] [--max-kl 0.02] [--threads N]
//
// Progress goes to stderr; the last line on stdout is one JSON object:
//   {"model", "settings": [{"name", "agreement", "klMean", "klP95", "distinctReduction", "bytesSaved", "speedup"}],
//    "auto": {"name", "agreement", "distinctReduction"}, "seconds"}
// --json prints only that line on stdout (the table goes to stderr too). --profile writes the whole profile (the
// settings as the app stores them; `npm run fidelity -- --settings-from FILE` measures the same settings).
// --data-dir stores the profile as the model's per-model settings there, as the app does.
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { EngineError } from "../engine/errors.js";
import { inspectModelFile } from "../engine/model-file.js";
import { intOption } from "./int-option.js";

const usage = `usage: npm run prune-check -- --model PATH [--chats 8] [--quick] [--json] [--profile FILE] [--data-dir DIR]
                               [--min-agreement A] [--max-kl K] [--threads N]`;

async function main() {
  const { values } = parseArgs({
    options: {
      model: { type: "string" },
      chats: { type: "string", default: "8" },
      quick: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      profile: { type: "string" },
      "data-dir": { type: "string" },
      "min-agreement": { type: "string" },
      "max-kl": { type: "string" },
      threads: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help || !values.model) {
    console.log(usage);
    process.exit(values.help ? 0 : 2);
  }
  // at least 2: the check batches decode steps
  const chats = intOption(values.chats, "chats", 2, 16)!;
  const threads = intOption(values.threads, "threads", 1, 1024);
  const [{ autoThresholds, runPruneCheck }, { LynxEngine }] = await Promise.all([import("../prune-check/index.js"), import("../engine/engine.js")]);
  const thresholds = {
    agreement: values["min-agreement"] !== undefined ? Number(values["min-agreement"]) : autoThresholds.agreement,
    klMean: values["max-kl"] !== undefined ? Number(values["max-kl"]) : autoThresholds.klMean,
  };
  if (!(thresholds.agreement >= 0 && thresholds.agreement <= 1) || !(thresholds.klMean >= 0)) throw new EngineError("INVALID_INPUT", "--min-agreement must be 0..1 and --max-kl >= 0");

  const facts = await inspectModelFile(values.model);
  const out = (line: string) => (values.json ? process.stderr : process.stdout).write(line + "\n");
  const started = performance.now();
  const engine = await LynxEngine.load({ modelPath: facts.path, maxChats: chats, ...(threads !== undefined ? { threads } : {}) });
  const log = (line: string) => process.stderr.write(line + "\n");
  log(`prune-check: ${engine.info.name} (${engine.info.architecture}, ${engine.info.layers} layers, ${engine.info.experts} experts top-${engine.info.expertsPerToken}), ` +
    `${chats} chats, ${engine.info.threads} threads${values.quick ? ", quick" : ""}`);
  let lastMessage = "";
  let outcome;
  try {
    outcome = await runPruneCheck(engine, {
      quick: values.quick!,
      thresholds,
      onProgress: (p) => {
        if (p.message === lastMessage) return;
        lastMessage = p.message;
        log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${(p.fraction * 100).toFixed(0).padStart(3)}% ${p.message}`);
      },
    });
  } finally {
    await engine.dispose();
  }
  const seconds = Math.round(((performance.now() - started) / 1000) * 10) / 10;
  const r4 = (x: number) => Math.round(x * 10000) / 10000;
  if (!outcome.applicable) {
    out(outcome.reason);
    console.log(JSON.stringify({ model: facts.name, settings: [], auto: null, seconds, note: outcome.reason }));
    return;
  }
  const { profile } = outcome;
  out(`${profile.positions} positions per setting, union under off ${profile.distinctOff.toFixed(2)} experts per layer per step`);
  out("setting              agreement  KL mean   KL p95  distinct  reduction  bytes saved  speedup");
  for (const s of profile.settings) {
    out(`${s.name.padEnd(20)} ${(s.agreement * 100).toFixed(2).padStart(8)}% ${s.klMean.toFixed(4).padStart(8)} ${s.klP95.toFixed(4).padStart(8)} ` +
      `${s.distinctAfter.toFixed(2).padStart(8)} ${(s.distinctReduction * 100).toFixed(1).padStart(9)}% ${(s.bytesSaved * 100).toFixed(1).padStart(10)}% ${s.speedup.toFixed(2).padStart(7)}x`);
  }
  const kinds = Object.keys(profile.settings[0]?.agreementByKind ?? {});
  if (kinds.length > 0) {
    out(`agreement by kind of prompt: ${"setting".padEnd(14)} ${kinds.map((k) => k.padStart(12)).join(" ")}`);
    for (const s of profile.settings) out(`${"".padEnd(29)}${s.name.padEnd(15)}${kinds.map((k) => `${((s.agreementByKind?.[k] ?? Number.NaN) * 100).toFixed(1).padStart(11)}%`).join(" ")}`);
  }
  out(`Auto (agreement >= ${thresholds.agreement}, mean KL <= ${thresholds.klMean}): ${profile.auto?.name ?? "none"}`);
  if (values.profile) {
    fs.mkdirSync(path.dirname(path.resolve(values.profile)), { recursive: true });
    fs.writeFileSync(values.profile, JSON.stringify({ model: facts.name, path: facts.path, ...profile }, null, 1) + "\n");
  }
  if (values["data-dir"]) {
    const { modelFingerprint, openModelSettingsStore } = await import("../store/model-settings.js");
    const { openChatStore } = await import("../store/index.js");
    // the chat store holds the folder's lock: nothing else writes models.json meanwhile
    const store = openChatStore(values["data-dir"]);
    try {
      openModelSettingsStore(values["data-dir"]).update(modelFingerprint(facts.path), { pruneProfile: profile }, { path: facts.path, size: facts.sizeBytes });
    } finally {
      store.close();
    }
  }
  console.log(
    JSON.stringify({
      model: facts.name,
      settings: profile.settings.map((s) => ({
        name: s.name,
        agreement: r4(s.agreement),
        klMean: r4(s.klMean),
        klP95: r4(s.klP95),
        distinctReduction: r4(s.distinctReduction),
        bytesSaved: r4(s.bytesSaved),
        speedup: Math.round(s.speedup * 100) / 100,
      })),
      auto: profile.auto ? { name: profile.auto.name, agreement: r4(profile.auto.agreement), distinctReduction: r4(profile.auto.distinctReduction) } : null,
      seconds,
    }),
  );
}

main().catch((err: unknown) => {
  const code = err instanceof EngineError ? err.code : "ERROR";
  console.error(`prune-check: [${code}] ${(err as Error).message}`);
  process.exit(1);
});

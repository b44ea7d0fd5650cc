// The kill test: starts a writer child on one data folder, SIGKILLs it at a random moment, reopens the store
// and checks that every write the child acknowledged before the kill is there, byte-identical, and that the
// store opened without an error; again and again on the same folder. The last line is one JSON object:
//   {"kills": n, "acknowledged": n, "lost": 0, "repairedTails": n, ...}
//
//   npm run test:durability [-- --kills 200 --engine-kills 30 --seed 1]
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { openChatStore } from "../../electron/store/index.js";
import { Prng } from "../fixtures/prng.js";
import type { Ack, ChildOptions } from "./writer-child.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const childScript = path.join(root, "tools", "durability", "writer-child.ts");

export interface KillTestOptions {
  /** Kills of the synthetic writer (through the store, generated text). */
  kills: number;
  /** Kills of the real engine streaming answers on the trained model. */
  engineKills: number;
  seed: number;
  modelPath: string;
  dir?: string;
  /** Longest random wait after the child is ready, ms. */
  maxDelayMs?: number;
  log?: (line: string) => void;
}

export interface KillTestResult {
  kills: number;
  engineKills: number;
  acknowledged: number;
  lost: number;
  repairedTails: number;
  /** Kills that left a compaction's temporary file behind (killed between its write and its rename). */
  killedInCompaction: number;
  /** Answers found cut off by a kill and marked interrupted. */
  interruptedAnswers: number;
  openErrors: number;
  failures: string[];
}

interface RunOutput {
  acks: Ack[];
  exitedEarly: string | null;
}

/**
 * The synthetic child bundled once into plain JavaScript: it then starts in a tenth of a second instead of a
 * second under tsx, so the kills, not the start-ups, take the test's time. (The engine child runs under tsx.)
 */
async function bundleSyntheticChild(): Promise<string> {
  const outfile = path.join(root, "node_modules", ".cache", "lynx-durability", "writer-child.mjs");
  await build({
    entryPoints: [childScript],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // only the synthetic path runs from the bundle; the engine path is never reached there
    external: ["node-llama-cpp", "koffi"],
    logLevel: "error",
  });
  return outfile;
}

function runAndKill(options: ChildOptions, delayMs: number, bundled: string | null): Promise<RunOutput> {
  return new Promise((resolve) => {
    const args = bundled ? [bundled, JSON.stringify(options)] : ["--import", "tsx", childScript, JSON.stringify(options)];
    const child = spawn(process.execPath, args, {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let buffer = "";
    let stderr = "";
    const acks: Ack[] = [];
    let timer: NodeJS.Timeout | null = null;
    let killed = false;
    let earlyError: string | null = null;
    // the parent must not kill before the child is up, nor wait forever for a child that never gets there
    const startTimeout = setTimeout(() => {
      earlyError = "the child did not become ready in 60 s";
      child.kill("SIGKILL");
    }, 60_000);
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        let value: { ready?: boolean; error?: string } & Partial<Ack>;
        try {
          value = JSON.parse(line);
        } catch {
          continue;
        }
        if (value.ready && !timer) {
          clearTimeout(startTimeout);
          timer = setTimeout(() => {
            killed = true;
            child.kill("SIGKILL");
          }, delayMs);
        } else if (value.error) {
          earlyError = value.error;
        } else if (value.ack) {
          acks.push(value as Ack);
        }
      }
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.on("exit", (code, signal) => {
      clearTimeout(startTimeout);
      if (timer) clearTimeout(timer);
      // a line torn by the kill (no newline) was never acknowledged
      const early = killed && signal === "SIGKILL" ? earlyError : (earlyError ?? `the child exited by itself (${code ?? signal}): ${stderr.trim().slice(-800)}`);
      resolve({ acks, exitedEarly: early });
    });
  });
}

export async function runKillTest(options: KillTestOptions): Promise<KillTestResult> {
  const log = options.log ?? (() => {});
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "lynx-kill-"));
  const rng = new Prng(options.seed);
  const result: KillTestResult = {
    kills: 0,
    engineKills: 0,
    acknowledged: 0,
    lost: 0,
    repairedTails: 0,
    killedInCompaction: 0,
    interruptedAnswers: 0,
    openErrors: 0,
    failures: [],
  };
  // every acknowledged message so far: chatId -> index -> text (a partial ack: the answer starts with it)
  const expected = new Map<string, Map<number, { text: string; partial: boolean; role?: string }>>();
  const remember = (ack: Ack) => {
    let chat = expected.get(ack.chatId);
    if (!chat) expected.set(ack.chatId, (chat = new Map()));
    const before = chat.get(ack.index);
    if (ack.ack === "partial") {
      if (!before || (before.partial && ack.text.length >= before.text.length)) chat.set(ack.index, { text: ack.text, partial: true });
    } else {
      chat.set(ack.index, { text: ack.text, partial: false, role: ack.role });
    }
  };

  const total = options.kills + options.engineKills;
  // the engine runs are spread among the synthetic ones
  const engineAt = new Set<number>();
  for (let i = 0; i < options.engineKills; i++) engineAt.add(Math.floor(((i + 0.5) * total) / options.engineKills));
  const maxDelay = options.maxDelayMs ?? 400;
  const bundled = options.kills > 0 ? await bundleSyntheticChild() : null;

  for (let run = 0; run < total; run++) {
    const engine = engineAt.has(run);
    const mode = engine ? "engine" : "synthetic";
    // engine runs stream for up to 2.5 s (the first answer needs the prompt processed); synthetic ones up to maxDelay
    const delay = engine ? 200 + (rng.nextU32() % 2300) : rng.nextU32() % maxDelay;
    const out = await runAndKill({ dir, mode, seed: options.seed * 100_000 + run, modelPath: options.modelPath }, delay, engine ? null : bundled);
    if (out.exitedEarly) {
      result.failures.push(`run ${run} (${mode}): ${out.exitedEarly}`);
      break;
    }
    result.kills++;
    if (engine) result.engineKills++;
    for (const ack of out.acks) remember(ack);

    const tmpLeft = fs.readdirSync(path.join(dir, "chats")).some((name) => name.endsWith(".tmp"));
    if (tmpLeft) result.killedInCompaction++;
    let store;
    try {
      store = openChatStore(dir, { log: () => {} });
    } catch (error) {
      result.openErrors++;
      result.failures.push(`run ${run}: the store did not open: ${(error as Error).message}`);
      break;
    }
    try {
      result.repairedTails += store.notices.filter((n) => n.kind === "repaired").length;
      const other = store.notices.filter((n) => n.kind !== "repaired");
      if (other.length > 0) result.failures.push(`run ${run}: unexpected notices: ${other.map((n) => n.message).join("; ")}`);
      for (const [chatId, messages] of expected) {
        const chat = store.get(chatId);
        for (const [index, want] of messages) {
          const got = chat?.messages[index];
          const ok =
            got !== undefined &&
            (want.partial
              ? got.role === "assistant" && Buffer.from(got.text).subarray(0, Buffer.byteLength(want.text)).equals(Buffer.from(want.text))
              : got.role === want.role && Buffer.from(got.text).equals(Buffer.from(want.text)));
          if (!ok) {
            result.lost++;
            if (result.failures.length < 20) {
              result.failures.push(`run ${run}: chat ${chatId} message ${index}: want ${JSON.stringify(want.text.slice(0, 60))}${want.partial ? "…" : ""}, got ${got ? JSON.stringify(got.text.slice(0, 60)) : "nothing"}`);
            }
          }
        }
      }
      result.interruptedAnswers = store.list().reduce((n, c) => n + store.get(c.id)!.messages.filter((m) => m.interrupted).length, 0);
    } finally {
      store.close();
    }
    if ((run + 1) % 25 === 0 || run === total - 1) log(`${run + 1}/${total} kills, ${countAcks(expected)} acknowledged, ${result.lost} lost, ${result.repairedTails} repaired tails`);
  }
  result.acknowledged = countAcks(expected);
  if (!options.dir) fs.rmSync(dir, { recursive: true, force: true });
  return result;
}

function countAcks(expected: Map<string, Map<number, unknown>>): number {
  let n = 0;
  for (const chat of expected.values()) n += chat.size;
  return n;
}

async function main() {
  const { values } = parseArgs({
    options: {
      kills: { type: "string", default: "200" },
      "engine-kills": { type: "string", default: "30" },
      seed: { type: "string", default: "1" },
      model: { type: "string", default: path.join(root, "resources", "models", "default.gguf") },
      dir: { type: "string" },
    },
  });
  const result = await runKillTest({
    kills: Number(values.kills),
    engineKills: Number(values["engine-kills"]),
    seed: Number(values.seed),
    modelPath: path.resolve(values.model!),
    ...(values.dir ? { dir: path.resolve(values.dir) } : {}),
    log: (line) => console.error(line),
  });
  for (const failure of result.failures) console.error(`FAIL ${failure}`);
  console.log(JSON.stringify(result));
  process.exit(result.lost === 0 && result.failures.length === 0 ? 0 : 1);
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url))) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

// Fuzzes the two doors a page can knock on, on the real host and engine: web mode (HTTP API + WebSocket, with a
// valid token) and the Electron IPC handlers (their dispatch, called directly: the Electron runtime is not here).
// Messages come from one seeded, schema-driven generator (test/helpers/fuzz-messages.ts). Invariants:
//  - every bad message gets a typed error (ApiError code, the right HTTP status), never a throw or a hang;
//  - a message reaches the host exactly when the shared zod schemas accept it;
//  - no unhandled rejection or uncaught exception in the process; no prototype pollution;
//  - a greedy chat that streams during the whole fuzz gives, round after round, exactly the answer it gave
//    alone before the fuzz (one sequence: nothing batches with it, so its tokens are deterministic);
//  - afterwards the host's chats, titles, settings and policy are what the accepted calls made them.
// A failure prints the seed and the message: LYNX_FUZZ_SEED=<seed> replays it. LYNX_FUZZ_SCALE=10 (npm run fuzz)
// sends ten times as many messages with a fresh seed.

import http from "node:http";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { ChatMessage, HostEvent } from "../../electron/api/contract.js";
import { aggressivenessSettingSchema, apiMethods, engineErrorCodes, partialChatSettingsSchema, samplingSchema } from "../../electron/api/schemas.js";
import { createHost, type LynxHost } from "../../electron/host/host.js";
import { handleIpcInvoke, type IpcDispatchContext } from "../../electron/main/ipc-dispatch.js";
import { startWebServer, WS_PATH, type WebServer } from "../../electron/server/web-server.js";
import { greedy } from "../helpers/engine.js";
import { fixture, root } from "../helpers/fixtures.js";
import { expectHttp, renderHttp, sendHttp, statusOfCode, typedErrorOf } from "../helpers/fuzz-http.js";
import { expectIpc, modelPathCases, renderIpc } from "../helpers/fuzz-ipc.js";
import { describeCase, fuzzCase } from "../helpers/fuzz-messages.js";
import { DoorModel } from "../helpers/fuzz-model.js";
import { fuzzSeed } from "../helpers/fuzz-rng.js";
import { WsFuzzLane } from "../helpers/fuzz-ws.js";

const long = process.env.LYNX_FUZZ_SCALE !== undefined && process.env.LYNX_FUZZ_SCALE !== "";
const scale = long ? Number(process.env.LYNX_FUZZ_SCALE) : 1;
/** npm test replays one fixed seed (a red run is then always reproducible); the long variant draws a new one. */
const seed = process.env.LYNX_FUZZ_SEED || long ? fuzzSeed() : 20260101;
const HTTP_MESSAGES = Math.round(9_000 * scale);
const WS_MESSAGES = Math.round(1_000 * scale);
const IPC_MESSAGES = Math.round(10_000 * scale);
/** Tokens of one sentinel round, and how far into a round the fuzz pauses to clear the queue. */
const ROUND_TOKENS = 96;
const PAUSE_AT = 0.85;
const STEP_TIMEOUT_MS = 20_000;
/** Per test: generous for this 2-core machine under load (a quiet run takes a third of it). */
const TEST_TIMEOUT_MS = 240_000 * Math.max(1, scale);
const sentinelPrompts = ["Count to five, slowly.", "Write a haiku about the sea.", "Why is the sky blue?"];

interface Failure {
  door: string;
  message: string;
  problem: string;
}

interface DoorStats {
  sent: number;
  typedErrors: number;
  byCode: Record<string, number>;
  byStatus: Record<string, number>;
  reachedHost: number;
  accepted: number;
  undeliverable: number;
  /** Answers without an API error body, by design: Node's own 400 to a cut-short request, a static-page 405, HEAD. */
  plain: Record<string, number>;
  families: Record<string, number>;
  ms: number;
}

const newStats = (): DoorStats => ({ sent: 0, typedErrors: 0, byCode: {}, byStatus: {}, reachedHost: 0, accepted: 0, undeliverable: 0, plain: {}, families: {}, ms: 0 });
const bump = (map: Record<string, number>, key: string) => (map[key] = (map[key] ?? 0) + 1);

const processProblems = { unhandledRejection: 0, uncaughtException: 0, first: [] as string[] };
const onRejection = (reason: unknown) => {
  processProblems.unhandledRejection++;
  processProblems.first.push(`unhandledRejection: ${String((reason as Error)?.stack ?? reason)}`);
};
const onException = (error: Error) => {
  processProblems.uncaughtException++;
  processProblems.first.push(`uncaughtException: ${String(error?.stack ?? error)}`);
};

/** Host method calls that arrive through a door (the fuzz's own control calls use the host directly). */
const hostCalls = { count: 0, byMethod: {} as Record<string, number> };
function countingHost(host: LynxHost): LynxHost {
  const counted = new Set<string>([...apiMethods, "openModel"]);
  return new Proxy(host, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop === "string" && counted.has(prop) && typeof value === "function") {
        return (...args: unknown[]) => {
          hostCalls.count++;
          bump(hostCalls.byMethod, prop);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return value;
    },
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

const prototypeNames = () => [Object.prototype, Array.prototype, Function.prototype, String.prototype].map((p) => Object.getOwnPropertyNames(p).sort().join(","));

/**
 * A greedy chat that streams while the fuzz runs. Its first answer (the prompt then in the KV cache) is thrown
 * away; the second, alone, is the reference; every later round regenerates it from the same cache state and
 * must match it exactly.
 */
class Sentinel {
  id = "";
  reference = "";
  streamed = 0;
  finished = true;
  /**
   * Another chat generated on the sequence (it can only between two rounds, when a queued fuzz chat gets the
   * freed sequence before the fuzz clears the queue): the next round would start from another cache state.
   */
  cacheTouched = false;
  /** Times the reference was made again after cacheTouched. */
  rereferences = 0;
  readonly rounds: Array<{ matched: boolean; streamingAtPause: boolean; text: string }> = [];
  /** The answer of every run (warm-up, reference and rounds), in order. */
  readonly answers: string[] = [];
  private resolveDone: ((message: ChatMessage) => void) | null = null;

  constructor(private readonly host: LynxHost) {
    host.subscribe(
      (e) => this.onEvent(e),
      () => {},
    );
  }

  private onEvent(e: HostEvent) {
    if (e.type === "chat.delta" && e.chatId === this.id) this.streamed += e.text.length;
    else if (e.type === "chat.done" && e.chatId === this.id) this.finish(e.message);
    else if (e.type === "chat.error" && e.chatId === this.id) this.finish({ role: "assistant", text: `[${e.code}] ${e.message}`, stopReason: "error" });
    else if (e.type === "chat.status" && e.chatId !== this.id && e.status === "generating") this.cacheTouched = true;
  }

  private finish(message: ChatMessage) {
    this.finished = true;
    this.resolveDone?.(message);
    this.resolveDone = null;
  }

  private async run(start: () => Promise<void>): Promise<ChatMessage> {
    this.streamed = 0;
    this.finished = false;
    const done = new Promise<ChatMessage>((resolve) => (this.resolveDone = resolve));
    await start();
    const answer = await withTimeout(done, 120_000, "sentinel round");
    this.answers.push(answer.text);
    return answer;
  }

  get progress() {
    return this.reference ? this.streamed / this.reference.length : 0;
  }

  async prepare() {
    for (const prompt of sentinelPrompts) {
      const chat = await this.host.openChat({ title: "sentinel", sampling: greedy(1) });
      this.id = chat.id;
      await this.run(() => this.host.send(chat.id, prompt));
      await this.host.updateChatSettings(chat.id, { sampling: greedy(ROUND_TOKENS) });
      const reference = await this.run(() => this.host.regenerate(chat.id));
      if (reference.stopReason === "maxTokens" && reference.text.length >= 40) {
        this.reference = reference.text;
        return;
      }
      await this.host.closeChat(chat.id); // ended early (end of text): too short to stream through a fuzz
    }
    throw new Error("no sentinel prompt gives a full-length answer on this model");
  }

  /** Like prepare: one round puts the chat back in the cache, the next, alone, is the new reference. */
  async rereference() {
    this.cacheTouched = false;
    await this.startRound();
    this.reference = (await this.startRound()).text;
    this.rereferences++;
  }

  /** Starts a round; resolves with its answer. */
  startRound(): Promise<ChatMessage> {
    return this.run(() => this.host.regenerate(this.id));
  }
}

let host: LynxHost;
let counted: LynxHost;
let web: WebServer;
let sentinel: Sentinel;
let tmp: string;
let cwdBefore: string[] = [];
const failures: Failure[] = [];
const webModel = new DoorModel("web");
const ipcModel = new DoorModel("ipc");
const summary: Record<string, unknown> = { seed };
let prototypesBefore: string[];

/** Stops every fuzz chat that is queued (one sequence: the sentinel holds it), then waits until all are idle. */
async function quiesce() {
  for (let i = 0; i < 200; i++) {
    const busy = (await host.listChats()).filter((c) => c.id !== sentinel.id && c.status !== "idle");
    if (busy.length === 0) return;
    for (const c of busy) await host.stop(c.id);
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("fuzz chats did not become idle");
}

interface Lane {
  remaining(): number;
  step(): Promise<void>;
}

/** Runs the lanes in sentinel rounds: traffic flows while the sentinel streams, pauses near the end of each round. */
async function fuzzWhileStreaming(lanes: Lane[]) {
  while (lanes.some((l) => l.remaining() > 0)) {
    if (sentinel.cacheTouched) await sentinel.rereference();
    const round = sentinel.startRound();
    await Promise.all(
      lanes.map(async (lane) => {
        while (lane.remaining() > 0 && !sentinel.finished && sentinel.progress < PAUSE_AT) await lane.step();
      }),
    );
    const streamingAtPause = !sentinel.finished;
    await quiesce();
    const answer = await round;
    sentinel.rounds.push({ matched: answer.text === sentinel.reference, streamingAtPause, text: answer.text });
  }
}

const summaryFile = path.join(root, "test", "artifacts", "fuzz-summary.json");

beforeAll(async () => {
  rmSync(summaryFile, { force: true }); // npm run fuzz prints it: never a previous run's
  process.on("unhandledRejection", onRejection);
  process.on("uncaughtException", onException);
  prototypesBefore = prototypeNames();
  // a RAM folder where there is one: the store fsyncs every change, 2-3 ms each on this machine's disk, and the
  // fuzz is about the doors, not the disk (the store's durability has its own tests)
  cwdBefore = readdirSync(process.cwd());
  tmp = mkdtempSync(path.join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "lynx-fuzz-"));
  const staticDir = path.join(tmp, "static");
  mkdirSync(staticDir);
  writeFileSync(path.join(staticDir, "index.html"), "<!doctype html><title>fuzz</title>");
  // the real host as serve.ts starts it (a chat store in a data folder), with one sequence (see Sentinel) and one
  // decode thread (the other core serves the fuzz)
  host = await createHost({ modelPath: fixture("qwen3moe-tiny.gguf"), maxChats: 1, threads: 1, dataDir: path.join(tmp, "data") });
  counted = countingHost(host);
  web = await startWebServer({ host: counted, staticDir });
  sentinel = new Sentinel(host);
  await sentinel.prepare();
  console.log(`fuzz seed ${seed} (replay: LYNX_FUZZ_SEED=${seed}); sentinel reference ${sentinel.reference.length} chars`);
});

afterAll(async () => {
  await web?.close();
  await host?.dispose();
  process.off("unhandledRejection", onRejection);
  process.off("uncaughtException", onException);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  if (Object.keys(summary).length > 1) {
    mkdirSync(path.dirname(summaryFile), { recursive: true });
    writeFileSync(summaryFile, JSON.stringify(summary) + "\n"); // one line: npm run fuzz prints it last
  }
});

function report(door: string) {
  const mine = failures.filter((f) => f.door === door);
  return mine.length === 0 ? "" : `seed ${seed}: ${mine.length} failures; first ones:\n` + mine.slice(0, 8).map((f) => `  ${f.message}\n    -> ${f.problem}`).join("\n");
}

describe("fuzzing the two doors a page can knock on", () => {
  it(`web mode: ${HTTP_MESSAGES} HTTP API calls and ${WS_MESSAGES} WebSocket messages, every bad one a typed error`, async () => {
    const stats = newStats();
    const wsLane = new WsFuzzLane(seed, web.port, web.token, webModel.resolve);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const hostHeader = `127.0.0.1:${web.port}`;
    // an ordinary page's socket, beside the fuzzed one: it must see the sentinel's stream whole
    const observer = new WebSocket(`ws://127.0.0.1:${web.port}${WS_PATH}?token=${encodeURIComponent(web.token)}`, { headers: { origin: `http://${hostHeader}` } });
    let observed = "";
    observer.on("message", (data, isBinary) => {
      if (isBinary) return;
      const e = JSON.parse(String(data)) as HostEvent;
      if (e.type === "chat.delta" && e.chatId === sentinel.id) observed += e.text;
    });
    await new Promise((r) => observer.once("open", r));
    const answersBefore = sentinel.answers.length;
    const started = Date.now();
    let next = 0;
    const httpLane: Lane = {
      remaining: () => HTTP_MESSAGES - next,
      async step() {
        const c = fuzzCase(seed, next++);
        const spec = renderHttp(seed, c, webModel.resolve, web.token, hostHeader);
        const what = () => `${describeCase(c, webModel.resolve)} [${spec.verb} ${spec.path.slice(0, 60)} ${spec.transport}]`;
        const fail = (problem: string) => failures.push({ door: "web", message: what(), problem });
        const expected = expectHttp(spec);
        const before = hostCalls.count;
        let answer;
        try {
          answer = await withTimeout(sendHttp(web.port, agent, spec), STEP_TIMEOUT_MS, `HTTP message #${c.index}`);
        } catch (error) {
          fail(String(error));
          return;
        }
        const reached = hostCalls.count - before;
        stats.sent++;
        stats.reachedHost += reached;
        bump(stats.families, c.family);
        bump(stats.byStatus, String(answer.status));
        const typed = answer.status >= 400 ? typedErrorOf(answer.body) : null;
        if (typed) {
          stats.typedErrors++;
          bump(stats.byCode, typed.code);
        }
        if (expected.kind === "cut-short") {
          // Node's HTTP layer answers an incomplete request with a plain 400 and closes: the API never sees it
          if (!answer.closed && answer.status !== 400) fail(`a cut-short request got ${answer.status}`);
          bump(stats.plain, answer.closed ? "cut-short, closed" : "cut-short, Node's 400");
          if (reached !== 0) fail("a cut-short request reached the host");
          return;
        }
        if (expected.kind === "status") {
          if (expected.status !== -1 && answer.status !== expected.status) fail(`expected HTTP ${expected.status}, got ${answer.status} ${answer.body.subarray(0, 200).toString()}`);
          if (expected.json && typed?.code !== expected.code) fail(`expected a typed ${expected.code} error body, got ${answer.body.subarray(0, 200).toString()}`);
          if (!expected.json) bump(stats.plain, expected.status === 204 ? "OPTIONS 204" : spec.verb === "HEAD" ? "HEAD" : "static page");
          if (reached !== 0) fail(`a refused message reached the host (${reached} calls)`);
          return;
        }
        stats.accepted++;
        if (reached !== 1) fail(`a valid call made ${reached} host calls (expected 1)`);
        if (answer.status === 200) {
          let result: unknown;
          try {
            result = (JSON.parse(answer.body.toString("utf8")) as { result: unknown }).result;
          } catch {
            fail(`200 without a JSON result: ${answer.body.subarray(0, 200).toString()}`);
            return;
          }
          const problem = webModel.apply(expected.method, expected.args, result);
          if (problem) fail(problem);
        } else if (!typed) fail(`HTTP ${answer.status} without a typed error body: ${answer.body.subarray(0, 200).toString()}`);
        else if (typed.code === "INTERNAL") fail(`a valid call failed with INTERNAL: ${typed.message}`);
        else if (answer.status !== statusOfCode[typed.code]) fail(`code ${typed.code} came with HTTP ${answer.status}`);
      },
    };
    let wsNext = 0;
    const wsLaneStep: Lane = {
      remaining: () => WS_MESSAGES - wsNext,
      async step() {
        const i = wsNext++;
        const before = hostCalls.count;
        let problem;
        try {
          problem = await withTimeout(wsLane.step(i), STEP_TIMEOUT_MS, `ws #${i}`);
        } catch (error) {
          problem = { index: i, kind: "?", problem: String(error) };
        }
        if (problem) failures.push({ door: "web", message: `ws #${i} ${problem.kind}`, problem: problem.problem });
        void before; // concurrent HTTP calls make a per-message count meaningless here; the total is checked below
      },
    };
    const callsBefore = hostCalls.count;
    const roundsBefore = sentinel.rounds.length;
    await fuzzWhileStreaming([httpLane, wsLaneStep]);
    stats.ms = Date.now() - started;
    wsLane.close();
    agent.destroy();

    const callsDuring = hostCalls.count - callsBefore;
    const rounds = sentinel.rounds.slice(roundsBefore);
    summary.web = { ...stats, ws: wsLane.stats, sentinelRounds: rounds.length, sentinelMismatches: rounds.filter((r) => !r.matched).length, sentinelStreamingAtEveryPause: rounds.every((r) => r.streamingAtPause) };
    console.log(`web mode: ${JSON.stringify(summary.web)}`);
    expect(report("web")).toBe("");
    // the server is still up and answers a plain call
    const alive = await sendHttp(web.port, new http.Agent(), { verb: "POST", path: "/api/getModel", headers: { host: hostHeader, "x-lynx-token": web.token, "content-type": "application/json" }, body: Buffer.from('{"args":[]}'), transport: "plain" });
    expect(alive.status).toBe(200);
    // the WebSocket never reached the host: every host call is one of the accepted HTTP calls
    expect(callsDuring, "host calls vs accepted HTTP calls").toBe(stats.accepted);

    expect(rounds.filter((r) => !r.matched).map((r) => r.text.slice(0, 80)), "sentinel answers that differ from the reference").toEqual([]);
    expect(rounds.length).toBeGreaterThan(0);
    // a page's ordinary socket, beside the fuzzed one, received every token of every sentinel run, in order
    const streamed = sentinel.answers.slice(answersBefore).join("");
    const seen = Date.now();
    while (observed.length < streamed.length && Date.now() - seen < 10_000) await new Promise((r) => setTimeout(r, 20));
    observer.close();
    expect(observed === streamed, "the observer's stream of the sentinel").toBe(true);
  }, TEST_TIMEOUT_MS);

  it(`IPC handlers: ${IPC_MESSAGES} invoke calls (structured-cloned), every bad one a typed error result`, async () => {
    const stats = newStats();
    const modelPaths = modelPathCases(path.join(tmp, "models"));
    const desktop = { dialogs: 0, opened: [] as string[], modelOpens: 0 };
    const ctx: IpcDispatchContext = {
      host: async () => counted,
      openModelDialog: async () => {
        desktop.dialogs++;
        return null; // the user cancelled
      },
      chooseModelsDir: async () => {
        desktop.dialogs++;
        return null; // the user cancelled the folder picker
      },
      openModel: (file) => {
        desktop.modelOpens++;
        return counted.openModel(file);
      },
      openExternal: async (url) => {
        desktop.opened.push(url);
        return true;
      },
    };
    const started = Date.now();
    let next = 0;
    const lane: Lane = {
      remaining: () => IPC_MESSAGES - next,
      async step() {
        const c = fuzzCase(seed, next++);
        const call = renderIpc(seed, c, ipcModel.resolve, modelPaths);
        const what = () => `${describeCase(c, ipcModel.resolve)} [${JSON.stringify(call.channel)} ${call.family}]`;
        const fail = (problem: string) => failures.push({ door: "ipc", message: what(), problem });
        let args: unknown[];
        try {
          args = structuredClone(call.args); // what crosses the process boundary
        } catch {
          stats.undeliverable++; // ipcRenderer.invoke throws in the renderer: nothing reaches main
          return;
        }
        const expected = expectIpc({ ...call, args }, modelPaths);
        const before = { calls: hostCalls.count, dialogs: desktop.dialogs, opened: desktop.opened.length, modelOpens: desktop.modelOpens };
        let result;
        try {
          result = await withTimeout(handleIpcInvoke(ctx, call.channel, args), STEP_TIMEOUT_MS, `IPC message #${c.index}`);
        } catch (error) {
          fail(`threw or hung: ${String(error)}`);
          return;
        }
        const reached = hostCalls.count - before.calls;
        stats.sent++;
        stats.reachedHost += reached;
        bump(stats.families, call.family);
        const shapeOk =
          result !== null &&
          typeof result === "object" &&
          (result.ok === true ? "value" in result : typeof result.error?.message === "string" && (engineErrorCodes as readonly string[]).includes(result.error?.code));
        if (!shapeOk) {
          fail(`not an IpcResult: ${JSON.stringify(result).slice(0, 200)}`);
          return;
        }
        if (!result.ok) {
          stats.typedErrors++;
          bump(stats.byCode, result.error.code);
        }
        switch (expected.kind) {
          case "error":
            if (result.ok || result.error.code !== expected.code) fail(`expected ${expected.code}, got ${JSON.stringify(result).slice(0, 200)}`);
            if (reached !== 0) fail("a refused call reached the host");
            break;
          case "host":
            stats.accepted++;
            if (reached !== 1) fail(`a valid call made ${reached} host calls (expected 1)`);
            if (result.ok) {
              const problem = ipcModel.apply(expected.method, expected.args, result.value);
              if (problem) fail(problem);
            } else if (result.error.code === "INTERNAL") fail(`a valid call failed with INTERNAL: ${result.error.message}`);
            break;
          case "dialog":
            if (!result.ok || result.value !== null || desktop.dialogs !== before.dialogs + 1) fail(`the dialog call went wrong: ${JSON.stringify(result)}`);
            break;
          case "model-path":
            if (expected.reachesHost) {
              stats.accepted++;
              if (desktop.modelOpens !== before.modelOpens + 1) fail("a well-formed model path did not reach the host");
              if (result.ok || result.error.code === "INTERNAL") fail(`a broken model file was not refused with a typed error: ${JSON.stringify(result).slice(0, 300)}`);
            } else {
              if (result.ok || result.error.code !== expected.code) fail(`expected ${expected.code}, got ${JSON.stringify(result).slice(0, 300)}`);
              if (desktop.modelOpens !== before.modelOpens) fail("a refused model path reached the host");
            }
            break;
          case "external":
            if (!result.ok || result.value !== expected.opens) fail(`openExternal answered ${JSON.stringify(result)}, expected ${expected.opens}`);
            if (desktop.opened.length !== before.opened + (expected.opens ? 1 : 0)) fail("openExternal reached the shell wrongly");
            break;
        }
      },
    };
    const roundsBefore = sentinel.rounds.length;
    await fuzzWhileStreaming([lane]);
    stats.ms = Date.now() - started;
    const rounds = sentinel.rounds.slice(roundsBefore);
    summary.ipc = { ...stats, desktop: { dialogs: desktop.dialogs, externalOpened: desktop.opened.length, modelOpens: desktop.modelOpens }, sentinelRounds: rounds.length, sentinelMismatches: rounds.filter((r) => !r.matched).length, sentinelStreamingAtEveryPause: rounds.every((r) => r.streamingAtPause) };
    console.log(`IPC: ${JSON.stringify(summary.ipc)}`);
    expect(report("ipc")).toBe("");
    expect(desktop.opened.every((u) => u.startsWith("https://"))).toBe(true);
    expect(rounds.filter((r) => !r.matched).map((r) => r.text.slice(0, 80)), "sentinel answers that differ from the reference").toEqual([]);
  }, TEST_TIMEOUT_MS);

  it("afterwards: no unhandled errors, no pollution, chats and settings as the accepted calls left them", async () => {
    expect(processProblems.first.slice(0, 3)).toEqual([]);
    expect(processProblems.unhandledRejection).toBe(0);
    expect(processProblems.uncaughtException).toBe(0);
    expect(prototypeNames()).toEqual(prototypesBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // nothing written outside the fuzz's own folder (a models folder named by a message once made folders here)
    expect(readdirSync(process.cwd()).filter((name) => !cwdBefore.includes(name))).toEqual([]);

    await quiesce();
    const chats = await host.listChats();
    const ids = chats.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    const problems: string[] = [];
    for (const chat of chats) {
      if (chat.status !== "idle") problems.push(`chat ${chat.id} is ${chat.status}`);
      if (typeof chat.title !== "string" || chat.title.trim().length === 0 || chat.title.length > 200) problems.push(`chat ${chat.id} has a bad title`);
      if (!samplingSchema.safeParse(chat.settings.sampling).success || !partialChatSettingsSchema.safeParse(chat.settings).success) problems.push(`chat ${chat.id} holds invalid settings ${JSON.stringify(chat.settings).slice(0, 200)}`);
      for (const m of chat.messages) if ((m.role !== "user" && m.role !== "assistant") || typeof m.text !== "string") problems.push(`chat ${chat.id} holds a malformed message`);
      if (chat.id === sentinel.id) continue;
      const door = webModel.chats.has(chat.id) ? webModel : ipcModel.chats.has(chat.id) ? ipcModel : null;
      if (!door) problems.push(`chat ${chat.id} (${JSON.stringify(chat.title.slice(0, 40))}) was opened by no one`);
      else if (!door.open.includes(chat.id)) problems.push(`chat ${chat.id} is open but its door closed it`);
      else {
        const p = door.compare(chat, door.chats.get(chat.id)!, "after the fuzz");
        if (p) problems.push(p);
      }
    }
    for (const door of [webModel, ipcModel]) for (const id of door.open) if (!ids.includes(id)) problems.push(`chat ${id} was opened and never closed, but is gone`);
    expect(problems.slice(0, 10)).toEqual([]);

    // the sentinel: its history is the prompt and the reference answer, nothing a fuzz message did leaked in
    const s = chats.find((c) => c.id === sentinel.id)!;
    expect(s.messages.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect(s.messages[1]!.text).toBe(sentinel.reference);

    // the policy is the last one a door set
    const policy = await host.getPolicy();
    expect(aggressivenessSettingSchema.safeParse(policy.setting).success).toBe(true);
    const last = ipcModel.policy ?? webModel.policy;
    if (last) expect(policy.setting).toEqual(last);

    summary.openChats = chats.length;
    summary.processProblems = { unhandledRejection: processProblems.unhandledRejection, uncaughtException: processProblems.uncaughtException };
    summary.sentinel = { rounds: sentinel.rounds.length, mismatches: sentinel.rounds.filter((r) => !r.matched).length, rereferences: sentinel.rereferences, referenceChars: sentinel.reference.length };
    console.log(JSON.stringify(summary));
  });
});

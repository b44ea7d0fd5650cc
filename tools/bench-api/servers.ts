// The two OpenAI-compatible servers the conformance tests and `npm run bench:api` compare, each in its own
// process, configured alike: the same model file, sequences (slots), context per sequence and threads.
//  - ours: `npm run api` (electron/cli/api.ts), the app's engine (unified KV, our batching, pruning policy);
//  - llama-server: llama.cpp's own, built from the same extracted source (tools/llama-tools), with continuous
//    batching, a unified KV cache capped per slot like ours, flash attention off like ours.
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "../..");

export interface ServerOptions {
  model: string;
  /** the id clients send as `model` (ours derives it from the file name; llama-server gets it as --alias) */
  alias: string;
  /** sequences that generate at once: our --max-chats, llama-server's -np */
  parallel: number;
  /** tokens per sequence (ours: the engine's default, min(training context, 4096)) */
  contextPerSequence: number;
  threads: number;
  apiKey: string;
  /** ours: requests that may wait beyond the pool (--max-queue) */
  maxQueue?: number;
  /** ours: the pruning policy (--policy off | affinity:A,B | budget:M) */
  policy?: string;
  /** llama-server: extra arguments */
  extraArgs?: string[];
}

export interface RunningServer {
  /** base URL with /v1 */
  readonly baseURL: string;
  readonly process: ChildProcess;
  /** the last lines the server wrote (for failure messages) */
  logTail(): string;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const port = (probe.address() as net.AddressInfo).port;
      probe.close(() => resolve(port));
    });
  });
}

function capture(child: ChildProcess) {
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return () => lines.slice(-40).join("\n");
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
      child.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill("SIGTERM");
    });
}

/** Resolves once `ready()` is true; rejects when the process exits first or after `timeoutMs`. */
async function waitUntil(child: ChildProcess, name: string, logTail: () => string, ready: () => Promise<boolean>, timeoutMs: number) {
  const started = Date.now();
  let exited = false;
  child.once("exit", () => (exited = true));
  for (;;) {
    if (exited) throw new Error(`${name} exited before it answered:\n${logTail()}`);
    if (await ready().catch(() => false)) return;
    if (Date.now() - started > timeoutMs) throw new Error(`${name} did not answer within ${timeoutMs / 1000} s:\n${logTail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Our API: `npm run api` itself (tsx electron/cli/api.ts), on a free port; resolves once it printed its URL. */
export async function startLynxApi(options: ServerOptions): Promise<RunningServer> {
  const args = ["--import", "tsx", path.join(root, "electron/cli/api.ts"), "--model", options.model, "--port", "0", "--max-chats", String(options.parallel),
    "--threads", String(options.threads), "--api-key", options.apiKey, "--policy", options.policy ?? "off",
    ...(options.maxQueue !== undefined ? ["--max-queue", String(options.maxQueue)] : [])];
  const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  const logTail = capture(child);
  let baseURL = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    const match = /OpenAI-compatible API: (\S+)/.exec(chunk.toString("utf8"));
    if (match) baseURL = match[1]!;
  });
  await waitUntil(child, "npm run api", logTail, async () => baseURL !== "", 180_000);
  return { baseURL, process: child, logTail, close: stopper(child) };
}

/** llama-server with the same model, slots, context per slot and threads; resolves once /health answers 200. */
export async function startLlamaServer(binary: string, options: ServerOptions): Promise<RunningServer> {
  const port = await freePort();
  const args = ["-m", options.model, "--alias", options.alias, "--host", "127.0.0.1", "--port", String(port), "--api-key", options.apiKey,
    "-np", String(options.parallel), "-cb", "-kvu", "--kv-unified-per-slot", String(options.contextPerSequence), "-c", String(options.parallel * options.contextPerSequence),
    "-t", String(options.threads), "-tb", String(options.threads), "-fa", "off", "--no-webui", "--jinja", ...(options.extraArgs ?? [])];
  const child = spawn(binary, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  const logTail = capture(child);
  const base = `http://127.0.0.1:${port}`;
  await waitUntil(child, "llama-server", logTail, async () => (await fetch(`${base}/health`)).status === 200, 180_000);
  return { baseURL: `${base}/v1`, process: child, logTail, close: stopper(child) };
}

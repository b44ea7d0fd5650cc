// The Electron IPC side of the fuzzer: renders a FuzzCase as an invoke call (channel + structured-cloned
// arguments, as ipcRenderer.invoke would deliver them), plus the desktop-only channels (model paths from drag
// and drop, external links), and says what handleIpcInvoke must answer.

import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { IPC_OPEN_EXTERNAL, IPC_OPEN_MODEL_PATH, IPC_PREFIX, ipcChannelFor, isVettedExternalUrl } from "../../electron/api/desktop.js";
import { desktopOnlyMethods, isApiMethod, validateApiArgs } from "../../electron/api/schemas.js";
import { toJsValue, type ChatResolver, type FuzzCase } from "./fuzz-messages.js";
import { rngFor } from "./fuzz-rng.js";

export interface IpcCall {
  channel: string;
  args: unknown[];
  family: string;
  /** For the model-path channel: which of modelPathCases() was sent. */
  modelPathCase?: number;
}

export type IpcExpectation =
  | { kind: "error"; code: string }
  /** Validated: it must reach the host (one call) and answer a value or a typed host error. */
  | { kind: "host"; method: string; args: unknown[] }
  | { kind: "dialog" }
  | { kind: "model-path"; code: string; reachesHost: boolean }
  | { kind: "external"; opens: boolean };

/** Files for the model-path channel, and the answer each must get. */
export function modelPathCases(dir: string): Array<{ value: unknown; code: string; reachesHost: boolean }> {
  mkdirSync(path.join(dir, "folder.gguf"), { recursive: true });
  writeFileSync(path.join(dir, "text.gguf"), "this is not a model at all");
  writeFileSync(path.join(dir, "model.txt"), "GGUF");
  // header only: version 3, then nothing
  writeFileSync(path.join(dir, "header-only.gguf"), Buffer.from([0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0]));
  // claims 2^62 tensors and 2^40 KV pairs in a 24-byte file (once a hang of the GGUF reader)
  const absurd = Buffer.alloc(24);
  absurd.write("GGUF", 0, "latin1");
  absurd.writeUInt32LE(3, 4);
  absurd.writeBigUInt64LE(1n << 62n, 8);
  absurd.writeBigUInt64LE(1n << 40n, 16);
  writeFileSync(path.join(dir, "absurd-counts.gguf"), absurd);
  return [
    { value: path.join(dir, "missing.gguf"), code: "MODEL_NOT_FOUND", reachesHost: false },
    { value: path.join(dir, "folder.gguf"), code: "MODEL_NOT_FOUND", reachesHost: false },
    { value: path.join(dir, "text.gguf"), code: "NOT_GGUF", reachesHost: false },
    { value: path.join(dir, "model.txt"), code: "NOT_GGUF", reachesHost: false },
    { value: "relative/model.gguf", code: "INVALID_INPUT", reachesHost: false },
    { value: `${dir}/a\u0000b.gguf`, code: "INVALID_INPUT", reachesHost: false },
    { value: "/" + "a".repeat(5000) + ".gguf", code: "INVALID_INPUT", reachesHost: false },
    { value: "", code: "INVALID_INPUT", reachesHost: false },
    { value: 42, code: "INVALID_INPUT", reachesHost: false },
    { value: { path: "/x.gguf" }, code: "INVALID_INPUT", reachesHost: false },
    { value: path.join(dir, "header-only.gguf"), code: "", reachesHost: true },
    { value: path.join(dir, "absurd-counts.gguf"), code: "", reachesHost: true },
  ];
}

const urls: unknown[] = [
  "https://github.com/doyensec/electronegativity",
  "https://huggingface.co/models",
  "http://github.com/",
  "https://evil.example/",
  "https://github.com.evil.example/",
  "https://user:pw@github.com/",
  "https://github.com:444/",
  "javascript:alert(1)",
  "file:///etc/passwd",
  "app://lynx/index.html",
  "",
  "https://github.com/" + "a".repeat(3000),
  null,
  ["https://github.com/"],
];

export function renderIpc(seed: number, c: FuzzCase, resolve: ChatResolver, modelPaths: ReturnType<typeof modelPathCases>): IpcCall {
  const rng = rngFor(seed, "ipc", c.index);
  const r = rng.next();
  if (r < 0.05) {
    const which = rng.int(0, modelPaths.length - 1);
    const value = modelPaths[which]!.value;
    return { channel: IPC_OPEN_MODEL_PATH, args: rng.chance(0.9) ? [value] : [value, "extra"], family: "model-path", modelPathCase: which };
  }
  if (r < 0.1) return { channel: IPC_OPEN_EXTERNAL, args: [rng.pick(urls)], family: "open-external" };
  if (r < 0.14) {
    const channel = rng.pick([`${IPC_PREFIX}call:`, `${IPC_PREFIX}evil`, "", "__proto__", "constructor", "toString", `${IPC_PREFIX}call:__proto__`, `${IPC_PREFIX}call:openModel`, `${IPC_PREFIX}call:dispose`, ipcChannelFor("send").toUpperCase()]);
    return { channel, args: [], family: "unknown-channel" };
  }
  const channel = isApiMethod(c.method) ? ipcChannelFor(c.method) : `${IPC_PREFIX}call:${c.method}`;
  const value = toJsValue(c.args, resolve);
  return { channel, args: Array.isArray(value) ? value : [value], family: c.family };
}

export function expectIpc(call: IpcCall, modelPaths: ReturnType<typeof modelPathCases>): IpcExpectation {
  if (call.channel === IPC_OPEN_MODEL_PATH) {
    const known = modelPaths[call.modelPathCase ?? -1];
    if (!known) throw new Error("a model-path call without its case");
    return { kind: "model-path", code: known.code, reachesHost: known.reachesHost };
  }
  if (call.channel === IPC_OPEN_EXTERNAL) {
    const url = call.args[0];
    return { kind: "external", opens: typeof url === "string" && url.length <= 2048 && isVettedExternalUrl(url) };
  }
  const prefix = `${IPC_PREFIX}call:`;
  const method = call.channel.startsWith(prefix) ? call.channel.slice(prefix.length) : "";
  if (!isApiMethod(method)) return { kind: "error", code: "INVALID_INPUT" };
  const checked = validateApiArgs(method, call.args);
  if (!checked.ok) return { kind: "error", code: "INVALID_INPUT" };
  if (desktopOnlyMethods.has(method)) return { kind: "dialog" };
  return { kind: "host", method, args: checked.args as unknown[] };
}

// @ts-check
// Runs Lynx Chat's built main process in plain Node with the recording `electron` stand-in and reports, as one JSON
// line on stdout, what it registered and how it answered: windows and webPreferences, the app:// protocol and its
// CSP, session permission handlers, web-contents hardening, every IPC channel called untrusted and with invalid
// arguments, the model the host loaded, the native libraries the process mapped, the preload's exposed API, and
// (with --chat) one short answer through IPC. Used by the wiring test and by `npm run dist:check`.
//
//   node --import ./tools/dist/runtime/register-stand-in.mjs tools/dist/runtime/drive-main.mjs \
//     --main DIR/dist/electron/main/main.js --preload DIR/dist/electron/preload.cjs [--chat TEXT] [--timeout-ms N]
import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { app, record } from "./electron-stand-in.mjs";

const { values } = parseArgs({
  options: {
    main: { type: "string" },
    preload: { type: "string" },
    chat: { type: "string" },
    "max-tokens": { type: "string", default: "6" },
    "timeout-ms": { type: "string", default: "120000" },
  },
});
if (!values.main || !values.preload) throw new Error("--main and --preload are required");
const timeoutMs = Number(values["timeout-ms"]);
/** @type {string[]} */
const errors = [];

/** @param {() => boolean} condition @param {string} what */
async function waitFor(condition, what) {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    if (record.exitCode !== null) throw new Error(`main called app.exit(${record.exitCode}) while waiting for ${what}: ${JSON.stringify(record.dialogs)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Loads the sandboxed preload (CommonJS, only `electron` external) with a renderer-side stand-in. */
function runPreload(file) {
  /** @type {Record<string, unknown>} */
  const exposed = {};
  /** @type {string[]} */
  const requires = [];
  const rendererElectron = {
    contextBridge: { exposeInMainWorld: (/** @type {string} */ key, /** @type {unknown} */ api) => (exposed[key] = api) },
    ipcRenderer: { invoke: async () => ({ ok: false, error: { code: "INTERNAL", message: "stand-in" } }), send() {}, on() {}, removeListener() {} },
    webUtils: { getPathForFile: () => "" },
  };
  const module = { exports: {} };
  const wrapper = vm.runInThisContext(`(function (exports, require, module) {${fs.readFileSync(file, "utf8")}\n})`, { filename: file });
  wrapper(module.exports, (/** @type {string} */ name) => {
    requires.push(name);
    if (name === "electron") return rendererElectron;
    throw new Error(`the sandboxed preload may only require electron, not ${name}`);
  }, module);
  const bridge = /** @type {Record<string, unknown>} */ (exposed.lynx ?? {});
  return {
    exposedKeys: Object.keys(exposed),
    requires: [...new Set(requires)],
    bridge: Object.fromEntries(Object.entries(bridge).map(([key, value]) => [key, typeof value])),
  };
}

/** The native libraries this process mapped (Linux), by kind. */
function mappedLibraries() {
  let maps = "";
  try {
    maps = fs.readFileSync("/proc/self/maps", "utf8");
  } catch {
    return null;
  }
  const files = new Set();
  for (const line of maps.split("\n")) {
    const slash = line.indexOf("/");
    if (slash >= 0) files.add(line.slice(slash).trim());
  }
  const all = [...files];
  return {
    libllama: all.filter((f) => /\/libllama[^/]*\.(so|dylib|dll)/.test(f)),
    addon: all.filter((f) => f.endsWith("llama-addon.node")),
    koffi: all.filter((f) => f.endsWith("koffi.node")),
    ggml: all.filter((f) => /\/libggml[^/]*\.(so|dylib|dll)/.test(f)),
  };
}

async function main() {
  const report = /** @type {Record<string, any>} */ ({ errors });
  report.preload = runPreload(path.resolve(values.preload ?? ""));

  await import(pathToFileURL(path.resolve(values.main ?? "")).href);
  await waitFor(() => record.windows.length > 0 && record.ipcHandlers.size > 0, "the main window and the IPC handlers");
  const { window, options } = record.windows[0] ?? { window: null, options: {} };
  if (!window) throw new Error("no window");
  report.sandboxEnabled = record.sandboxEnabled;
  report.windows = record.windows.map((w) => ({ webPreferences: w.options.webPreferences ?? null, loadedUrl: w.window.loadedUrl, show: w.options.show }));
  report.privilegedSchemes = record.privilegedSchemes;
  report.menus = record.menus.length;

  // trusted = our window's main frame on app://lynx; untrusted = any other sender
  const trusted = { sender: window.webContents, senderFrame: window.webContents.mainFrame };
  const untrusted = { sender: { id: 99 }, senderFrame: { url: "https://evil.example/" } };
  /** @param {string} channel @param {any} event @param {...unknown} args */
  const invoke = async (channel, event, ...args) => {
    const handler = record.ipcHandlers.get(channel);
    if (!handler) throw new Error(`no IPC handler for ${channel}`);
    return handler(event, ...args);
  };

  // the host: getModel waits for the model load
  const model = await Promise.race([
    invoke("lynx:call:getModel", trusted),
    new Promise((_, reject) => setTimeout(() => reject(new Error("timed out waiting for the model")), timeoutMs)),
  ]);
  report.model = model;
  if (record.exitCode !== null) throw new Error(`main exited (${record.exitCode}): ${JSON.stringify(record.dialogs)}`);

  // app:// protocol: the entry page, its assets, a path escaping the renderer folder
  const appHandler = record.protocolHandlers.get("app");
  report.protocol = { schemes: [...record.protocolHandlers.keys()] };
  if (appHandler) {
    /** @param {string} url */
    const get = async (url) => {
      const response = /** @type {Response} */ (await appHandler({ url, method: "GET", headers: new Headers() }));
      return { status: response.status, csp: response.headers.get("content-security-policy"), type: response.headers.get("content-type"), body: await response.text() };
    };
    const index = await get(window.loadedUrl);
    const assets = [...index.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? "").filter((a) => !a.startsWith("data:") && !/^[a-z]+:/.test(a));
    report.protocol.index = { url: window.loadedUrl, status: index.status, csp: index.csp, type: index.type };
    report.protocol.assets = await Promise.all(assets.map(async (a) => ({ path: a, ...(await get(new URL(a, window.loadedUrl).href)), body: undefined })));
    report.protocol.escape = (await get("app://lynx/%2e%2e/%2e%2e/package.json")).status;
    report.protocol.otherHost = (await get("app://other/index.html")).status;
  }

  // session: every permission refused; every response gets the CSP
  const s = record.session;
  /** @type {unknown[]} */
  const granted = [];
  s.permissionRequest?.({}, "media", (/** @type {boolean} */ ok) => granted.push(ok), {});
  report.session = {
    permissionRequest: granted,
    permissionCheck: s.permissionCheck ? s.permissionCheck({}, "media", "app://lynx", {}) : null,
    devicePermission: s.devicePermission ? s.devicePermission({}) : null,
    events: s.events,
  };
  if (s.headersReceived) {
    report.session.headersCsp = await new Promise((resolve) =>
      s.headersReceived?.({ url: "https://example.com/", responseHeaders: {} }, (/** @type {any} */ r) => resolve(r.responseHeaders?.["Content-Security-Policy"] ?? null)),
    );
  }

  // web contents hardening, as registered on our window's contents
  const wc = window.webContents;
  /** @param {string} event @param {...unknown} args */
  const prevented = (event, ...args) => {
    let wasPrevented = false;
    for (const listener of wc.listeners(event)) listener({ preventDefault: () => (wasPrevented = true), url: args[0] }, ...args);
    return wasPrevented;
  };
  report.webContents = {
    events: wc.eventNames().map(String),
    willNavigateAway: prevented("will-navigate", "https://evil.example/"),
    willAttachWebview: prevented("will-attach-webview", {}, {}),
    windowOpen: wc.windowOpenHandler ? wc.windowOpenHandler({ url: "https://evil.example/" }) : null,
  };

  // IPC: every channel refuses an untrusted sender and invalid arguments
  report.ipc = { channels: [...record.ipcHandlers.keys()], listeners: [...record.ipcListeners.keys()], untrusted: {}, invalid: {} };
  for (const channel of record.ipcHandlers.keys()) {
    report.ipc.untrusted[channel] = await invoke(channel, untrusted, "x");
    // too many arguments, and one argument of the wrong shape
    report.ipc.invalid[channel] = [
      await invoke(channel, trusted, { bogus: true }, 12345, "x".repeat(70_000), ["y"]),
      await invoke(channel, trusted, { bogus: true, constructor: { prototype: 1 } }),
    ];
  }
  report.dialogsDuringIpc = record.dialogs.length;
  report.externalOpened = record.externalOpened;

  // one short answer through IPC, as the renderer would get it
  if (values.chat) {
    const opened = await invoke("lynx:call:openChat", trusted, {
      title: "dist check",
      sampling: { temperature: 0, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1, maxTokens: Number(values["max-tokens"]) },
    });
    if (!opened.ok) throw new Error(`openChat: ${JSON.stringify(opened)}`);
    for (const listener of record.ipcListeners.get("lynx:subscribe") ?? []) listener(trusted);
    const chatId = opened.value.id;
    const started = Date.now();
    const sent = await invoke("lynx:call:send", trusted, chatId, values.chat);
    if (!sent.ok) throw new Error(`send: ${JSON.stringify(sent)}`);
    /** @returns {any} */
    const done = () => wc.sent.find((m) => m.channel === "lynx:event" && /** @type {any} */ (m.payload).type === "chat.done" && /** @type {any} */ (m.payload).chatId === chatId)?.payload;
    await waitFor(() => Boolean(done()) || wc.sent.some((m) => /** @type {any} */ (m.payload)?.type === "chat.error"), "the answer");
    const message = done()?.message;
    report.chat = message
      ? { text: message.text, stopReason: message.stopReason, seconds: (Date.now() - started) / 1000, tokens: message.stats?.tokens ?? null }
      : { error: wc.sent.find((m) => /** @type {any} */ (m.payload)?.type === "chat.error")?.payload };
  }

  report.mapped = mappedLibraries();
  report.dialogs = record.dialogs;
  report.exitCode = record.exitCode;

  // quit as Electron would: will-quit lets main dispose the host
  let quitPrevented = false;
  app.emit("will-quit", { preventDefault: () => (quitPrevented = true) });
  if (quitPrevented) await waitFor(() => record.calls.includes("app.quit"), "the host to dispose");
  return report;
}

main()
  .then((report) => {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    process.exit(0);
  })
  .catch((error) => {
    errors.push(error instanceof Error ? error.message : String(error));
    process.stdout.write(`${JSON.stringify({ errors, dialogs: record.dialogs, exitCode: record.exitCode })}\n`);
    process.exit(1);
  });

// The Electron shell without the Electron runtime (it cannot be downloaded here): the `electron`
// module is replaced by a small recorder, so the preload bridge, the IPC handlers (sender checks,
// zod validation, error envelopes) and the app:// path resolution run for real.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { LynxApi, TelemetryFrame } from "../../electron/api/contract.js";
import { IPC_EVENT, IPC_OPEN_MODEL_PATH, IPC_SUBSCRIBE, IPC_TELEMETRY, ipcChannelFor, type LynxDesktopBridge } from "../../electron/api/desktop.js";
import { encodeTelemetryFrame } from "../../electron/api/telemetry-codec.js";

const electron = vi.hoisted(() => {
  const handlers = new Map<string, (event: unknown, ...args: unknown[]) => unknown>();
  const onHandlers = new Map<string, (event: unknown, ...args: unknown[]) => void>();
  const rendererListeners = new Map<string, Array<(event: unknown, ...args: unknown[]) => void>>();
  const exposed: Record<string, unknown> = {};
  const invoke = vi.fn(async (channel: string, ...args: unknown[]): Promise<unknown> => ({ ok: true, value: { channel, args } }));
  const send = vi.fn();
  return { handlers, onHandlers, rendererListeners, exposed, invoke, send };
});

vi.mock("electron", () => ({
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => (electron.exposed[key] = api) },
  ipcRenderer: {
    invoke: electron.invoke,
    send: electron.send,
    on: (channel: string, fn: (event: unknown, ...args: unknown[]) => void) => {
      electron.rendererListeners.set(channel, [...(electron.rendererListeners.get(channel) ?? []), fn]);
    },
    removeListener: vi.fn(),
  },
  webUtils: { getPathForFile: (file: { path?: string }) => file.path ?? "" },
  ipcMain: {
    handle: (channel: string, fn: (event: unknown, ...args: unknown[]) => unknown) => electron.handlers.set(channel, fn),
    removeHandler: (channel: string) => electron.handlers.delete(channel),
    on: (channel: string, fn: (event: unknown, ...args: unknown[]) => void) => electron.onHandlers.set(channel, fn),
    off: (channel: string) => electron.onHandlers.delete(channel),
  },
  dialog: { showOpenDialog: vi.fn(async () => ({ canceled: true, filePaths: [] })) },
  shell: { openExternal: vi.fn(async () => {}) },
  protocol: { registerSchemesAsPrivileged: vi.fn(), handle: vi.fn() },
  BrowserWindow: class {},
}));

function frame(): TelemetryFrame {
  return {
    seq: 7,
    timeMs: 1,
    nLayers: 1,
    nExperts: 2,
    expertsPerToken: 1,
    moeLayers: new Uint8Array([1]),
    chats: [{ chatId: "c1", counts: new Uint32Array([3, 4]), windowTokens: 7, tokensPerSecond: 2, tokens: 7 }],
    batches: [],
    batchHistogram: new Float64Array([0, 1]),
    overall: {
      tokensPerSecond: 2,
      generatingChats: 1,
      queuedChats: 0,
      currentBatchSize: 1,
      decodeSteps: 7,
      fullBatchShare: 1,
      distinctBefore: 1,
      distinctAfter: 1,
      expertBytesBefore: 10,
      expertBytesAfter: 10,
      top1KeptShare: 1,
      massRetained: 1,
    },
  };
}

describe("preload bridge", () => {
  let bridge: LynxDesktopBridge;
  beforeEach(async () => {
    await import("../../electron/main/preload.js");
    bridge = electron.exposed.lynx as LynxDesktopBridge;
  });

  it("exposes only named functions implementing LynxApi, never ipcRenderer", () => {
    expect(Object.keys(electron.exposed)).toEqual(["lynx"]);
    const values = Object.entries(bridge);
    for (const [key, value] of values) {
      if (key === "transport") expect(value).toBe("electron");
      else expect(typeof value, key).toBe("function");
    }
    const api: Array<keyof LynxApi> = ["getModel", "listChats", "openChat", "send", "stop", "setPolicy", "subscribe"];
    for (const m of api) expect(bridge[m]).toBeTypeOf("function");
    expect(JSON.stringify(Object.keys(bridge))).not.toMatch(/ipc|invoke|require/i);
  });

  it("invokes one channel per method and unwraps the result envelope", async () => {
    await expect(bridge.send("c1", "hello")).resolves.toEqual({ channel: ipcChannelFor("send"), args: ["c1", "hello"] });
    electron.invoke.mockResolvedValueOnce({ ok: false, error: { code: "CHAT_BUSY", message: "busy" } });
    await expect(bridge.stop("c1")).rejects.toThrow("[CHAT_BUSY] busy");
  });

  it("resolves a dropped file to its path and sends only that", async () => {
    await bridge.openModelFile({ path: "/models/m.gguf" } as unknown as File);
    expect(electron.invoke).toHaveBeenLastCalledWith(IPC_OPEN_MODEL_PATH, "/models/m.gguf");
    await expect(bridge.openModelFile({} as File)).rejects.toThrow(/INVALID_INPUT/);
  });

  it("subscribes once and decodes binary telemetry", () => {
    const events: unknown[] = [];
    const frames: TelemetryFrame[] = [];
    const off = bridge.subscribe((e) => events.push(e), (f) => frames.push(f));
    expect(electron.send).toHaveBeenCalledWith(IPC_SUBSCRIBE);
    for (const l of electron.rendererListeners.get(IPC_EVENT) ?? []) l({}, { type: "chat.closed", chatId: "c1" });
    for (const l of electron.rendererListeners.get(IPC_TELEMETRY) ?? []) l({}, encodeTelemetryFrame(frame()));
    expect(events).toEqual([{ type: "chat.closed", chatId: "c1" }]);
    expect(frames[0]).toEqual(frame());
    off();
  });

  it("refuses unvetted external URLs before asking main", async () => {
    electron.invoke.mockClear();
    await expect(bridge.openExternal("http://evil.example/")).resolves.toBe(false);
    expect(electron.invoke).not.toHaveBeenCalled();
  });
});

describe("IPC handlers", () => {
  const mainFrame = { url: "app://lynx/index.html" };
  const webContents = { mainFrame, isDestroyed: () => false, send: vi.fn(), once: vi.fn() };
  const win = { isDestroyed: () => false, webContents };
  const host = {
    send: vi.fn(async () => {}),
    getModel: vi.fn(async () => ({ name: "m" })),
    subscribe: vi.fn((_e: unknown, onTelemetry: (f: TelemetryFrame) => void) => {
      onTelemetry(frame());
      return () => {};
    }),
    openModel: vi.fn(async (p: string) => ({ path: p })),
  };
  const trusted = { sender: webContents, senderFrame: mainFrame };

  beforeEach(async () => {
    electron.handlers.clear();
    const { registerIpc } = await import("../../electron/main/ipc.js");
    registerIpc({
      host: async () => host as never,
      mainWindow: () => win as never,
      openModel: (p) => host.openModel(p) as never,
    });
  });

  const call = (channel: string, event: unknown, ...args: unknown[]) => electron.handlers.get(channel)!(event, ...args);

  it("validates the sender frame", async () => {
    const other = { ...webContents };
    expect(await call(ipcChannelFor("getModel"), { sender: other, senderFrame: mainFrame })).toMatchObject({ ok: false });
    expect(await call(ipcChannelFor("getModel"), { sender: webContents, senderFrame: { url: "app://lynx/x" } })).toMatchObject({ ok: false });
    expect(await call(ipcChannelFor("getModel"), { sender: webContents, senderFrame: { url: "https://evil.example/" } })).toMatchObject({ ok: false });
    const evilMain = { url: "https://evil.example/" };
    const navigated = { ...webContents, mainFrame: evilMain };
    expect(await call(ipcChannelFor("getModel"), { sender: navigated, senderFrame: evilMain })).toMatchObject({ ok: false });
    expect(await call(ipcChannelFor("getModel"), trusted)).toEqual({ ok: true, value: { name: "m" } });
  });

  it("validates arguments with the zod schemas before the host sees them", async () => {
    host.send.mockClear();
    expect(await call(ipcChannelFor("send"), trusted, "c1", "")).toMatchObject({ ok: false, error: { code: "INVALID_INPUT" } });
    expect(await call(ipcChannelFor("send"), trusted, "c1", "x".repeat(100_001))).toMatchObject({ ok: false, error: { code: "INVALID_INPUT" } });
    expect(host.send).not.toHaveBeenCalled();
    expect(await call(ipcChannelFor("send"), trusted, "c1", "hi")).toEqual({ ok: true, value: undefined });
    expect(host.send).toHaveBeenCalledWith("c1", "hi");
  });

  it("validates dropped model paths in main", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lynx-ipc-"));
    const good = path.join(dir, "m.gguf");
    writeFileSync(good, Buffer.concat([Buffer.from("GGUF"), Buffer.alloc(16)]));
    const fake = path.join(dir, "fake.gguf");
    writeFileSync(fake, "not a model at all");
    expect(await call(IPC_OPEN_MODEL_PATH, trusted, "relative.gguf")).toMatchObject({ ok: false, error: { code: "INVALID_INPUT" } });
    expect(await call(IPC_OPEN_MODEL_PATH, trusted, path.join(dir, "x.txt"))).toMatchObject({ ok: false, error: { code: "NOT_GGUF" } });
    expect(await call(IPC_OPEN_MODEL_PATH, trusted, path.join(dir, "missing.gguf"))).toMatchObject({ ok: false, error: { code: "MODEL_NOT_FOUND" } });
    expect(await call(IPC_OPEN_MODEL_PATH, trusted, fake)).toMatchObject({ ok: false, error: { code: "NOT_GGUF" } });
    expect(await call(IPC_OPEN_MODEL_PATH, trusted, good)).toEqual({ ok: true, value: { path: good } });
  });

  it("streams telemetry to the subscribed window as binary frames", async () => {
    electron.onHandlers.get(IPC_SUBSCRIBE)!(trusted);
    await vi.waitFor(() => expect(webContents.send).toHaveBeenCalled());
    const [channel, payload] = webContents.send.mock.calls[0]!;
    expect(channel).toBe(IPC_TELEMETRY);
    expect(payload).toBeInstanceOf(ArrayBuffer);
  });
});

describe("app:// protocol paths", () => {
  it("serves files inside the renderer folder only", async () => {
    const { resolveAppPath } = await import("../../electron/main/protocol.js");
    const root = "/app/dist/renderer";
    expect(resolveAppPath(root, "app://lynx/")).toBe(path.join(root, "index.html"));
    expect(resolveAppPath(root, "app://lynx/assets/index.js")).toBe(path.join(root, "assets", "index.js"));
    expect(resolveAppPath(root, "app://lynx/../../etc/passwd")).toBe(path.join(root, "etc", "passwd"));
    expect(resolveAppPath(root, "app://lynx/%2e%2e/%2e%2e/etc/passwd")).toBe(path.join(root, "etc", "passwd"));
    expect(resolveAppPath(root, "app://other/index.html")).toBeNull();
    expect(resolveAppPath(root, "file:///etc/passwd")).toBeNull();
  });
});

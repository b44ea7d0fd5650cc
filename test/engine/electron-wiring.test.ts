// Wiring test of the Electron shell: the built main-process bundle (scripts/build-electron.mjs) runs in plain Node
// with the `electron` module replaced by a recording stand-in (tools/dist/runtime/). It checks what main registers:
// windows and their webPreferences, the app:// protocol and CSP, the session's permission handlers, web-contents
// hardening, an IPC handler with sender check and validation on every channel, and that the built preload exposes
// only the contract's functions. It is not an Electron run: Chromium's enforcement of these settings is not tested.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { IPC_SUBSCRIBE, IPC_UNSUBSCRIBE } from "../../electron/api/desktop.js";
import { apiMethods } from "../../electron/api/schemas.js";
import { ipcInvokeChannels } from "../../electron/main/ipc-dispatch.js";
import { buildApp, projectRoot } from "../helpers/built-app.js";

interface IpcResult {
  ok: boolean;
  value?: unknown;
  error?: { code: string; message: string };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
let report: any;
let preloadPath = "";

function drive(main: string, preload: string, userData: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", path.join(projectRoot, "tools/dist/runtime/register-stand-in.mjs"), path.join(projectRoot, "tools/dist/runtime/drive-main.mjs"), "--main", main, "--preload", preload],
      { cwd: projectRoot, env: { ...process.env, LYNX_STANDIN_APP_PATH: projectRoot, LYNX_STANDIN_USER_DATA: userData }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`driver exited ${code}:\n${out}\n${err}`))));
  });
}

beforeAll(async () => {
  const built = buildApp();
  preloadPath = built.preload;
  const userData = fs.mkdtempSync(path.join(os.tmpdir(), "lynx-wiring-"));
  try {
    const out = await drive(built.main, built.preload, userData);
    report = JSON.parse(out.trim().split("\n").at(-1)!);
  } finally {
    fs.rmSync(userData, { recursive: true, force: true });
  }
}, 240_000);

describe("Electron shell wiring (built main.js with a recording electron stand-in)", () => {
  it("ran without errors and loaded the bundled model through the host", () => {
    expect(report.errors).toEqual([]);
    expect(report.exitCode).toBeNull();
    expect(report.model.ok).toBe(true);
    expect(report.model.value.path).toBe(path.join(projectRoot, "resources", "models", "default.gguf"));
    expect(report.model.value.engineBuild.flavor).toMatch(/^(native|portable)$/);
  });

  it("creates one locked-down, sandboxed window on app://lynx", () => {
    expect(report.sandboxEnabled).toBe(true);
    expect(report.windows).toHaveLength(1);
    const [win] = report.windows;
    expect(win.loadedUrl).toBe("app://lynx/index.html");
    expect(win.show).toBe(false);
    expect(win.webPreferences).toMatchObject({
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
    });
    expect(win.webPreferences.enableBlinkFeatures).toBeUndefined();
  });

  it("registers app:// as a standard secure scheme, serves the renderer with the CSP and refuses other hosts", () => {
    expect(report.privilegedSchemes).toEqual([{ scheme: "app", privileges: { standard: true, secure: true, supportFetchAPI: false, corsEnabled: false, stream: false } }]);
    expect(report.protocol.schemes).toEqual(["app"]);
    const csp: string = report.protocol.index.csp;
    expect(report.protocol.index.status).toBe(200);
    for (const directive of ["default-src 'none'", "script-src 'self'", "connect-src 'none'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toMatch(/unsafe-(inline|eval)/);
    expect(report.protocol.assets.length).toBeGreaterThan(0);
    for (const asset of report.protocol.assets) {
      expect(asset.status, asset.path).toBe(200);
      expect(asset.csp).toBe(csp);
    }
    expect(report.protocol.escape).not.toBe(200);
    expect(report.protocol.otherHost).toBe(403);
  });

  it("denies every permission, adds the CSP to every response and blocks downloads", () => {
    expect(report.session.permissionRequest).toEqual([false]);
    expect(report.session.permissionCheck).toBe(false);
    expect(report.session.devicePermission).toBe(false);
    expect(report.session.headersCsp).toEqual([report.protocol.index.csp]);
    expect(report.session.events).toContain("will-download");
  });

  it("blocks navigation, new windows and webviews on the window's contents", () => {
    expect(report.webContents.events).toEqual(expect.arrayContaining(["will-navigate", "will-redirect", "will-frame-navigate", "will-attach-webview"]));
    expect(report.webContents.willNavigateAway).toBe(true);
    expect(report.webContents.willAttachWebview).toBe(true);
    expect(report.webContents.windowOpen).toEqual({ action: "deny" });
    expect(report.externalOpened).toEqual([]);
  });

  it("answers every IPC channel, refusing untrusted senders and invalid arguments", () => {
    expect([...report.ipc.channels].sort()).toEqual([...ipcInvokeChannels].sort());
    expect([...report.ipc.listeners].sort()).toEqual([IPC_SUBSCRIBE, IPC_UNSUBSCRIBE].sort());
    for (const channel of ipcInvokeChannels) {
      const untrusted: IpcResult = report.ipc.untrusted[channel];
      expect(untrusted, channel).toEqual({ ok: false, error: { code: "INVALID_INPUT", message: "untrusted sender" } });
      for (const invalid of report.ipc.invalid[channel] as IpcResult[]) {
        // openExternal answers "not opened" to anything that is not a vetted URL
        if (invalid.ok) expect({ channel, value: invalid.value }).toEqual({ channel: "lynx:openExternal", value: false });
        else expect(invalid.error?.code, `${channel}: ${invalid.error?.message}`).toBe("INVALID_INPUT");
      }
    }
    expect(report.dialogsDuringIpc).toBe(0);
  });

  it("the built preload requires only electron and exposes only the contract's functions as window.lynx", () => {
    expect(report.preload.exposedKeys).toEqual(["lynx"]);
    expect(report.preload.requires).toEqual(["electron"]);
    const desktopExtras = ["transport", "subscribe", "openModelFile", "onMenuCommand", "openExternal", "saveChatExport"];
    expect(Object.keys(report.preload.bridge).sort()).toEqual([...new Set([...apiMethods, ...desktopExtras])].sort());
    for (const [key, type] of Object.entries(report.preload.bridge)) expect(type, key).toBe(key === "transport" ? "string" : "function");
  });
});

// Electron main process: hosts the engine (createHost), loads the bundled default model unless the
// user opens another GGUF (File > Open Model…, or drag and drop onto the window), and shows the
// renderer from app://lynx with a locked-down window.

import path from "node:path";
import { fileURLToPath } from "node:url";
import { app, BrowserWindow, dialog, Menu, session } from "electron";
import type { ModelInfo } from "../api/contract.js";
import { createHost, type LynxHost } from "../host/host.js";
import { resolveDefaultModelPath } from "../server/default-model.js";
import { registerIpc, showOpenModelDialog } from "./ipc.js";
import { buildMenu } from "./menu.js";
import { validateModelPath } from "./model-path.js";
import { handleAppProtocol, registerAppScheme } from "./protocol.js";
import { APP_ENTRY, hardenSession, hardenWebContents } from "./security.js";

// Layout (dev and packaged alike): dist/electron/main/main.js, dist/electron/preload.cjs, dist/renderer/.
const mainDir = path.dirname(fileURLToPath(import.meta.url));
const preloadPath = path.join(mainDir, "..", "preload.cjs");
const rendererDir = path.join(mainDir, "..", "..", "renderer");

app.enableSandbox();
registerAppScheme();
hardenWebContents(app);

if (!app.requestSingleInstanceLock()) {
  app.quit();
}

let mainWindow: BrowserWindow | null = null;
let host: LynxHost | null = null;
let hostReady: Promise<LynxHost> | null = null;
let modelRequested = false;

function modelFromArgs(argv: string[]): string | undefined {
  const i = argv.indexOf("--model");
  if (i >= 0) return argv[i + 1];
  return argv.find((a) => a.toLowerCase().endsWith(".gguf") && !a.startsWith("-"));
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1440,
    height: 920,
    minWidth: 820,
    minHeight: 560,
    show: false,
    title: "Lynx Chat",
    backgroundColor: "#14171c",
    webPreferences: {
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
      spellcheck: false,
      safeDialogs: true,
      // no middle-click (auxclick) navigation: it would ask for a new window (denied anyway by setWindowOpenHandler)
      disableBlinkFeatures: "Auxclick",
    },
  });
  win.once("ready-to-show", () => win.show());
  win.on("closed", () => {
    if (mainWindow === win) mainWindow = null;
  });
  void win.loadURL(APP_ENTRY);
  return win;
}

async function loadHost(modelPath: string): Promise<LynxHost> {
  try {
    // chats, tabs and settings live in Electron's per-user folder (one app instance holds it: see requestSingleInstanceLock)
    return await createHost({ modelPath, preferStoredModel: !modelRequested, dataDir: path.join(app.getPath("userData"), "store") });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = error instanceof Error ? error.message : String(error);
    const choice = await dialog.showMessageBox({
      type: "error",
      title: "Lynx Chat",
      message: `Could not load the model ${path.basename(modelPath)}`,
      detail: `${code ? `[${code}] ` : ""}${message}`,
      buttons: ["Open another model…", "Quit"],
      defaultId: 0,
      cancelId: 1,
    });
    if (choice.response === 0) {
      const picked = await showOpenModelDialog(null);
      if (picked) return loadHost(await validateModelPath(picked).catch(() => picked));
    }
    app.exit(1);
    throw error;
  }
}

async function openModel(file: string): Promise<ModelInfo> {
  const h = await (hostReady ?? Promise.reject(new Error("[INTERNAL] the host is not running")));
  return h.openModel(file);
}

async function openModelFromMenu(): Promise<void> {
  const picked = await showOpenModelDialog(mainWindow);
  if (!picked) return;
  try {
    await openModel(await validateModelPath(picked));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: string }).code;
    await dialog.showMessageBox({ type: "error", message: "Could not open the model", detail: `${code ? `[${code}] ` : ""}${message}` });
  }
}

app.on("second-instance", () => {
  if (!mainWindow) return;
  if (mainWindow.isMinimized()) mainWindow.restore();
  mainWindow.focus();
});

app.whenReady().then(async () => {
  hardenSession(session.defaultSession);
  handleAppProtocol(rendererDir);

  const requested = modelFromArgs(process.argv.slice(app.isPackaged ? 1 : 2));
  modelRequested = requested !== undefined;
  const modelPath = requested ? path.resolve(requested) : resolveDefaultModelPath(app.getAppPath(), [process.resourcesPath]);

  hostReady = loadHost(modelPath).then((h) => {
    host = h;
    return h;
  });
  registerIpc({ host: () => hostReady!, mainWindow: () => mainWindow, openModel });
  Menu.setApplicationMenu(buildMenu({ openModel: () => void openModelFromMenu(), mainWindow: () => mainWindow }));
  mainWindow = createWindow();

  app.on("activate", () => {
    if (BrowserWindow.getAllWindows().length === 0) mainWindow = createWindow();
  });
}).catch((error: unknown) => {
  dialog.showErrorBox("Lynx Chat", `Startup failed: ${error instanceof Error ? error.message : String(error)}`);
  app.exit(1);
});

app.on("window-all-closed", () => {
  if (process.platform !== "darwin") app.quit();
});

let disposing = false;
app.on("will-quit", (event) => {
  if (!host || disposing) return;
  disposing = true;
  event.preventDefault();
  const h = host;
  host = null;
  void h.dispose().finally(() => app.quit());
});

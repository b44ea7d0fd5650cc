// @ts-check
// A recording stand-in for the `electron` module, for running Lynx Chat's built main process in plain Node (the
// Electron runtime cannot be downloaded here). It implements only what main.js calls, records every registration
// (windows and their webPreferences, session handlers, protocol, IPC handlers, menu) in `record`, and answers
// dialogs with "cancel"/"quit". It is not Electron: nothing is rendered, no Chromium security applies.
// Set-up comes from the environment: LYNX_STANDIN_APP_PATH, LYNX_STANDIN_RESOURCES, LYNX_STANDIN_USER_DATA,
// LYNX_STANDIN_PACKAGED=1.
import { EventEmitter } from "node:events";
import path from "node:path";

const env = process.env;

/** Everything main registered, for the driver (drive-main.mjs) to inspect. */
export const record = {
  /** @type {Array<{ options: any, window: StandInWindow }>} */
  windows: [],
  /** @type {Array<{ template: any }>} */
  menus: [],
  /** @type {any[]} */
  privilegedSchemes: [],
  /** @type {Map<string, Function>} */
  protocolHandlers: new Map(),
  /** @type {Map<string, Function>} */
  ipcHandlers: new Map(),
  /** @type {Map<string, Function[]>} */
  ipcListeners: new Map(),
  session: {
    /** @type {Function | null} */ permissionRequest: null,
    /** @type {Function | null} */ permissionCheck: null,
    /** @type {Function | null} */ devicePermission: null,
    /** @type {Function | null} */ headersReceived: null,
    /** @type {string[]} */ events: [],
  },
  /** @type {string[]} */
  calls: [],
  /** @type {Array<{ kind: string, options: any }>} */
  dialogs: [],
  /** @type {number | null} */
  exitCode: null,
  sandboxEnabled: false,
  /** @type {string[]} */
  externalOpened: [],
};

// Electron sets process.resourcesPath (the packaged app finds its bundled model there); unpackaged, it is the
// runtime's own resources folder inside node_modules/electron
const resourcesPath = env.LYNX_STANDIN_RESOURCES ?? path.join(env.LYNX_STANDIN_APP_PATH ?? process.cwd(), "node_modules", "electron", "dist", "resources");
Object.defineProperty(process, "resourcesPath", { value: resourcesPath, configurable: true });

class StandInApp extends EventEmitter {
  isPackaged = env.LYNX_STANDIN_PACKAGED === "1";
  /** @type {Promise<void>} */
  #ready = new Promise((resolve) => setImmediate(resolve));
  whenReady() {
    return this.#ready;
  }
  enableSandbox() {
    record.sandboxEnabled = true;
  }
  requestSingleInstanceLock() {
    return true;
  }
  /** @param {string} name */
  getPath(name) {
    if (name === "userData") return env.LYNX_STANDIN_USER_DATA ?? "";
    throw new Error(`stand-in app.getPath(${name}) not provided`);
  }
  getAppPath() {
    return env.LYNX_STANDIN_APP_PATH ?? process.cwd();
  }
  getName() {
    return "Lynx Chat";
  }
  getVersion() {
    return "0.0.0-stand-in";
  }
  quit() {
    record.calls.push("app.quit");
  }
  /** @param {number} [code] */
  exit(code = 0) {
    record.calls.push(`app.exit(${code})`);
    record.exitCode = code;
  }
}

export const app = new StandInApp();

class StandInWebContents extends EventEmitter {
  mainFrame = { url: "" };
  /** @type {Function | null} */
  windowOpenHandler = null;
  /** @type {Array<{ channel: string, payload: unknown }>} */
  sent = [];
  isDestroyed() {
    return false;
  }
  /** @param {string} channel @param {unknown} payload */
  send(channel, payload) {
    this.sent.push({ channel, payload });
  }
  /** @param {Function} handler */
  setWindowOpenHandler(handler) {
    this.windowOpenHandler = handler;
  }
}

class StandInWindow extends EventEmitter {
  /** @type {StandInWindow[]} */
  static all = [];
  static getAllWindows() {
    return [...StandInWindow.all];
  }
  /** @param {any} options */
  constructor(options) {
    super();
    this.webContents = new StandInWebContents();
    this.loadedUrl = "";
    StandInWindow.all.push(this);
    record.windows.push({ options, window: this });
    // Electron emits web-contents-created for every new contents; main's hardening hangs its handlers there
    app.emit("web-contents-created", {}, this.webContents);
  }
  /** @param {string} url */
  async loadURL(url) {
    this.loadedUrl = url;
    this.webContents.mainFrame.url = url;
  }
  isDestroyed() {
    return false;
  }
  isMinimized() {
    return false;
  }
  show() {}
  focus() {}
  restore() {}
}

export const BrowserWindow = StandInWindow;

export const dialog = {
  /** @param {...any} args */
  async showMessageBox(...args) {
    record.dialogs.push({ kind: "messageBox", options: args.at(-1) });
    return { response: 1, checkboxChecked: false };
  },
  /** @param {...any} args */
  async showOpenDialog(...args) {
    record.dialogs.push({ kind: "open", options: args.at(-1) });
    return { canceled: true, filePaths: [] };
  },
  /** @param {...any} args */
  async showSaveDialog(...args) {
    record.dialogs.push({ kind: "save", options: args.at(-1) });
    return { canceled: true, filePath: "" };
  },
  /** @param {string} title @param {string} content */
  showErrorBox(title, content) {
    record.dialogs.push({ kind: "error", options: { title, content } });
  },
};

export const Menu = {
  /** @param {any} template */
  buildFromTemplate(template) {
    return { template };
  },
  /** @param {any} menu */
  setApplicationMenu(menu) {
    record.menus.push(menu);
  },
};

const webRequest = {
  /** @param {Function} handler */
  onHeadersReceived(handler) {
    record.session.headersReceived = handler;
  },
};

export const session = {
  defaultSession: {
    /** @param {Function} handler */
    setPermissionRequestHandler(handler) {
      record.session.permissionRequest = handler;
    },
    /** @param {Function} handler */
    setPermissionCheckHandler(handler) {
      record.session.permissionCheck = handler;
    },
    /** @param {Function} handler */
    setDevicePermissionHandler(handler) {
      record.session.devicePermission = handler;
    },
    webRequest,
    /** @param {string} event */
    on(event) {
      record.session.events.push(event);
    },
  },
};

export const protocol = {
  /** @param {any[]} schemes */
  registerSchemesAsPrivileged(schemes) {
    record.privilegedSchemes.push(...schemes);
  },
  /** @param {string} scheme @param {Function} handler */
  handle(scheme, handler) {
    record.protocolHandlers.set(scheme, handler);
  },
};

export const ipcMain = {
  /** @param {string} channel @param {Function} handler */
  handle(channel, handler) {
    if (record.ipcHandlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    record.ipcHandlers.set(channel, handler);
  },
  /** @param {string} channel */
  removeHandler(channel) {
    record.ipcHandlers.delete(channel);
  },
  /** @param {string} channel @param {Function} listener */
  on(channel, listener) {
    record.ipcListeners.set(channel, [...(record.ipcListeners.get(channel) ?? []), listener]);
  },
  /** @param {string} channel @param {Function} listener */
  off(channel, listener) {
    record.ipcListeners.set(channel, (record.ipcListeners.get(channel) ?? []).filter((l) => l !== listener));
  },
};

export const shell = {
  /** @param {string} url */
  async openExternal(url) {
    record.externalOpened.push(url);
  },
};

export default { app, BrowserWindow, dialog, Menu, session, protocol, ipcMain, shell };

// Application menu. Commands that concern the active tab go to the renderer (it knows which tab is
// active); model opening runs here.

import { app, Menu, type BrowserWindow, type MenuItemConstructorOptions } from "electron";
import { IPC_MENU, type MenuCommand } from "../api/desktop.js";
import { openExternalIfVetted } from "./security.js";

export interface MenuActions {
  openModel(): void;
  mainWindow(): BrowserWindow | null;
}

export function buildMenu(actions: MenuActions): Menu {
  const send = (command: MenuCommand) => () => actions.mainWindow()?.webContents.send(IPC_MENU, command);
  const isMac = process.platform === "darwin";
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: "appMenu" as const }] : []),
    {
      label: "&File",
      submenu: [
        { label: "New Chat", accelerator: "CmdOrCtrl+T", click: send("newChat") },
        { label: "Close Chat", accelerator: "CmdOrCtrl+W", click: send("closeChat") },
        { label: "Rename Chat", accelerator: "F2", click: send("renameChat") },
        { type: "separator" },
        { label: "Open Model…", accelerator: "CmdOrCtrl+O", click: () => actions.openModel() },
        { type: "separator" },
        isMac ? { role: "close" } : { role: "quit" },
      ],
    },
    { role: "editMenu" },
    {
      label: "&Chat",
      submenu: [
        { label: "Focus Message Box", accelerator: "CmdOrCtrl+L", click: send("focusComposer") },
        { label: "Stop Generating", accelerator: "CmdOrCtrl+.", click: send("stop") },
      ],
    },
    {
      label: "&View",
      submenu: [
        { label: "Toggle Dark Theme", accelerator: "CmdOrCtrl+Shift+D", click: send("toggleTheme") },
        { type: "separator" },
        { role: "resetZoom" },
        { role: "zoomIn" },
        { role: "zoomOut" },
        { type: "separator" },
        { role: "togglefullscreen" },
        ...(app.isPackaged ? [] : [{ type: "separator" as const }, { role: "reload" as const }, { role: "toggleDevTools" as const }]),
      ],
    },
    { role: "windowMenu" },
    {
      role: "help",
      submenu: [
        {
          label: "node-llama-cpp documentation",
          click: () => void openExternalIfVetted("https://node-llama-cpp.withcat.ai/"),
        },
        {
          label: "Electron security checklist",
          click: () => void openExternalIfVetted("https://www.electronjs.org/docs/latest/tutorial/security"),
        },
      ],
    },
  ];
  return Menu.buildFromTemplate(template);
}

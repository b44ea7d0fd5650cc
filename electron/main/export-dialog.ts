// Exports a chat to a file the user picks: Electron blocks downloads (security.ts), so the History panel's
// export goes through a save dialog here. The content comes from the host, never from the page.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { app, dialog, type BrowserWindow } from "electron";
import type { ChatId, ExportFormat, LynxApi } from "../api/contract.js";

export async function saveChatExportWithDialog(host: LynxApi, win: BrowserWindow | null, chatId: ChatId, format: ExportFormat): Promise<string | null> {
  const file = await host.exportChat(chatId, format);
  const options: Electron.SaveDialogOptions = {
    title: "Export chat",
    defaultPath: path.join(app.getPath("documents"), file.fileName),
    filters: format === "markdown" ? [{ name: "Markdown", extensions: ["md"] }] : [{ name: "JSON", extensions: ["json"] }],
  };
  const result = win ? await dialog.showSaveDialog(win, options) : await dialog.showSaveDialog(options);
  if (result.canceled || !result.filePath) return null;
  await writeFile(result.filePath, file.content, "utf8");
  return result.filePath;
}

// The platform's user data folder for web mode and the CLI (Electron uses app.getPath("userData")).
import os from "node:os";
import path from "node:path";

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  const home = os.homedir();
  if (platform === "win32") return path.join(env.APPDATA || path.join(home, "AppData", "Roaming"), "lynx-chat");
  if (platform === "darwin") return path.join(home, "Library", "Application Support", "lynx-chat");
  const xdg = env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : path.join(home, ".local", "share");
  return path.join(xdg, "lynx-chat");
}

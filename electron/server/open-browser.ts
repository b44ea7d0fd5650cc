// Opens a URL in the desktop's default browser, only where a display exists.

import { spawn } from "node:child_process";

/** Opens a URL in the desktop's browser if there is a desktop; returns whether it tried. */
export function openInBrowser(url: string): boolean {
  const platform = process.platform;
  let command: string;
  let args: string[];
  if (platform === "darwin") {
    command = "open";
    args = [url];
  } else if (platform === "win32") {
    command = "cmd";
    args = ["/c", "start", "", url];
  } else {
    if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return false;
    command = "xdg-open";
    args = [url];
  }
  try {
    const child = spawn(command, args, { stdio: "ignore", detached: true });
    child.on("error", () => console.error(`Could not run ${command}; open the URL yourself.`));
    child.unref();
    return true;
  } catch {
    return false;
  }
}

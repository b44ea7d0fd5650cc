// Security hardening shared by the main process: session permissions, CSP, navigation and window
// creation, webviews, downloads, external links. See docs/security.md for the checklist mapping.

import { shell, type App, type Session, type WebContents } from "electron";
import { isVettedExternalUrl } from "../api/desktop.js";

export const APP_SCHEME = "app";
export const APP_HOST = "lynx";
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY = `${APP_ORIGIN}/index.html`;

/** The renderer talks to main over IPC only: no network access at all (connect-src 'none'). */
export const RENDERER_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'none'",
  "media-src 'none'",
  "object-src 'none'",
  "frame-src 'none'",
  "worker-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** True for URLs served by our own app:// protocol handler. */
export function isAppUrl(raw: string | undefined | null): boolean {
  if (!raw) return false;
  try {
    const url = new URL(raw);
    return url.protocol === `${APP_SCHEME}:` && url.host === APP_HOST;
  } catch {
    return false;
  }
}

/** Opens a link in the system browser only when it is a vetted https URL. */
export async function openExternalIfVetted(url: string): Promise<boolean> {
  if (!isVettedExternalUrl(url)) return false;
  await shell.openExternal(url, { activate: true });
  return true;
}

/** Denies every permission request (camera, microphone, notifications, geolocation, HID, ...). */
export function hardenSession(ses: Session): void {
  ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  ses.setDevicePermissionHandler(() => false);
  // Belt and braces: every response gets the CSP, even one not produced by our protocol handler.
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: {
        ...details.responseHeaders,
        "Content-Security-Policy": [RENDERER_CSP],
        "X-Content-Type-Options": ["nosniff"],
      },
    });
  });
  // Nothing in the app downloads files.
  ses.on("will-download", (event) => event.preventDefault());
}

/** Navigation, new windows and webviews are blocked for every web contents the app creates. */
export function hardenWebContents(app: App): void {
  app.on("web-contents-created", (_event, contents: WebContents) => {
    contents.on("will-navigate", (event, url) => {
      event.preventDefault();
      if (!isAppUrl(url)) void openExternalIfVetted(url);
    });
    contents.on("will-redirect", (event, url) => {
      if (!isAppUrl(url)) event.preventDefault();
    });
    contents.on("will-frame-navigate", (event) => {
      if (!isAppUrl(event.url)) event.preventDefault();
    });
    contents.setWindowOpenHandler(({ url }) => {
      void openExternalIfVetted(url);
      return { action: "deny" };
    });
    contents.on("will-attach-webview", (event) => event.preventDefault());
  });
}

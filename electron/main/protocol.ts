// app://lynx/ serves the built renderer from disk (instead of file://): a standard, secure scheme
// with its own origin, path traversal refused, CSP on every response.

import { readFile } from "node:fs/promises";
import path from "node:path";
import { protocol } from "electron";
import { APP_HOST, APP_SCHEME, RENDERER_CSP } from "./security.js";

const mime: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
};

/** Must run before app 'ready'. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: false, corsEnabled: false, stream: false } },
  ]);
}

export function resolveAppPath(rendererDir: string, requestUrl: string): string | null {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return null;
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return null;
  let rel: string;
  try {
    rel = decodeURIComponent(url.pathname);
  } catch {
    return null;
  }
  if (rel.includes("\0")) return null;
  const root = path.resolve(rendererDir);
  const file = path.resolve(root, "." + path.posix.normalize(rel === "/" ? "/index.html" : rel));
  if (file !== root && !file.startsWith(root + path.sep)) return null;
  return file;
}

export function handleAppProtocol(rendererDir: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const file = resolveAppPath(rendererDir, request.url);
    const headers = { "Content-Security-Policy": RENDERER_CSP, "X-Content-Type-Options": "nosniff" };
    if (!file) return new Response("Forbidden", { status: 403, headers });
    try {
      const body = await readFile(file);
      return new Response(body, {
        status: 200,
        headers: { ...headers, "Content-Type": mime[path.extname(file).toLowerCase()] ?? "application/octet-stream" },
      });
    } catch {
      return new Response("Not found", { status: 404, headers });
    }
  });
}

// A local HTTP server for the download tests: serves model files with Range requests and optional throttling, and
// misbehaves on purpose on some routes. It counts the body bytes it sends, per route and for ranged requests.
// (plain routes are under /plain/):
//   /files/NAME          the file (Accept-Ranges: bytes, ETag = its sha256)
//   /die-once/NAME       like /files, but the first body it sends is cut at half the file (the socket dies)
//   /missing/NAME        404
//   /short/NAME          Content-Length 4 KiB less than the file, no ranges: a truncated transfer that looks complete
//   /short-linked/NAME   the same, but announcing the real size as X-Linked-Size (as Hugging Face does)
// and a small Hugging Face emulation for node-llama-cpp's hf: URIs (endpoint = the server's origin):
//   /v2/USER/REPO/manifests/TAG             {"ggufFile": {"rfilename": NAME}}
//   /USER/REPO/resolve/main/NAME            302 to /files/NAME with X-Linked-Size and X-Linked-Etag (the sha256)
import { createHash } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

export interface ServedFile {
  name: string;
  bytes: Buffer;
  sha256: string;
}

export interface ModelServer {
  origin: string;
  /** Body bytes sent, all requests. */
  sentBytes(): number;
  /** Body bytes sent for requests with a Range header (the downloader's transfers, not its probes). */
  rangedBytes(): number;
  requests: Array<{ method: string; url: string; range: string | null }>;
  /** Bytes per second for every body (0: unthrottled). */
  throttle: number;
  close(): Promise<void>;
}

const piece = 64 * 1024;

export async function startModelServer(files: string[], options: { throttle?: number; manifestFile?: string } = {}): Promise<ModelServer> {
  const served = new Map<string, ServedFile>();
  for (const file of files) {
    const bytes = fs.readFileSync(file);
    served.set(path.basename(file), { name: path.basename(file), bytes, sha256: createHash("sha256").update(bytes).digest("hex") });
  }
  let sent = 0;
  let ranged = 0;
  let diedOnce = false;
  const sockets = new Set<import("node:net").Socket>();

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const range = req.headers.range ?? null;
    state.requests.push({ method: req.method ?? "GET", url: url.pathname, range });
    const all = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    // plain URLs carry a /plain prefix: node-llama-cpp reads two-segment URLs on its Hugging Face endpoint as hf: URIs
    const plain = all[0] === "plain";
    const parts = plain ? all.slice(1) : all;

    // Hugging Face emulation
    if (!plain && parts[0] === "v2" && parts[3] === "manifests") {
      const name = options.manifestFile ?? [...served.keys()][0]!;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ ggufFile: { rfilename: name } }));
      return;
    }
    if (!plain && parts.length >= 5 && parts[2] === "resolve") {
      const file = served.get(parts.slice(4).join("/"));
      if (!file) return notFound(res);
      res.writeHead(302, { location: `/plain/files/${encodeURIComponent(file.name)}`, "x-linked-size": String(file.bytes.length), "x-linked-etag": `"${file.sha256}"` });
      res.end();
      return;
    }

    const [route, name] = [parts[0], parts.slice(1).join("/")];
    const file = name ? served.get(name) : undefined;
    if (!file || route === "missing") return notFound(res);

    if (route === "short" || route === "short-linked") {
      const length = file.bytes.length - 4096;
      const headers: Record<string, string> = { "content-length": String(length), "content-type": "application/octet-stream" };
      if (route === "short-linked") headers["x-linked-size"] = String(file.bytes.length);
      res.writeHead(200, headers);
      if (req.method === "HEAD") return res.end();
      void pump(res, file.bytes.subarray(0, length), false, Infinity);
      return;
    }
    if (route !== "files" && route !== "die-once") return notFound(res);

    const total = file.bytes.length;
    let start = 0;
    let end = total - 1;
    const m = range ? /^bytes=(\d*)-(\d*)$/.exec(range) : null;
    if (m) {
      start = m[1] ? Number(m[1]) : Math.max(0, total - Number(m[2]));
      end = m[1] && m[2] ? Math.min(Number(m[2]), total - 1) : total - 1;
      if (start > end || start >= total) {
        res.writeHead(416, { "content-range": `bytes */${total}` });
        return res.end();
      }
    }
    const headers: Record<string, string> = {
      "accept-ranges": "bytes",
      "content-type": "application/octet-stream",
      "content-length": String(end - start + 1),
      etag: `"${file.sha256}"`,
    };
    if (m) headers["content-range"] = `bytes ${start}-${end}/${total}`;
    res.writeHead(m ? 206 : 200, headers);
    if (req.method === "HEAD") return res.end();
    // the connection dies once, half way through the file, on the first real transfer
    let cutAt = Infinity;
    if (route === "die-once" && !diedOnce && m) {
      diedOnce = true;
      cutAt = Math.max(0, Math.floor(total / 2) - start);
    }
    void pump(res, file.bytes.subarray(start, end + 1), !!m, cutAt);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  async function pump(res: http.ServerResponse, body: Buffer, isRanged: boolean, cutAt: number) {
    let offset = 0;
    let closed = false;
    res.on("close", () => (closed = true));
    const started = Date.now();
    while (offset < body.length && !closed) {
      if (offset >= cutAt) {
        res.socket?.destroy();
        return;
      }
      const chunk = body.subarray(offset, Math.min(body.length, offset + piece, cutAt === Infinity ? Infinity : cutAt));
      const ok = res.write(chunk);
      offset += chunk.length;
      sent += chunk.length;
      if (isRanged) ranged += chunk.length;
      if (!ok) await new Promise<void>((resolve) => {
        const done = () => {
          res.off("drain", done);
          res.off("close", done);
          resolve();
        };
        res.on("drain", done);
        res.on("close", done);
      });
      if (state.throttle > 0) {
        const due = started + (offset / state.throttle) * 1000;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    }
    if (!closed) res.end();
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const state: ModelServer = {
    origin: `http://127.0.0.1:${port}`,
    sentBytes: () => sent,
    rangedBytes: () => ranged,
    requests: [],
    throttle: options.throttle ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return state;
}

function notFound(res: http.ServerResponse) {
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("not found");
}

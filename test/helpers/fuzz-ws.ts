// Web mode's WebSocket side of the fuzzer. The socket only carries events to the page, so every message a client
// sends must get a typed error back (host.error, INVALID_INPUT) and change nothing; a frame the protocol forbids
// (over maxPayload, text that is not UTF-8) closes that socket, and a new one must connect. A few upgrade
// requests are malformed too (wrong path, no token, foreign origin, a client that resets mid-handshake).

import { isUtf8 } from "node:buffer";
import net from "node:net";
import WebSocket from "ws";
import { WS_PATH } from "../../electron/server/web-server.js";
import { fuzzCase, randomJson, toJsonBytes, type ChatResolver } from "./fuzz-messages.js";
import { rngFor } from "./fuzz-rng.js";

export const WS_MAX_PAYLOAD = 64 * 1024;
const replyTimeoutMs = 10_000;

export interface WsLaneStats {
  sent: number;
  typedReplies: number;
  closedByProtocol: Record<string, number>;
  reconnects: number;
  upgrades: Record<string, number>;
  byKind: Record<string, number>;
}

export interface WsFailure {
  index: number;
  kind: string;
  problem: string;
}

export class WsFuzzLane {
  readonly stats: WsLaneStats = { sent: 0, typedReplies: 0, closedByProtocol: {}, reconnects: 0, upgrades: {}, byKind: {} };
  private ws: WebSocket | null = null;
  private pendingReply: ((ok: boolean) => void) | null = null;
  private closeWaiter: ((code: number) => void) | null = null;

  constructor(
    private readonly seed: number,
    private readonly port: number,
    private readonly token: string,
    private readonly resolve: ChatResolver,
  ) {}

  private get url() {
    return `ws://127.0.0.1:${this.port}${WS_PATH}?token=${encodeURIComponent(this.token)}`;
  }

  private async connect(): Promise<WebSocket> {
    const ws = new WebSocket(this.url, { headers: { origin: `http://127.0.0.1:${this.port}` }, maxPayload: 256 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    ws.on("error", () => {});
    ws.on("message", (data, isBinary) => {
      if (isBinary) return; // telemetry
      let event: { type?: string; code?: string; message?: string };
      try {
        event = JSON.parse(String(data));
      } catch {
        return;
      }
      if (event.type === "host.error" && event.code === "INVALID_INPUT" && /only carries events/.test(event.message ?? "")) {
        const waiter = this.pendingReply;
        this.pendingReply = null;
        waiter?.(true);
      }
    });
    ws.on("close", (code) => {
      if (this.ws === ws) this.ws = null;
      this.pendingReply?.(false);
      this.pendingReply = null;
      this.closeWaiter?.(code);
      this.closeWaiter = null;
    });
    this.ws = ws;
    return ws;
  }

  private count(kind: string) {
    this.stats.byKind[kind] = (this.stats.byKind[kind] ?? 0) + 1;
  }

  /** Sends message `index`; resolves with a failure description, or null when the server answered as it must. */
  async step(index: number): Promise<WsFailure | null> {
    const rng = rngFor(this.seed, "ws", index);
    const r = rng.next();
    if (r < 0.03) return this.upgradeCase(index, rng.int(0, 3));
    const ws = this.ws ?? (await this.connectCounted());
    let kind: string;
    let payload: Buffer | string;
    let binary = false;
    let violation: "too-big" | "bad-utf8" | null = null;
    if (r < 0.45) {
      const c = fuzzCase(this.seed, 1_000_000 + index);
      kind = "api-call-shaped";
      payload = Buffer.concat([Buffer.from(`{"method":${JSON.stringify(c.method)},"args":`), toJsonBytes(c.args, this.resolve), Buffer.from("}")]);
    } else if (r < 0.6) {
      kind = "random-json";
      payload = JSON.stringify(randomJson(rng));
    } else if (r < 0.68) {
      kind = "garbage-text";
      payload = Array.from({ length: rng.int(0, 300) }, () => String.fromCodePoint(rng.int(0x20, 0x2fff))).join("");
    } else if (r < 0.78) {
      kind = "binary";
      binary = true;
      payload = Buffer.from(Array.from({ length: rng.int(0, 2000) }, () => rng.int(0, 255)));
    } else if (r < 0.82) {
      kind = "empty";
      payload = "";
    } else if (r < 0.86) {
      kind = "max-payload";
      payload = Buffer.alloc(WS_MAX_PAYLOAD, 0x61);
    } else if (r < 0.93) {
      kind = "over-max-payload";
      payload = Buffer.alloc(WS_MAX_PAYLOAD + rng.pick([1, 100, rng.int(1, 200_000)]), 0x62);
      binary = rng.chance(0.5);
      violation = "too-big";
    } else {
      kind = "invalid-utf8-text";
      payload = Buffer.concat([Buffer.from('{"method":"send","args":["x","'), Buffer.from(rng.pick([[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0x80]])), Buffer.from('"]}')]);
      violation = "bad-utf8";
    }
    // a message the protocol refuses, whatever it holds: larger than maxPayload, or text that is not UTF-8
    const bytes = typeof payload === "string" ? Buffer.from(payload) : payload;
    if (bytes.length > WS_MAX_PAYLOAD) violation = "too-big";
    else if (!binary && !isUtf8(bytes)) violation = "bad-utf8";
    this.count(kind);
    this.stats.sent++;
    if (violation) {
      const closed = new Promise<number>((resolve) => (this.closeWaiter = resolve));
      ws.send(payload, { binary });
      const code = await withTimeout(closed, replyTimeoutMs, -1);
      const allowed = violation === "too-big" ? [1009, 1006] : [1007, 1006];
      if (!allowed.includes(code)) return { index, kind, problem: `expected the socket to close (${allowed.join(" or ")}), got ${code === -1 ? "no close" : code}` };
      this.stats.closedByProtocol[String(code)] = (this.stats.closedByProtocol[String(code)] ?? 0) + 1;
      return null;
    }
    const replied = new Promise<boolean>((resolve) => (this.pendingReply = resolve));
    ws.send(payload, { binary });
    const ok = await withTimeout(replied, replyTimeoutMs, false);
    if (!ok) return { index, kind, problem: "no typed host.error reply to a client message" };
    this.stats.typedReplies++;
    return null;
  }

  private async connectCounted() {
    this.stats.reconnects++;
    return this.connect();
  }

  private async upgradeCase(index: number, which: number): Promise<WsFailure | null> {
    const kinds = ["upgrade wrong path", "upgrade without token", "upgrade foreign origin", "upgrade reset mid-handshake"];
    const kind = kinds[which]!;
    this.count(kind);
    this.stats.sent++;
    let status: number;
    if (which === 3) {
      status = await new Promise<number>((resolve) => {
        const socket = net.connect(this.port, "127.0.0.1", () => {
          socket.write(`GET ${WS_PATH}?token=${encodeURIComponent(this.token)} HTTP/1.1\r\nHost: 127.0.0.1:${this.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`);
          setTimeout(() => {
            socket.resetAndDestroy();
            resolve(0);
          }, 5);
        });
        socket.on("error", () => resolve(0));
      });
    } else {
      const base = `ws://127.0.0.1:${this.port}`;
      const url = which === 0 ? `${base}/api/wss?token=${encodeURIComponent(this.token)}` : which === 1 ? `${base}${WS_PATH}` : this.url;
      const origin = which === 2 ? "http://evil.example" : `http://127.0.0.1:${this.port}`;
      status = await new Promise<number>((resolve) => {
        const ws = new WebSocket(url, { headers: { origin } });
        ws.on("open", () => {
          ws.close();
          resolve(101);
        });
        ws.on("unexpected-response", (_req, res) => {
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.on("error", () => resolve(-1));
      });
    }
    this.stats.upgrades[String(status)] = (this.stats.upgrades[String(status)] ?? 0) + 1;
    const expected = [404, 401, 403, 0][which]!;
    return status === expected ? null : { index, kind, problem: `expected HTTP ${expected}, got ${status}` };
  }

  close() {
    this.ws?.terminate();
    this.ws = null;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(fallback), ms);
    promise.then((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

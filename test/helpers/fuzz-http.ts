// Web mode's side of the fuzzer: renders a FuzzCase as an HTTP request (envelopes, verbs, content types,
// truncated, oversized and BOM-prefixed bodies, junk cookies), says what the server must answer, and sends it.

import http from "node:http";
import net from "node:net";
import { desktopOnlyMethods, engineErrorCodes, isApiMethod, validateApiArgs, type ApiErrorBody } from "../../electron/api/schemas.js";
import { MAX_BODY_BYTES, TOKEN_HEADER } from "../../electron/server/web-server.js";
import { randomJson, toJsonBytes, type ChatResolver, type FuzzCase } from "./fuzz-messages.js";
import { rngFor } from "./fuzz-rng.js";

export interface HttpRequestSpec {
  verb: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  /** How the request differs from a plain POST /api/<method> {"args": [...]}. */
  transport: string;
  /** Sent over a raw socket that declares more body than it sends, then closes. */
  cutShort?: boolean;
}

/** What the server must answer: a fixed status (and API error code), or a dispatch to the host. */
export type HttpExpectation =
  | { kind: "status"; status: number; code?: ApiErrorBody["code"]; json: boolean }
  | { kind: "dispatch"; method: string; args: unknown[] }
  | { kind: "cut-short" };

/** The HTTP status of each API error code (the web server's table, restated here as the spec). */
export const statusOfCode: Record<string, number> = {
  INVALID_INPUT: 400,
  CHAT_NOT_FOUND: 404,
  MODEL_NOT_FOUND: 404,
  CHAT_BUSY: 409,
  CONTEXT_FULL: 422,
  NOT_GGUF: 422,
  TRUNCATED_GGUF: 422,
  CORRUPT_GGUF: 422,
  UNSUPPORTED_ARCHITECTURE: 422,
};

function pathFor(method: string): string {
  // characters a URL path may carry as they are stay raw (so "..", "%2e%2e" and "?" reach the parser); others are escaped
  return "/api/" + (/^[A-Za-z0-9._~!$&'()*+,;=:@%?-]*$/.test(method) ? method : encodeURIComponent(method));
}

export function renderHttp(seed: number, c: FuzzCase, resolve: ChatResolver, token: string, hostHeader: string): HttpRequestSpec {
  const rng = rngFor(seed, "http", c.index);
  const args = toJsonBytes(c.args, resolve);
  const headers: Record<string, string> = { host: hostHeader, [TOKEN_HEADER]: token, "content-type": "application/json" };
  let body: Buffer;
  let transport: string;
  const e = rng.next();
  if (e < 0.7) [body, transport] = [Buffer.concat([Buffer.from('{"args":'), args, Buffer.from("}")]), "plain"];
  else if (e < 0.82) [body, transport] = [args, "bare-args"];
  else if (e < 0.9) [body, transport] = [Buffer.concat([Buffer.from('{"args":'), args, Buffer.from(`,${JSON.stringify(rng.pick(["extra", "__proto__", "constructor", "method"]))}:`), toJsonBytes(randomJson(rng), resolve), Buffer.from("}")]), "extra-field"];
  else [body, transport] = [Buffer.from(rng.pick(["", "null", "{}", "[]", '{"args":null}', "0", '"args"', "true"])), "odd-envelope"];

  let verb = "POST";
  let path = pathFor(c.method);
  let cutShort = false;
  const t = rng.next();
  if (t < 0.04) {
    verb = rng.pick(["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]);
    transport += ` verb:${verb}`;
  } else if (t < 0.09) {
    const type = rng.pick(["", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json-seq", "application/jsonp", "application/json; charset=utf-8", "APPLICATION/JSON", " application/json ", "application/json;foo=bar", "application/json, text/plain"]);
    if (type === "") delete headers["content-type"];
    else headers["content-type"] = type;
    transport += ` content-type:${JSON.stringify(type)}`;
  } else if (t < 0.14) {
    body = body.subarray(0, rng.int(0, Math.max(0, body.length - 1)));
    transport += " truncated-json";
  } else if (t < 0.17) {
    const size = MAX_BODY_BYTES + rng.pick([1, 1000, rng.int(1, MAX_BODY_BYTES)]);
    body = Buffer.concat([body, Buffer.alloc(Math.max(0, size - body.length), 0x20)]);
    transport += ` oversized:${body.length}`;
  } else if (t < 0.19) {
    body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body]);
    transport += " bom";
  } else if (t < 0.23) {
    headers.cookie = rng.pick(["lynx_token=%E0%A4%A", "lynx_token=%", "a=%zz; lynx_token=wrong", "=; ;;;=x", "lynx_token=" + "%41".repeat(1000), "x=\u00ff"]);
    transport += ` cookie:${JSON.stringify(headers.cookie.slice(0, 24))}`;
  } else if (t < 0.26) {
    path += rng.pick(["?x=1", "?token=wrong", "#frag", "?args=[1]"]);
    transport += " query";
  } else if (t < 0.27) {
    cutShort = true;
    transport += " cut-short";
  }
  return { verb, path, headers, body, transport, ...(cutShort ? { cutShort } : {}) };
}

/** What the server must answer to `spec` (the API's documented order of checks). */
export function expectHttp(spec: HttpRequestSpec): HttpExpectation {
  if (spec.cutShort) {
    // what does not need the body is answered before it (verb, type, method, declared length); the rest waits
    // for a body that never comes
    const early = expectHttp({ ...spec, cutShort: false, body: Buffer.alloc(spec.body.length + cutShortMissing, 0x20) });
    return early.kind === "status" && early.status !== 400 ? early : { kind: "cut-short" };
  }
  const url = new URL(spec.path, "http://127.0.0.1");
  if (!url.pathname.startsWith("/api/")) {
    // the path normalised out of /api/ (e.g. /api/..): a static page request, which only allows GET and HEAD
    return spec.verb === "GET" || spec.verb === "HEAD" ? { kind: "status", status: -1, json: false } : { kind: "status", status: spec.verb === "OPTIONS" ? 204 : 405, json: false };
  }
  if (spec.verb === "OPTIONS") return { kind: "status", status: 204, json: false };
  if (spec.verb !== "POST") return { kind: "status", status: 405, code: "INVALID_INPUT", json: spec.verb !== "HEAD" };
  const type = (spec.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json") return { kind: "status", status: 415, code: "INVALID_INPUT", json: true };
  const method = url.pathname.slice("/api/".length);
  if (!isApiMethod(method) || desktopOnlyMethods.has(method)) return { kind: "status", status: 404, code: "INVALID_INPUT", json: true };
  if (spec.body.length > MAX_BODY_BYTES) return { kind: "status", status: 413, code: "INVALID_INPUT", json: true };
  let parsed: unknown;
  try {
    parsed = spec.body.length === 0 ? {} : JSON.parse(spec.body.toString("utf8"));
  } catch {
    return { kind: "status", status: 400, code: "INVALID_INPUT", json: true };
  }
  const args = Array.isArray(parsed) ? parsed : ((parsed as { args?: unknown } | null)?.args ?? []);
  const checked = validateApiArgs(method, args);
  if (!checked.ok) return { kind: "status", status: 400, code: "INVALID_INPUT", json: true };
  return { kind: "dispatch", method, args: checked.args as unknown[] };
}

/** Bytes a cut-short request declares but never sends. */
const cutShortMissing = 100;

export interface HttpAnswer {
  status: number;
  body: Buffer;
  /** The connection closed without an answer (only expected for a cut-short request). */
  closed?: boolean;
}

/** Sends one request; resolves with the answer (or `closed`), never rejects. */
export function sendHttp(port: number, agent: http.Agent, spec: HttpRequestSpec): Promise<HttpAnswer> {
  if (spec.cutShort) return sendCutShort(port, spec);
  return new Promise((resolve) => {
    let req: http.ClientRequest;
    try {
      // an explicit length: Node's client sends the body of a DELETE or OPTIONS unframed otherwise
      const headers = spec.verb === "GET" || spec.verb === "HEAD" ? spec.headers : { ...spec.headers, "content-length": String(spec.body.length) };
      req = http.request({ host: "127.0.0.1", port, method: spec.verb, path: spec.path, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on("error", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), closed: true }));
      });
    } catch (error) {
      resolve({ status: -2, body: Buffer.from(String(error)), closed: true });
      return;
    }
    req.on("error", (error) => resolve({ status: 0, body: Buffer.from(String(error)), closed: true }));
    if (spec.verb === "GET" || spec.verb === "HEAD") req.end();
    else req.end(spec.body);
  });
}

/** A request that declares a longer body than it sends, then closes its side: the server must not wait forever or fall over. */
function sendCutShort(port: number, spec: HttpRequestSpec): Promise<HttpAnswer> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const head = [`POST ${spec.path} HTTP/1.1`, ...Object.entries(spec.headers).map(([k, v]) => `${k}: ${v}`), `content-length: ${spec.body.length + cutShortMissing}`, "connection: close", "", ""].join("\r\n");
    socket.on("connect", () => {
      socket.write(head);
      socket.end(spec.body);
    });
    socket.on("data", (c: Buffer) => chunks.push(c));
    const done = () => {
      const text = Buffer.concat(chunks).toString("latin1");
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: status ? Number(status[1]) : 0, body: Buffer.from(text.split("\r\n\r\n").slice(1).join("\r\n\r\n"), "latin1"), closed: !status });
    };
    socket.on("close", done);
    socket.on("error", () => {});
    socket.setTimeout(5000, () => socket.destroy());
  });
}

/** Checks an error answer's body: {"error": {"code": <a known code>, "message": <string>}}. */
export function typedErrorOf(body: Buffer): ApiErrorBody | null {
  try {
    const parsed = JSON.parse(body.toString("utf8")) as { error?: { code?: unknown; message?: unknown } };
    const e = parsed?.error;
    if (e && typeof e.code === "string" && (engineErrorCodes as readonly string[]).includes(e.code) && typeof e.message === "string") {
      return { code: e.code as ApiErrorBody["code"], message: e.message };
    }
  } catch {
    // not JSON
  }
  return null;
}

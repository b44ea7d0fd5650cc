// The message generator shared by the web-mode and the IPC fuzzers. It is driven by the API's own zod schemas
// (apiArgSchemas, through their JSON Schema), so a method added to the contract is fuzzed without a change here:
// valid calls, valid calls with one field mutated, random arguments, unknown methods and wrong arities.
// Values that the transports render differently (NaN, 1e999, invalid UTF-8, depth bombs, undefined, BigInt)
// are `Special`s; chat ids are `ChatRef`s, resolved when the message is sent against the chats that door opened.

import { z } from "zod";
import { apiArgSchemas, apiMethods, chatIdSchema } from "../../electron/api/schemas.js";
import { rngFor, type Rng } from "./fuzz-rng.js";

/** A value with one rendering per transport: JSON text (or bytes) for HTTP, a JavaScript value for IPC. */
export class Special {
  constructor(
    readonly label: string,
    readonly json: string | Buffer,
    readonly js: () => unknown,
  ) {}
}

/** A chat id chosen at send time: `known` picks one of the door's chats, `unknown` a well-formed id of no chat. */
export class ChatRef {
  constructor(
    readonly pick: number,
    readonly kind: "known" | "unknown",
  ) {}
}

export interface FuzzCase {
  index: number;
  /** What kind of message this is, e.g. "valid", "mutate:huge-string", "random-args", "unknown-method". */
  family: string;
  method: string;
  /** The call's arguments (an array for most families; mutated ones may hold anything). */
  args: unknown;
}

interface JsonSchema {
  type?: string | string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  const?: unknown;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  prefixItems?: JsonSchema[];
  items?: JsonSchema | false;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
}

const toJsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;

/** The JSON Schema of each method's argument tuple, computed from the live schema table. */
export const methodSchemas: ReadonlyMap<string, JsonSchema> = new Map(apiMethods.map((m) => [m, toJsonSchema(apiArgSchemas[m])]));
const chatIdPattern = toJsonSchema(chatIdSchema).pattern;

// ---------------------------------------------------------------------------------------------------------------
// building blocks

const words = ["hello", "world", "expert", "router", "token", "chat", "lynx", "mixture", "batch", "sea", "count", "five", "why", "the"];
const exotic = [
  "é", "ß", "日本語", "🙂", "👩‍👩‍👧", "\u202e", "\u0000", "\t", "\n", "\r\n", "\\", '"', "</script>", "${x}", "%s%n",
  "'; DROP TABLE chats; --", "\ufeff", "\u2028", "\ud83d", "\udc00", "\u200b", "\u{10ffff}", "\uffff", "{{ }}", "<|im_end|>",
];

function text(rng: Rng, min: number, max: number): string {
  const target = rng.chance(0.004) ? max : rng.int(Math.max(min, 1), Math.max(Math.min(max, 40), Math.max(min, 1)));
  if (target > 200) {
    // long strings: a random phrase repeated (cheap to build, still varied)
    const unit = text(rng, 1, 30) + " ";
    return (words[0]! + unit.repeat(Math.ceil(target / unit.length))).slice(0, target);
  }
  // starts with a word, so it is never blank; the cut may split a surrogate pair, which the schemas allow too
  let s = rng.pick(words);
  while (s.length < target) s += rng.chance(0.2) ? rng.pick(exotic) : " " + rng.pick(words);
  return s.slice(0, Math.min(max, Math.max(target, min)));
}

function numberIn(rng: Rng, schema: JsonSchema, integer: boolean): number {
  let lo = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + (integer ? 1 : 1e-6) : -1e6);
  let hi = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - (integer ? 1 : 1e-6) : 1e6);
  if (integer) {
    lo = Math.ceil(lo);
    hi = Math.floor(hi);
  }
  const r = rng.next();
  if (r < 0.15) return lo;
  if (r < 0.3) return hi;
  if (integer) return rng.chance(0.7) ? rng.int(lo, Math.min(hi, lo + 64)) : rng.int(lo, hi);
  return lo + rng.next() * (hi - lo);
}

/** A random JSON value (the kind a confused or hostile client sends). */
export function randomJson(rng: Rng, depth = 0): unknown {
  const r = rng.next();
  if (depth > 3 || r < 0.45) {
    return rng.pick<unknown>([0, 1, -1, 3.5, -0.25, 1e21, 2 ** 53 + 2, true, false, null, "", "x", text(rng, 1, 20), "0", "true", "null", "[]"]);
  }
  if (r < 0.72) return Array.from({ length: rng.int(0, 4) }, () => randomJson(rng, depth + 1));
  const obj: Record<string, unknown> = {};
  for (let i = rng.int(0, 4); i > 0; i--) {
    define(obj, rng.pick(["args", "method", "id", "chatId", "text", "type", "mode", "value", "__proto__", "constructor", rng.pick(words)]), randomJson(rng, depth + 1));
  }
  return obj;
}

/** Sets an own property, even for "__proto__" (a plain assignment would change the prototype instead). */
function define(obj: Record<string, unknown>, key: string, value: unknown) {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

// ---------------------------------------------------------------------------------------------------------------
// valid values from a JSON Schema, with the schema of every node recorded for the mutators

type Path = Array<string | number>;
interface Node {
  path: Path;
  schema: JsonSchema;
}

function typesOf(schema: JsonSchema): string[] {
  return schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
}

function generate(rng: Rng, schema: JsonSchema, path: Path, nodes: Node[]): unknown {
  const choices = schema.anyOf ?? schema.oneOf;
  if (choices && choices.length > 0) return generate(rng, rng.pick(choices), path, nodes);
  nodes.push({ path, schema });
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return rng.pick(schema.enum);
  const type = rng.pick(typesOf(schema).length > 0 ? typesOf(schema) : ["string"]);
  switch (type) {
    case "null":
      return null;
    case "boolean":
      return rng.chance(0.5);
    case "integer":
    case "number":
      return numberIn(rng, schema, type === "integer");
    case "string":
      if (schema.pattern !== undefined && schema.pattern === chatIdPattern) return new ChatRef(rng.int(0, 1 << 30), rng.chance(0.85) ? "known" : "unknown");
      return text(rng, schema.minLength ?? 0, schema.maxLength ?? 1000);
    case "array": {
      if (schema.prefixItems) {
        const out: unknown[] = [];
        const min = schema.minItems ?? 0;
        for (let i = 0; i < schema.prefixItems.length; i++) {
          if (i >= min && rng.chance(0.3)) break; // optional trailing arguments are sometimes left out
          out.push(generate(rng, schema.prefixItems[i]!, [...path, i], nodes));
        }
        return out;
      }
      const item = schema.items || {};
      return Array.from({ length: rng.int(schema.minItems ?? 0, Math.min(schema.maxItems ?? 3, 3)) }, (_, i) => generate(rng, item, [...path, i], nodes));
    }
    case "object": {
      const out: Record<string, unknown> = {};
      const required = new Set(schema.required ?? []);
      for (const [key, sub] of Object.entries(schema.properties ?? {})) {
        if (required.has(key) || rng.chance(0.5)) define(out, key, generate(rng, sub, [...path, key], nodes));
      }
      return out;
    }
    default:
      return randomJson(rng);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// mutations: one node of a valid value is changed

function depthBomb(rng: Rng): Special {
  const depth = rng.pick([64, 1000, 20_000, 100_000]);
  if (rng.chance(0.5)) {
    return new Special(`array depth ${depth}`, "[".repeat(depth) + "]".repeat(depth), () => {
      let v: unknown[] = [];
      for (let i = 1; i < depth; i++) v = [v];
      return v;
    });
  }
  return new Special(`object depth ${depth}`, '{"a":'.repeat(depth - 1) + "{}" + "}".repeat(depth - 1), () => {
    let v: Record<string, unknown> = {};
    for (let i = 1; i < depth; i++) v = { a: v };
    return v;
  });
}

const specialValues: Array<() => Special> = [
  () => new Special("NaN", "NaN", () => NaN),
  () => new Special("Infinity", "Infinity", () => Infinity),
  () => new Special("-Infinity", "-Infinity", () => -Infinity),
  () => new Special("1e999", "1e999", () => Infinity),
  () => new Special("-1e999", "-1e999", () => -Infinity),
  () => new Special("1e-400", "1e-400", () => 0),
  () => new Special("-0", "-0", () => -0),
  () => new Special("400 digits", "1" + "0".repeat(400), () => Infinity),
  () => new Special("hex", "0x10", () => 16),
  () => new Special("leading zero", "010", () => 10),
  () => new Special("plus sign", "+1", () => 1),
  () => new Special("undefined", "undefined", () => undefined),
  () => new Special("bigint", "12345678901234567890n", () => 12345678901234567890n),
  () => new Special("date", '"2024-01-01T00:00:00.000Z"', () => new Date(0)),
  () => new Special("map", "{}", () => new Map([["a", 1]])),
  () => new Special("typed array", "[1,2,3]", () => new Uint8Array([1, 2, 3])),
  () => new Special("sparse array", "[,,1]", () => [, , 1]), // eslint-disable-line no-sparse-arrays
  () => new Special("cycle", "{}", () => {
    const o: Record<string, unknown> = {};
    o.self = o;
    return o;
  }),
];

function invalidUtf8(rng: Rng, base: string): Special {
  const bad = rng.pick([
    Buffer.from([0xff]),
    Buffer.from([0xc0, 0xaf]), // overlong "/"
    Buffer.from([0xed, 0xa0, 0x80]), // an encoded surrogate
    Buffer.from([0x80, 0x80]), // lone continuation bytes
    Buffer.from([0xf4, 0x90, 0x80, 0x80]), // above U+10FFFF
    Buffer.from([0xe2, 0x82]), // truncated sequence
  ]);
  const at = rng.int(0, base.length);
  const bytes = Buffer.concat([Buffer.from('"'), Buffer.from(JSON.stringify(base.slice(0, at)).slice(1, -1)), bad, Buffer.from(JSON.stringify(base.slice(at)).slice(1, -1)), Buffer.from('"')]);
  // IPC strings cannot carry invalid UTF-8: the nearest thing is what a decoder makes of it
  const decoded = JSON.parse(bytes.toString("utf8")) as string;
  return new Special(`invalid-utf8 ${bad.toString("hex")}`, bytes, () => decoded);
}

interface Mutation {
  label: string;
  /** A replacement value, or `drop` to remove the node. */
  value?: unknown;
  drop?: true;
}

function mutationFor(rng: Rng, node: Node, current: unknown, isRoot: boolean): Mutation {
  const types = typesOf(node.schema);
  const isString = types.includes("string") || typeof current === "string" || current instanceof ChatRef;
  const isNumber = types.includes("number") || types.includes("integer");
  const isObject = current !== null && typeof current === "object" && !Array.isArray(current) && !(current instanceof ChatRef) && !(current instanceof Special);
  const isArray = Array.isArray(current);
  const generic: Array<() => Mutation> = [
    () => ({ label: "wrong-type", value: rng.pick<unknown>([0, 1, -1, 3.5, true, false, null, "", "x", [], {}, [1, 2], { a: 1 }, "[]", "0"]) }),
    () => ({ label: "special-value", value: rng.pick(specialValues)() }),
    () => ({ label: "random-json", value: randomJson(rng) }),
    () => ({ label: "depth-bomb", value: depthBomb(rng) }),
    () => ({ label: "pollution", value: pollution(rng) }),
  ];
  if (!isRoot) generic.push(() => ({ label: "drop", drop: true }));
  const ops: Array<() => Mutation> = [];
  if (isString) {
    const max = node.schema.maxLength ?? 1000;
    ops.push(
      () => ({ label: "huge-string", value: "y".repeat(rng.pick([max + 1, max * 2 + 7, rng.int(max + 1, Math.max(max + 2, 300_000))])) }),
      () => ({ label: "blank-string", value: rng.pick(["", " ", "\n\t ", "\u00a0\u3000", "\u200b"]) }),
      () => ({ label: "lone-surrogate", value: rng.pick(["\ud800", "a\udfff", "\udbff\ud800", "x\ud83d"]) }),
      () => ({ label: "invalid-utf8", value: invalidUtf8(rng, typeof current === "string" ? current.slice(0, 64) : "hello") }),
      () => ({
        label: "bad-chat-id",
        value: rng.pick(["", "a".repeat(129), "../../etc/passwd", "id with space", "é", "a\u0000b", "a/b", "<script>", "\ud800", "𝔘", "%2e%2e", "*"]),
      }),
    );
  }
  if (isNumber) {
    const lo = node.schema.minimum ?? 0;
    const hi = node.schema.maximum ?? 1;
    ops.push(
      () => ({
        label: "boundary-number",
        value: rng.pick([lo - 1, hi + 1, lo - 1e-9, hi + 1e-9, -1, 0.5, lo + 0.5, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 1e308, -1e308]),
      }),
      () => ({ label: "number-as-string", value: rng.pick([String(lo), String(hi), "1e3", "NaN", " 1 "]) }),
    );
  }
  if (isObject) {
    ops.push(
      () => ({ label: "unknown-key", value: withKey(current as Record<string, unknown>, rng.pick(["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf", "__defineGetter__", "", "a".repeat(1000), rng.pick(words)]), randomJson(rng)) }),
      () => ({ label: "proto-key", value: withKey(current as Record<string, unknown>, "__proto__", { polluted: "yes", systemPrompt: "x", maxTokens: 1 }) }),
      () => ({ label: "duplicate-key", value: duplicateKey(rng, current as Record<string, unknown>) }),
    );
  }
  if (isArray) {
    ops.push(
      () => ({ label: "extra-element", value: [...(current as unknown[]), randomJson(rng)] }),
      () => ({ label: "array-as-object", value: Object.assign({ length: (current as unknown[]).length }, current as unknown[]) }),
      () => ({ label: "many-elements", value: Array.from({ length: rng.pick([50, 5000]) }, () => 1) }),
    );
  }
  // the operators for the node's own type first: they probe the schema's bounds
  return (ops.length > 0 && rng.chance(0.6) ? rng.pick(ops) : rng.pick(generic))();
}

function pollution(rng: Rng): unknown {
  const o: Record<string, unknown> = {};
  if (rng.chance(0.5)) define(o, "__proto__", { polluted: "yes", isAdmin: true });
  else define(o, "constructor", { prototype: { polluted: "yes" } });
  return o;
}

function withKey(obj: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(obj)) define(out, k, obj[k]);
  define(out, key, value);
  return out;
}

/** JSON with a key given twice (the parser keeps the last); the IPC rendering keeps the last as well. */
function duplicateKey(rng: Rng, obj: Record<string, unknown>): unknown {
  const keys = Object.keys(obj);
  const key = keys.length > 0 ? rng.pick(keys) : "mode";
  const junk = randomJson(rng);
  const keepFirst = rng.chance(0.5);
  const first = keepFirst ? junk : obj[key];
  const last = keepFirst ? obj[key] : junk;
  const rest: Record<string, unknown> = {};
  for (const k of keys) if (k !== key) define(rest, k, obj[k]);
  return new DuplicateKey(key, first, last, rest);
}

/** An object written with `key` twice: first `first`, then `last`. */
export class DuplicateKey {
  constructor(
    readonly key: string,
    readonly first: unknown,
    readonly last: unknown,
    readonly rest: Record<string, unknown>,
  ) {}
}

function getAt(value: unknown, path: Path): unknown {
  let v = value;
  for (const p of path) v = (v as Record<string | number, unknown>)[p];
  return v;
}

/** A copy of `value` with the node at `path` replaced (or removed). Plain arrays and objects only. */
function replaceAt(value: unknown, path: Path, mutation: Mutation): unknown {
  if (path.length === 0) return mutation.value;
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    const copy = [...value];
    if (rest.length === 0 && mutation.drop) copy.splice(head as number, 1);
    else copy[head as number] = replaceAt(copy[head as number], rest, mutation);
    return copy;
  }
  const obj = value as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  for (const k of Object.keys(obj)) {
    if (k === head && rest.length === 0 && mutation.drop) continue;
    define(copy, k, k === head ? replaceAt(obj[k], rest, mutation) : obj[k]);
  }
  return copy;
}

// ---------------------------------------------------------------------------------------------------------------
// cases

const trickyMethods = [
  "__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "isPrototypeOf", "__defineGetter__", "prototype",
  "subscribe", "openModel", "dispose", "then", "", "getModel/extra", "GETMODEL", "getModel ", "getmodel", "send\u0000",
  "%2e%2e", "..", "a".repeat(2000), "日本", "send;closeChat", "listChats?x=1",
];

/** Message `index` of the run with `seed`: a pure function of both (chat ids are resolved later). */
export function fuzzCase(seed: number, index: number): FuzzCase {
  const rng = rngFor(seed, "case", index);
  const method = rng.pick(apiMethods);
  const schema = methodSchemas.get(method)!;
  const nodes: Node[] = [];
  const valid = generate(rng, schema, [], nodes);
  const r = rng.next();
  if (r < 0.22) return { index, family: "valid", method, args: valid };
  if (r < 0.72) {
    // leaves (strings, numbers) three times as often as the containers above them
    const weighted = nodes.flatMap((n) => (typesOf(n.schema).some((t) => t === "array" || t === "object") ? [n] : [n, n, n]));
    const node = rng.pick(weighted);
    const mutation = mutationFor(rng, node, getAt(valid, node.path), node.path.length === 0);
    return { index, family: `mutate:${mutation.label}`, method, args: replaceAt(valid, node.path, mutation) };
  }
  if (r < 0.8) return { index, family: "random-args", method, args: rng.chance(0.7) ? [randomJson(rng), randomJson(rng)].slice(0, rng.int(0, 2)) : randomJson(rng) };
  if (r < 0.9) {
    const name = rng.chance(0.8) ? rng.pick(trickyMethods) : `${method}${rng.pick(["2", "_", "s", "X"])}`;
    return { index, family: "unknown-method", method: name, args: valid };
  }
  const arity = Array.isArray(valid) ? valid : [valid];
  return {
    index,
    family: "arity",
    method,
    args: rng.chance(0.5) ? [...arity, ...Array.from({ length: rng.int(1, 3) }, () => randomJson(rng))] : arity.slice(0, Math.max(0, arity.length - 1)),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// renderings

export type ChatResolver = (ref: ChatRef) => string;

/** JSON bytes of a case's value (Specials as their raw text, which may not be JSON at all). */
export function toJsonBytes(value: unknown, resolve: ChatResolver): Buffer {
  const parts: Array<string | Buffer> = [];
  const write = (v: unknown): void => {
    if (v instanceof Special) parts.push(v.json);
    else if (v instanceof ChatRef) parts.push(JSON.stringify(resolve(v)));
    else if (v instanceof DuplicateKey) {
      parts.push("{", JSON.stringify(v.key), ":");
      write(v.first);
      for (const k of Object.keys(v.rest)) {
        parts.push(",", JSON.stringify(k), ":");
        write(v.rest[k]);
      }
      parts.push(",", JSON.stringify(v.key), ":");
      write(v.last);
      parts.push("}");
    } else if (Array.isArray(v)) {
      parts.push("[");
      v.forEach((item, i) => {
        if (i > 0) parts.push(",");
        write(item === undefined ? null : item);
      });
      parts.push("]");
    } else if (v !== null && typeof v === "object") {
      parts.push("{");
      let first = true;
      for (const k of Object.keys(v)) {
        const item = (v as Record<string, unknown>)[k];
        if (item === undefined) continue;
        if (!first) parts.push(",");
        first = false;
        parts.push(JSON.stringify(k), ":");
        write(item);
      }
      parts.push("}");
    } else if (v === undefined) parts.push("null");
    else parts.push(JSON.stringify(v));
  };
  write(value);
  return Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : p)));
}

/** The JavaScript value of a case's value, as a renderer would hand it to ipcRenderer.invoke. */
export function toJsValue(value: unknown, resolve: ChatResolver): unknown {
  if (value instanceof Special) return value.js();
  if (value instanceof ChatRef) return resolve(value);
  if (value instanceof DuplicateKey) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value.rest)) define(out, k, toJsValue(value.rest[k], resolve));
    define(out, value.key, toJsValue(value.last, resolve));
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => toJsValue(v, resolve));
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value)) define(out, k, toJsValue((value as Record<string, unknown>)[k], resolve));
    return out;
  }
  return value;
}

/** A short, printable description of a case (for failure messages). */
export function describeCase(c: FuzzCase, resolve: ChatResolver): string {
  const json = toJsonBytes(c.args, resolve);
  const shown = json.length > 400 ? `${json.subarray(0, 300).toString("utf8")}... (${json.length} bytes)` : json.toString("utf8");
  return `#${c.index} ${c.family} ${JSON.stringify(c.method.length > 80 ? c.method.slice(0, 80) + "..." : c.method)} args=${shown}`;
}

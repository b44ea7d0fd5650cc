// Binary codec for TelemetryFrame: one ArrayBuffer per frame, for WebSocket binary messages and
// Electron IPC. Pure TypeScript: only ArrayBuffer, DataView, typed arrays and TextEncoder/Decoder.
//
// Layout (all little-endian):
//   u32 magic "LXT1" | u16 version | u16 reserved
//   f64 seq | f64 timeMs | u32 nLayers | u32 nExperts | u32 expertsPerToken
//   u32 nChats | u32 nBatches
//   overall: OVERALL_KEYS.length x f64
//   moeLayers: u32 length + bytes
//   per chat: u32 idLength + UTF-8 id | f64 windowTokens | f64 tokensPerSecond | f64 tokens | u32 length + u32[]
//   per batch: f64 size | u32 length + u8[] map | u32 length + u16[] before | u32 length + u16[] after
//   batchHistogram: u32 length + f64[]

import type { BatchTelemetry, ChatTelemetry, OverallTelemetry, TelemetryFrame } from "./contract.js";

export const TELEMETRY_MAGIC = 0x3154584c; // "LXT1" read as little-endian u32
export const TELEMETRY_CODEC_VERSION = 1;

/** Order of the OverallTelemetry fields on the wire. Appending is a compatible change; reordering is not. */
export const OVERALL_KEYS = [
  "tokensPerSecond",
  "generatingChats",
  "queuedChats",
  "currentBatchSize",
  "decodeSteps",
  "fullBatchShare",
  "distinctBefore",
  "distinctAfter",
  "expertBytesBefore",
  "expertBytesAfter",
  "top1KeptShare",
  "massRetained",
] as const satisfies readonly (keyof OverallTelemetry)[];

// Compile-time check that OVERALL_KEYS lists every field of OverallTelemetry.
type MissingOverallKeys = Exclude<keyof OverallTelemetry, (typeof OVERALL_KEYS)[number]>;
const overallKeysComplete: MissingOverallKeys extends never ? true : false = true;
void overallKeysComplete;

export class TelemetryCodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TelemetryCodecError";
  }
}

const littleEndianPlatform = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Exact encoded size, so encoding allocates once. */
function encodedSize(frame: TelemetryFrame, chatIds: Uint8Array[]): number {
  let size = 4 + 2 + 2 + 8 + 8 + 4 * 3 + 4 * 2 + OVERALL_KEYS.length * 8;
  size += 4 + frame.moeLayers.length;
  frame.chats.forEach((chat, i) => {
    size += 4 + chatIds[i]!.length + 8 * 3 + 4 + chat.counts.length * 4;
  });
  for (const batch of frame.batches) {
    size += 8 + 4 + batch.map.length + 4 + batch.before.length * 2 + 4 + batch.after.length * 2;
  }
  size += 4 + frame.batchHistogram.length * 8;
  return size;
}

function u32(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new TelemetryCodecError(`${what} must be an unsigned 32-bit integer, got ${value}`);
  }
  return value;
}

export function encodeTelemetryFrame(frame: TelemetryFrame): ArrayBuffer {
  const chatIds = frame.chats.map((c) => encoder.encode(c.chatId));
  const buffer = new ArrayBuffer(encodedSize(frame, chatIds));
  const view = new DataView(buffer);
  const bytes = new Uint8Array(buffer);
  let off = 0;

  const putU16 = (v: number) => {
    view.setUint16(off, v, true);
    off += 2;
  };
  const putU32 = (v: number, what: string) => {
    view.setUint32(off, u32(v, what), true);
    off += 4;
  };
  const putF64 = (v: number) => {
    view.setFloat64(off, v, true);
    off += 8;
  };
  const putBytes = (src: Uint8Array) => {
    putU32(src.length, "byte array length");
    bytes.set(src, off);
    off += src.length;
  };
  const putU16Array = (src: Uint16Array) => {
    putU32(src.length, "u16 array length");
    if (littleEndianPlatform) {
      bytes.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength), off);
      off += src.byteLength;
    } else {
      for (const v of src) putU16(v);
    }
  };
  const putU32Array = (src: Uint32Array) => {
    putU32(src.length, "u32 array length");
    if (littleEndianPlatform) {
      bytes.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength), off);
      off += src.byteLength;
    } else {
      for (const v of src) {
        view.setUint32(off, v, true);
        off += 4;
      }
    }
  };
  const putF64Array = (src: Float64Array) => {
    putU32(src.length, "f64 array length");
    if (littleEndianPlatform) {
      bytes.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength), off);
      off += src.byteLength;
    } else {
      for (const v of src) putF64(v);
    }
  };

  view.setUint32(off, TELEMETRY_MAGIC, true);
  off += 4;
  putU16(TELEMETRY_CODEC_VERSION);
  putU16(0);
  putF64(frame.seq);
  putF64(frame.timeMs);
  putU32(frame.nLayers, "nLayers");
  putU32(frame.nExperts, "nExperts");
  putU32(frame.expertsPerToken, "expertsPerToken");
  putU32(frame.chats.length, "chat count");
  putU32(frame.batches.length, "batch count");
  for (const key of OVERALL_KEYS) putF64(frame.overall[key]);
  putBytes(frame.moeLayers);
  frame.chats.forEach((chat, i) => {
    putBytes(chatIds[i]!);
    putF64(chat.windowTokens);
    putF64(chat.tokensPerSecond);
    putF64(chat.tokens);
    putU32Array(chat.counts);
  });
  for (const batch of frame.batches) {
    putF64(batch.size);
    putBytes(batch.map);
    putU16Array(batch.before);
    putU16Array(batch.after);
  }
  putF64Array(frame.batchHistogram);
  if (off !== buffer.byteLength) throw new TelemetryCodecError(`encoder wrote ${off} of ${buffer.byteLength} bytes`);
  return buffer;
}

/** Decodes a frame. The result owns fresh, aligned typed arrays (nothing aliases the input). */
export function decodeTelemetryFrame(input: ArrayBuffer | ArrayBufferView): TelemetryFrame {
  const bytes =
    input instanceof ArrayBuffer
      ? new Uint8Array(input)
      : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 0;

  const need = (n: number, what: string) => {
    if (off + n > bytes.length) {
      throw new TelemetryCodecError(`truncated telemetry frame: ${what} needs ${n} bytes at offset ${off} of ${bytes.length}`);
    }
  };
  const getU16 = () => {
    need(2, "u16");
    const v = view.getUint16(off, true);
    off += 2;
    return v;
  };
  const getU32 = (what = "u32") => {
    need(4, what);
    const v = view.getUint32(off, true);
    off += 4;
    return v;
  };
  const getF64 = () => {
    need(8, "f64");
    const v = view.getFloat64(off, true);
    off += 8;
    return v;
  };
  const getBytes = (what: string) => {
    const n = getU32(what);
    need(n, what);
    const out = bytes.slice(off, off + n);
    off += n;
    return out;
  };
  const getU16Array = (what: string) => {
    const n = getU32(what);
    need(n * 2, what);
    const out = new Uint16Array(n);
    if (littleEndianPlatform) {
      new Uint8Array(out.buffer).set(bytes.subarray(off, off + n * 2));
      off += n * 2;
    } else {
      for (let i = 0; i < n; i++) out[i] = getU16();
    }
    return out;
  };
  const getU32Array = (what: string) => {
    const n = getU32(what);
    need(n * 4, what);
    const out = new Uint32Array(n);
    if (littleEndianPlatform) {
      new Uint8Array(out.buffer).set(bytes.subarray(off, off + n * 4));
      off += n * 4;
    } else {
      for (let i = 0; i < n; i++) out[i] = getU32();
    }
    return out;
  };
  const getF64Array = (what: string) => {
    const n = getU32(what);
    need(n * 8, what);
    const out = new Float64Array(n);
    if (littleEndianPlatform) {
      new Uint8Array(out.buffer).set(bytes.subarray(off, off + n * 8));
      off += n * 8;
    } else {
      for (let i = 0; i < n; i++) out[i] = getF64();
    }
    return out;
  };

  const magic = getU32("magic");
  if (magic !== TELEMETRY_MAGIC) throw new TelemetryCodecError("not a telemetry frame (bad magic)");
  const version = getU16();
  if (version !== TELEMETRY_CODEC_VERSION) {
    throw new TelemetryCodecError(`unsupported telemetry codec version ${version}`);
  }
  getU16();
  const seq = getF64();
  const timeMs = getF64();
  const nLayers = getU32();
  const nExperts = getU32();
  const expertsPerToken = getU32();
  const nChats = getU32();
  const nBatches = getU32();
  const overall = {} as OverallTelemetry;
  for (const key of OVERALL_KEYS) overall[key] = getF64();
  const moeLayers = getBytes("moeLayers");

  const chats: ChatTelemetry[] = [];
  for (let i = 0; i < nChats; i++) {
    let chatId: string;
    try {
      chatId = decoder.decode(getBytes("chatId"));
    } catch (e) {
      if (e instanceof TelemetryCodecError) throw e;
      throw new TelemetryCodecError("chat id is not valid UTF-8");
    }
    const windowTokens = getF64();
    const tokensPerSecond = getF64();
    const tokens = getF64();
    const counts = getU32Array("counts");
    chats.push({ chatId, counts, windowTokens, tokensPerSecond, tokens });
  }

  const batches: BatchTelemetry[] = [];
  for (let i = 0; i < nBatches; i++) {
    const size = getF64();
    const map = getBytes("batch map");
    const before = getU16Array("batch before");
    const after = getU16Array("batch after");
    batches.push({ size, map, before, after });
  }
  const batchHistogram = getF64Array("batchHistogram");
  if (off !== bytes.length) throw new TelemetryCodecError(`${bytes.length - off} trailing bytes after telemetry frame`);

  return { seq, timeMs, nLayers, nExperts, expertsPerToken, moeLayers, chats, batches, batchHistogram, overall };
}

/** True when the buffer starts with the telemetry magic (cheap check before decoding). */
export function isTelemetryBuffer(input: ArrayBuffer | ArrayBufferView): boolean {
  const bytes =
    input instanceof ArrayBuffer
      ? new Uint8Array(input)
      : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (bytes.length < 4) return false;
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) === TELEMETRY_MAGIC;
}

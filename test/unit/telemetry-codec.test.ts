import { describe, expect, it } from "vitest";
import type { TelemetryFrame } from "../../electron/api/contract.js";
import {
  TelemetryCodecError,
  decodeTelemetryFrame,
  encodeTelemetryFrame,
  isTelemetryBuffer,
} from "../../electron/api/telemetry-codec.js";

function sampleFrame(nLayers = 4, nExperts = 8, nChats = 3, nBatches = 5): TelemetryFrame {
  const counts = (seed: number) => Uint32Array.from({ length: nLayers * nExperts }, (_, i) => (i * 7 + seed) % 13);
  return {
    seq: 4242,
    timeMs: 1_732_000_000_123.5,
    nLayers,
    nExperts,
    expertsPerToken: 2,
    moeLayers: Uint8Array.from({ length: nLayers }, (_, i) => (i === 0 ? 0 : 1)),
    chats: Array.from({ length: nChats }, (_, c) => ({
      chatId: c === 1 ? "chat-ünïcode-😀" : `chat-${c}`,
      counts: counts(c),
      windowTokens: 64 + c,
      tokensPerSecond: 12.5 * (c + 1),
      tokens: 100 * c,
    })),
    batches: Array.from({ length: nBatches }, (_, b) => ({
      size: b + 1,
      map: Uint8Array.from({ length: nLayers * nExperts }, (_, i) => (i + b) % 4),
      before: Uint16Array.from({ length: nLayers }, (_, i) => i + b + 3),
      after: Uint16Array.from({ length: nLayers }, (_, i) => i + b),
    })),
    batchHistogram: Float64Array.from([0, 10, 4, 2.5]),
    overall: {
      tokensPerSecond: 33.25,
      generatingChats: 3,
      queuedChats: 1,
      currentBatchSize: 3,
      decodeSteps: 999,
      fullBatchShare: 0.75,
      distinctBefore: 6.5,
      distinctAfter: 4.25,
      expertBytesBefore: 1.5e9,
      expertBytesAfter: 9.8e8,
      top1KeptShare: 0.99,
      massRetained: 0.93,
    },
  };
}

describe("telemetry codec", () => {
  it("round-trips a frame exactly", () => {
    const frame = sampleFrame();
    const buf = encodeTelemetryFrame(frame);
    expect(buf).toBeInstanceOf(ArrayBuffer);
    expect(isTelemetryBuffer(buf)).toBe(true);
    const back = decodeTelemetryFrame(buf);
    expect(back).toEqual(frame);
    expect(back.chats[0]!.counts).toBeInstanceOf(Uint32Array);
    expect(back.batches[0]!.before).toBeInstanceOf(Uint16Array);
    expect(back.batchHistogram).toBeInstanceOf(Float64Array);
    expect(back.moeLayers).toBeInstanceOf(Uint8Array);
  });

  it("round-trips an empty frame (no chats, no batches)", () => {
    const frame = sampleFrame(0, 0, 0, 0);
    frame.batchHistogram = new Float64Array(0);
    expect(decodeTelemetryFrame(encodeTelemetryFrame(frame))).toEqual(frame);
  });

  it("handles a realistic large model frame", () => {
    const frame = sampleFrame(48, 128, 16, 8);
    const buf = encodeTelemetryFrame(frame);
    expect(decodeTelemetryFrame(buf)).toEqual(frame);
    // 16 chats x 6144 u32 counts dominate: the frame stays well under a megabyte.
    expect(buf.byteLength).toBeLessThan(16 * 48 * 128 * 4 + 64 * 1024);
  });

  it("decodes from a view at an unaligned offset (Node Buffer / IPC copies)", () => {
    const buf = encodeTelemetryFrame(sampleFrame());
    const padded = new Uint8Array(buf.byteLength + 3);
    padded.set(new Uint8Array(buf), 3);
    const view = padded.subarray(3);
    expect(decodeTelemetryFrame(view)).toEqual(sampleFrame());
  });

  it("encodes typed arrays that are views into larger buffers", () => {
    const frame = sampleFrame();
    const big = new Uint32Array(1000);
    big.set(frame.chats[0]!.counts, 17);
    frame.chats[0]!.counts = big.subarray(17, 17 + frame.chats[0]!.counts.length);
    const back = decodeTelemetryFrame(encodeTelemetryFrame(frame));
    expect(Array.from(back.chats[0]!.counts)).toEqual(Array.from(frame.chats[0]!.counts));
  });

  it("rejects garbage, truncation and trailing bytes", () => {
    const buf = new Uint8Array(encodeTelemetryFrame(sampleFrame()));
    expect(() => decodeTelemetryFrame(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))).toThrow(TelemetryCodecError);
    expect(isTelemetryBuffer(new Uint8Array([1, 2]))).toBe(false);
    for (const cut of [3, 20, 100, buf.length - 1]) {
      expect(() => decodeTelemetryFrame(buf.subarray(0, cut))).toThrow(TelemetryCodecError);
    }
    const longer = new Uint8Array(buf.length + 1);
    longer.set(buf);
    expect(() => decodeTelemetryFrame(longer)).toThrow(/trailing/);
  });

  it("refuses non-integer counts in headers", () => {
    const frame = sampleFrame();
    frame.nLayers = 2.5;
    expect(() => encodeTelemetryFrame(frame)).toThrow(TelemetryCodecError);
  });
});

// Telemetry slice: the latest frame only. High-frequency readers (canvases) use store.subscribe into
// refs; React components read throttled values (see useThrottledTelemetry).

import type { TelemetryFrame } from "../../../electron/api/contract.js";

export interface TelemetryData {
  frame: TelemetryFrame | null;
  /** Frames received since start (a cheap "changed" signal). */
  received: number;
  /** performance.now()-style time the latest frame arrived. */
  receivedAt: number;
}

export const emptyTelemetry: TelemetryData = { frame: null, received: 0, receivedAt: 0 };

export function applyTelemetryFrame(data: TelemetryData, frame: TelemetryFrame, now: number): TelemetryData {
  // Out-of-order or replayed frames (reconnects) are ignored, unless the host restarted (seq went back to 0).
  if (data.frame && frame.seq <= data.frame.seq && frame.seq !== 0) return data;
  return { frame, received: data.received + 1, receivedAt: now };
}

/** Telemetry of one chat in a frame. */
export function chatTelemetry(frame: TelemetryFrame | null, chatId: string | null) {
  if (!frame || !chatId) return undefined;
  return frame.chats.find((c) => c.chatId === chatId);
}

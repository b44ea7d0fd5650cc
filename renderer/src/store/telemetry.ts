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
  // A late or repeated frame is ignored; a big step back means the host restarted its sequence
  // (new model or new host), and that frame is taken.
  if (data.frame && frame.seq <= data.frame.seq && data.frame.seq - frame.seq < 20) return data;
  return { frame, received: data.received + 1, receivedAt: now };
}

/** Telemetry of one chat in a frame. */
export function chatTelemetry(frame: TelemetryFrame | null, chatId: string | null) {
  if (!frame || !chatId) return undefined;
  return frame.chats.find((c) => c.chatId === chatId);
}

// Fans the host's events and the engine's telemetry out to the pages subscribed. The engine's events reach the
// chat store before any page; `attach` re-subscribes after a model switch replaced the engine.
import type { HostEvent, LynxApi, TelemetryFrame } from "../api/contract.js";
import type { LynxEngine } from "../engine/engine.js";

export interface HostEvents {
  emit(event: HostEvent): void;
  /** Subscribes to the current engine (dropping the previous one's subscriptions); `first` hears its events first. */
  attach(first: ((event: HostEvent) => void) | null): void;
  subscribe: LynxApi["subscribe"];
  /** Forgets the pages (dispose: nothing is sent to them any more). */
  clearListeners(): void;
  /** Drops the engine subscriptions. */
  detach(): void;
}

export function createHostEvents(engine: () => LynxEngine): HostEvents {
  const eventListeners = new Set<(event: HostEvent) => void>();
  const telemetryListeners = new Set<(frame: TelemetryFrame) => void>();
  let unsubscribeEngine: Array<() => void> = [];

  const emit = (event: HostEvent) => {
    for (const listener of eventListeners) listener(event);
  };
  const fanOutTelemetry = (frame: TelemetryFrame) => {
    for (const listener of telemetryListeners) listener(frame);
  };
  const detach = () => unsubscribeEngine.forEach((off) => off());

  return {
    emit,
    attach(first) {
      detach();
      const current = engine();
      unsubscribeEngine = [...(first ? [current.subscribe(first)] : []), current.subscribe(emit)];
      if (telemetryListeners.size > 0) unsubscribeEngine.push(current.telemetry.subscribe(fanOutTelemetry));
    },
    subscribe(onEvent, onTelemetry) {
      eventListeners.add(onEvent);
      const first = telemetryListeners.size === 0;
      telemetryListeners.add(onTelemetry);
      if (first) unsubscribeEngine.push(engine().telemetry.subscribe(fanOutTelemetry));
      return () => {
        eventListeners.delete(onEvent);
        telemetryListeners.delete(onTelemetry);
      };
    },
    clearListeners() {
      eventListeners.clear();
      telemetryListeners.clear();
    },
    detach,
  };
}

// Pruning-check slice: the loaded model's check (running, progress, its stored profile).

import type { HostEvent, PruneCheckState } from "../../../electron/api/contract.js";

export interface PruneCheckData {
  /** null until the host said (or when it has no pruning check). */
  state: PruneCheckState | null;
}

export const emptyPruneCheck: PruneCheckData = { state: null };

export function applyPruneCheckEvent(data: PruneCheckData, event: HostEvent): PruneCheckData {
  if (event.type === "pruneCheck.changed") return { state: event.state };
  // another model: its own check is fetched again
  if (event.type === "model.changed") return emptyPruneCheck;
  return data;
}

// Policy slice: the aggressiveness setting and its effective parameters.

import type { AggressivenessSetting, HostEvent, PolicyState } from "../../../electron/api/contract.js";

export interface PolicyData {
  state: PolicyState | null;
  /** The setting sent to the host and not yet confirmed (for instant UI feedback). */
  pending: AggressivenessSetting | null;
}

export const emptyPolicy: PolicyData = { state: null, pending: null };

export function applyPolicyEvent(data: PolicyData, event: HostEvent): PolicyData {
  if (event.type === "model.changed") return { state: event.policy, pending: null };
  return data;
}

/** The setting the controls should show: the pending one while a change is in flight. */
export function shownSetting(data: PolicyData): AggressivenessSetting | null {
  return data.pending ?? data.state?.setting ?? null;
}

// Model slice: what is loaded (and load errors).

import type { HostEvent, ModelInfo } from "../../../electron/api/contract.js";
import type { ApiErrorBody } from "../../../electron/api/api-error.js";

export interface ModelData {
  info: ModelInfo | null;
  loading: boolean;
  error: ApiErrorBody | null;
}

export const emptyModel: ModelData = { info: null, loading: true, error: null };

export function applyModelEvent(data: ModelData, event: HostEvent): ModelData {
  switch (event.type) {
    case "model.changed":
      return { info: event.model, loading: false, error: null };
    case "host.error":
      return { ...data, loading: false, error: { code: event.code, message: event.message } };
    default:
      return data;
  }
}

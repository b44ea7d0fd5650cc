// Local API slice: the OpenAI-compatible server's settings, state and requests in flight, as the host reports
// them. The panel refreshes it about once a second while the API runs (requests change per token; polling keeps
// the contract to two calls and the event stream free of per-token traffic).
import { apiGenerationPrefix, type LocalApiRequest, type LocalApiSettings, type LocalApiState } from "../../../electron/api/contract.js";
import { toApiError } from "../../../electron/api/api-error.js";

export interface LocalApiData {
  state: LocalApiState | null;
  /** A change is being applied (the switch waits for the host's answer). */
  pending: boolean;
  /** The host refused the last change (invalid settings). */
  error: string | null;
}

export const emptyLocalApi: LocalApiData = { state: null, pending: false, error: null };

export interface LocalApiActions {
  refreshLocalApi(): Promise<void>;
  setLocalApi(settings: Partial<LocalApiSettings>): Promise<void>;
}

interface LocalApiHost {
  getLocalApi(): Promise<LocalApiState>;
  setLocalApi(settings: Partial<LocalApiSettings>): Promise<LocalApiState>;
}

type SetLocalApi = (fn: (data: LocalApiData) => LocalApiData) => void;

export function createLocalApiActions(api: LocalApiHost, update: SetLocalApi): LocalApiActions {
  return {
    async refreshLocalApi() {
      try {
        const state = await api.getLocalApi();
        update((d) => ({ ...d, state }));
      } catch {
        /* an older host without the local API: the panel says so */
      }
    },
    async setLocalApi(settings) {
      update((d) => ({ ...d, pending: true, error: null }));
      try {
        const state = await api.setLocalApi(settings);
        update(() => ({ state, pending: false, error: null }));
      } catch (error) {
        const body = toApiError(error);
        update((d) => ({ ...d, pending: false, error: body.message }));
      }
    },
  };
}

/** The API request a telemetry chat id belongs to (`api-<request id>-<choice>`), or null for a tab's chat. */
export function apiRequestIdOf(chatId: string): string | null {
  if (!chatId.startsWith(apiGenerationPrefix)) return null;
  const rest = chatId.slice(apiGenerationPrefix.length);
  const cut = rest.lastIndexOf("-");
  return cut > 0 ? rest.slice(0, cut) : rest;
}

/** A label for an API generation in the statistics: "API request · client", with the choice when n > 1. */
export function apiGenerationLabel(chatId: string, requests: readonly LocalApiRequest[] | undefined): string {
  const id = apiRequestIdOf(chatId);
  const request = id ? requests?.find((r) => r.id === id) : undefined;
  const choice = chatId.slice(chatId.lastIndexOf("-") + 1);
  const client = request?.client ? ` · ${request.client}` : "";
  return `API request${choice !== "0" ? ` (choice ${choice})` : ""}${client}`;
}

// Library slice (its own zustand store): the model library's state from the host, kept fresh by its events
// (download.progress replaces one download in place; library.changed and model.changed reload the list).
// The store listens to the host only while attached (a component's effect attaches it and its cleanup detaches it),
// so an effect that React runs, cleans up and runs again (StrictMode) ends subscribed.
import { createStore, type StoreApi } from "zustand/vanilla";
import type { DownloadState, FitEstimate, HostEvent, LynxApi, ModelLibraryState, ModelSettingsUpdate } from "../../../electron/api/contract.js";
import { toApiError } from "../../../electron/api/api-error.js";

export interface LibraryData {
  state: ModelLibraryState | null;
  loading: boolean;
  error: string | null;
  /** A refused load waiting for the user to insist: the file and the numbers. */
  refused: { path: string; message: string } | null;
  /** Why the last models-folder change was refused (shown beside the folder field, which keeps what was typed). */
  folderError: string | null;
}

export interface LibraryActions {
  refresh(): Promise<void>;
  download(uri: string): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  cancel(id: string): Promise<void>;
  load(path: string, force?: boolean): Promise<void>;
  remove(path: string): Promise<void>;
  saveSettings(path: string, patch: ModelSettingsUpdate): Promise<void>;
  estimate(path: string, contextSize?: number, maxChats?: number): Promise<FitEstimate | null>;
  dismissRefusal(): void;
  /** Makes `dir` the models folder (null: the default folder); false when the host refused it (see folderError). */
  setModelsDir(dir: string | null): Promise<boolean>;
  /** Electron: the native folder picker; web mode has none (api.chooseModelsDir is absent). */
  chooseModelsDir(): Promise<void>;
  /** Listens to the host's events and loads the list; returns the detach. */
  attach(): () => void;
}

export type LibraryStore = StoreApi<LibraryData & LibraryActions>;

/** Replaces a download in the list (or adds it), keeping the newest first. */
export function applyDownload(state: ModelLibraryState, download: DownloadState): ModelLibraryState {
  const rest = state.downloads.filter((d) => d.id !== download.id);
  return { ...state, downloads: [download, ...rest].sort((a, b) => b.createdAt - a.createdAt) };
}

/**
 * A list fetched while events kept arriving can be older than them: per download, the newer of the two (by the
 * host's updatedAt) stays.
 */
export function mergeDownloads(state: ModelLibraryState, seen: ReadonlyMap<string, DownloadState>): ModelLibraryState {
  let merged = state;
  for (const event of seen.values()) {
    const listed = merged.downloads.find((d) => d.id === event.id);
    if (!listed || listed.updatedAt < event.updatedAt) merged = applyDownload(merged, event);
  }
  return merged;
}

export function createLibraryStore(api: LynxApi): LibraryStore {
  let reloadTimer: ReturnType<typeof setTimeout> | null = null;
  let unsubscribe: (() => void) | null = null;
  /** The latest event of each download (bounded like the host's list), merged into every fetched list. */
  const seen = new Map<string, DownloadState>();
  const store = createStore<LibraryData & LibraryActions>()((set, get) => {
    const guard = async (run: () => Promise<unknown>) => {
      try {
        await run();
        set({ error: null });
      } catch (err) {
        set({ error: toApiError(err).message });
      }
    };
    return {
      state: null,
      loading: false,
      error: null,
      refused: null,
      folderError: null,
      async refresh() {
        set({ loading: true });
        await guard(async () => {
          const fresh = await api.listModels();
          set({ state: mergeDownloads(fresh, seen) });
        });
        set({ loading: false });
      },
      download: (uri) => guard(() => api.startDownload(uri)),
      pause: (id) => guard(() => api.pauseDownload(id)),
      resume: (id) => guard(() => api.resumeDownload(id)),
      cancel: (id) => guard(() => api.cancelDownload(id)),
      async load(path, force = false) {
        try {
          await api.loadModel(path, force ? { force: true } : undefined);
          set({ refused: null, error: null });
        } catch (err) {
          const body = toApiError(err);
          if (body.code === "MODEL_TOO_LARGE") set({ refused: { path, message: body.message } });
          else set({ error: body.message });
        }
      },
      remove: (path) => guard(() => api.deleteModel(path)),
      saveSettings: (path, patch) => guard(async () => {
        await api.updateModelSettings(path, patch);
        await get().refresh();
      }),
      async estimate(path, contextSize, maxChats) {
        try {
          return await api.estimateFit(path, { ...(contextSize ? { contextSize } : {}), ...(maxChats ? { maxChats } : {}) });
        } catch (err) {
          set({ error: toApiError(err).message });
          return null;
        }
      },
      dismissRefusal: () => set({ refused: null }),
      async setModelsDir(dir) {
        try {
          await api.updateAppSettings({ modelsDir: dir });
        } catch (err) {
          set({ folderError: toApiError(err).message });
          return false;
        }
        set({ folderError: null });
        // the host also emits library.changed; refreshing now shows the new folder without the debounce
        await get().refresh();
        return true;
      },
      async chooseModelsDir() {
        if (!api.chooseModelsDir) return;
        try {
          const settings = await api.chooseModelsDir();
          set({ folderError: null });
          if (settings) await get().refresh();
        } catch (err) {
          set({ folderError: toApiError(err).message });
        }
      },
      attach() {
        if (!unsubscribe) unsubscribe = api.subscribe(onEvent, () => {});
        void get().refresh();
        return () => {
          unsubscribe?.();
          unsubscribe = null;
          if (reloadTimer) clearTimeout(reloadTimer);
          reloadTimer = null;
        };
      },
    };
  });
  const onEvent = (event: HostEvent) => {
    if (event.type === "download.progress") {
      seen.delete(event.download.id);
      seen.set(event.download.id, event.download);
      while (seen.size > 100) seen.delete(seen.keys().next().value!);
      const current = store.getState().state;
      if (current) store.setState({ state: applyDownload(current, event.download) });
    } else if (event.type === "library.changed" || event.type === "model.changed") {
      // several changes in a row reload once
      if (reloadTimer) clearTimeout(reloadTimer);
      reloadTimer = setTimeout(() => void store.getState().refresh(), 150);
    }
  };
  return store;
}

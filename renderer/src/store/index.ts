// The app store: zustand (vanilla) split into slices: chats, model, policy, telemetry, ui.
// Host events are applied through pure reducers; chat deltas are batched to animation frames
// (one store update per frame for all chats, never one per token).

import { createStore, type StoreApi } from "zustand/vanilla";
import type {
  AggressivenessSetting,
  ChatExport,
  ChatId,
  ChatSettings,
  ExportFormat,
  HostEvent,
  LynxApi,
  ModelInfo,
  TelemetryFrame,
} from "../../../electron/api/contract.js";
import { toApiError } from "../../../electron/api/api-error.js";
import type { LynxDesktopBridge } from "../../../electron/api/desktop.js";
import {
  addUserMessage,
  applyChatEvent,
  applyDeltas,
  dropLastAssistant,
  emptyChats,
  patchChat,
  removeChat,
  replaceAll,
  replaceLastUser,
  setActive,
  setChatError,
  upsertSnapshot,
  type ChatsData,
} from "./chats.js";
import { emptyHistory, type HistoryData } from "./history.js";
import { applyModelEvent, emptyModel, type ModelData } from "./model.js";
import { applyPolicyEvent, emptyPolicy, type PolicyData } from "./policy.js";
import { applyPruneCheckEvent, emptyPruneCheck, type PruneCheckData } from "./prune-check.js";
import { createLocalApiActions, emptyLocalApi, type LocalApiActions, type LocalApiData } from "./local-api.js";
import { applyTelemetryFrame, emptyTelemetry, type TelemetryData } from "./telemetry.js";
import { emptyUi, type Connection, type Theme, type UiData } from "./ui.js";

export interface AppActions extends LocalApiActions {
  init(): Promise<void>;
  dispose(): void;
  newChat(): Promise<void>;
  closeChat(id: ChatId): Promise<void>;
  renameChat(id: ChatId, title: string): Promise<void>;
  activate(id: ChatId): void;
  activateRelative(step: number): void;
  send(id: ChatId, text: string): Promise<boolean>;
  stop(id: ChatId): Promise<void>;
  regenerate(id: ChatId): Promise<void>;
  editLastAndResend(id: ChatId, text: string): Promise<boolean>;
  resetChat(id: ChatId): Promise<void>;
  updateSettings(id: ChatId, settings: Partial<ChatSettings>): Promise<void>;
  setPolicy(setting: AggressivenessSetting): Promise<void>;
  /** Starts the loaded model's pruning check (progress arrives as events). */
  startPruneCheck(quick: boolean): Promise<void>;
  cancelPruneCheck(): Promise<void>;
  openModelDialog(): Promise<void>;
  openModelFile(file: File): Promise<void>;
  setTheme(theme: Theme): void;
  toggleTheme(): void;
  toggleSideBySide(): void;
  setRenaming(id: ChatId | null): void;
  notify(kind: "error" | "info", text: string): void;
  /** History panel: show or hide it (showing refreshes the list). */
  toggleHistory(open?: boolean): void;
  searchHistory(search: string): Promise<void>;
  refreshHistory(): Promise<void>;
  /** Opens a stored chat in a tab (or activates its tab). */
  reopenChat(id: ChatId): Promise<void>;
  /** Removes a chat from the store, closing its tab. The panel asks for confirmation first. */
  deleteChat(id: ChatId): Promise<void>;
  renameStoredChat(id: ChatId, title: string): Promise<void>;
  /** Web mode: returns the export to download; the desktop app saves it through a dialog and returns null. Failures are reported. */
  exportChat(id: ChatId, format: ExportFormat): Promise<ChatExport | null>;
  dismissNotice(id: number): void;
  /** Applies buffered deltas now (tests; also before any other event). */
  flushDeltas(): void;
  /** Host event entry point (exposed for tests). */
  handleEvent(event: HostEvent): void;
  handleTelemetry(frame: TelemetryFrame): void;
  setConnection(state: Connection): void;
}

export interface AppState {
  chats: ChatsData;
  model: ModelData;
  policy: PolicyData;
  pruneCheck: PruneCheckData;
  telemetry: TelemetryData;
  ui: UiData;
  history: HistoryData;
  localApi: LocalApiData;
  actions: AppActions;
}

export type AppStore = StoreApi<AppState>;

export interface StoreOptions {
  /** Schedules the delta flush; defaults to requestAnimationFrame (setTimeout where there is none). */
  schedule?: (flush: () => void) => void;
  now?: () => number;
}

type MaybeDesktop = LynxApi & Partial<Pick<LynxDesktopBridge, "openModelDialog" | "openModelFile" | "saveChatExport">> & {
  transport?: string;
  onConnectionChange?: (listener: (state: Connection) => void) => () => void;
};

const defaultSchedule = (flush: () => void) => {
  if (typeof requestAnimationFrame === "function") requestAnimationFrame(() => flush());
  else setTimeout(flush, 16);
};

export function createAppStore(api: MaybeDesktop, options: StoreOptions = {}): AppStore {
  const schedule = options.schedule ?? defaultSchedule;
  const now = options.now ?? (() => (typeof performance !== "undefined" ? performance.now() : Date.now()));
  const pending = new Map<ChatId, { text: string; count: number }>();
  let flushScheduled = false;
  let unsubscribe: (() => void) | null = null;
  let unsubscribeConnection: (() => void) | null = null;
  let noticeSeq = 0;
  let wasDisconnected = false;

  return createStore<AppState>()((set, get) => {
    const setChats = (fn: (c: ChatsData) => ChatsData) => set((s) => ({ chats: fn(s.chats) }));
    const fail = (error: unknown, chatId?: ChatId) => {
      const body = toApiError(error);
      if (chatId && get().chats.chats[chatId]) setChats((c) => setChatError(c, chatId, body));
      else get().actions.notify("error", `${body.code}: ${body.message}`);
    };

    const resync = async () => {
      const [model, policy, chats] = await Promise.all([api.getModel(), api.getPolicy(), api.listChats()]);
      set((s) => ({
        model: { info: model, loading: false, error: null },
        policy: { state: policy, pending: s.policy.pending },
        chats: replaceAll(s.chats, chats),
      }));
      void loadPruneCheck();
      return chats;
    };

    async function loadPruneCheck() {
      try {
        const state = await api.getPruneCheck();
        set({ pruneCheck: { state } });
      } catch {
        /* a host without the pruning check */
      }
    }

    const actions: AppActions = {
      ...createLocalApiActions(api, (fn) => set((s) => ({ localApi: fn(s.localApi) }))),
      async init() {
        if (!unsubscribe) {
          unsubscribe = api.subscribe(
            (e) => get().actions.handleEvent(e),
            (f) => get().actions.handleTelemetry(f),
          );
        }
        if (api.onConnectionChange && !unsubscribeConnection) {
          unsubscribeConnection = api.onConnectionChange((state) => get().actions.setConnection(state));
        } else if (!api.onConnectionChange) {
          get().actions.setConnection("open");
        }
        try {
          const chats = await resync();
          if (chats.length === 0) await get().actions.newChat();
          void loadStorageInfo();
          void loadSavedTheme();
        } catch (error) {
          const body = toApiError(error);
          set((s) => ({ model: { ...s.model, loading: false, error: body } }));
        }
      },
      dispose() {
        unsubscribe?.();
        unsubscribe = null;
        unsubscribeConnection?.();
        unsubscribeConnection = null;
      },
      async newChat() {
        try {
          const n = get().chats.order.length + 1;
          const snapshot = await api.openChat({ title: `Chat ${n}` });
          setChats((c) => upsertSnapshot(c, snapshot, true));
        } catch (error) {
          fail(error);
        }
      },
      toggleHistory(open) {
        const next = open ?? !get().history.open;
        set((s) => ({ history: { ...s.history, open: next } }));
        if (next) void get().actions.refreshHistory();
      },
      async searchHistory(search) {
        set((s) => ({ history: { ...s.history, search } }));
        await get().actions.refreshHistory();
      },
      async refreshHistory() {
        const search = get().history.search;
        set((s) => ({ history: { ...s.history, loading: true } }));
        try {
          const items = await api.listHistory(search.trim() ? { search: search.trim().slice(0, 200) } : undefined);
          // a slower answer to an older search must not replace a newer one
          if (get().history.search === search) set((s) => ({ history: { ...s.history, items, loading: false } }));
        } catch (error) {
          set((s) => ({ history: { ...s.history, loading: false } }));
          fail(error);
        }
      },
      async reopenChat(id) {
        if (get().chats.chats[id]) {
          get().actions.activate(id);
          return;
        }
        try {
          const snapshot = await api.reopenChat(id);
          setChats((c) => upsertSnapshot(c, snapshot, true));
          void get().actions.refreshHistory();
        } catch (error) {
          fail(error);
        }
      },
      async deleteChat(id) {
        try {
          await api.deleteChat(id);
          setChats((c) => removeChat(c, id));
          set((s) => ({ history: { ...s.history, items: s.history.items.filter((item) => item.id !== id) } }));
        } catch (error) {
          fail(error);
        }
      },
      async renameStoredChat(id, title) {
        const trimmed = title.trim();
        if (!trimmed) return;
        if (get().chats.chats[id]) return get().actions.renameChat(id, trimmed);
        try {
          await api.renameChat(id, trimmed);
          set((s) => ({ history: { ...s.history, items: s.history.items.map((item) => (item.id === id ? { ...item, title: trimmed } : item)) } }));
        } catch (error) {
          fail(error);
        }
      },
      async exportChat(id, format) {
        try {
          if (api.saveChatExport) {
            // the desktop app saves through a dialog in main (it blocks downloads): nothing left to hand over
            const saved = await api.saveChatExport(id, format);
            if (saved) get().actions.notify("info", `Exported to ${saved}`);
            return null;
          }
          return await api.exportChat(id, format);
        } catch (error) {
          fail(error);
          return null;
        }
      },
      async closeChat(id) {
        const chat = get().chats.chats[id];
        if (!chat) return;
        try {
          if (chat.status !== "idle") await api.stop(id).catch(() => {});
          await api.closeChat(id);
          setChats((c) => removeChat(c, id));
        } catch (error) {
          // Already gone on the host: drop it here too.
          if (toApiError(error).code === "CHAT_NOT_FOUND") setChats((c) => removeChat(c, id));
          else fail(error);
        }
      },
      async renameChat(id, title) {
        const trimmed = title.trim();
        const before = get().chats.chats[id]?.title;
        if (!trimmed || trimmed === before) return;
        setChats((c) => patchChat(c, id, { title: trimmed }));
        try {
          await api.renameChat(id, trimmed);
        } catch (error) {
          if (before !== undefined) setChats((c) => patchChat(c, id, { title: before }));
          fail(error, id);
        }
      },
      activate(id) {
        setChats((c) => setActive(c, id));
      },
      activateRelative(step) {
        const { order, activeId } = get().chats;
        if (order.length === 0) return;
        const i = activeId ? order.indexOf(activeId) : 0;
        const next = order[(i + step + order.length) % order.length];
        if (next) setChats((c) => setActive(c, next));
      },
      async send(id, text) {
        if (!text.trim()) return false;
        const before = get().chats;
        setChats((c) => addUserMessage(c, id, text));
        try {
          await api.send(id, text);
          return true;
        } catch (error) {
          // Roll back the optimistic message so the text can be resent.
          set({ chats: { ...get().chats, chats: { ...get().chats.chats, [id]: before.chats[id]! } } });
          fail(error, id);
          return false;
        }
      },
      async stop(id) {
        try {
          await api.stop(id);
        } catch (error) {
          fail(error, id);
        }
      },
      async regenerate(id) {
        setChats((c) => dropLastAssistant(c, id));
        try {
          await api.regenerate(id);
        } catch (error) {
          fail(error, id);
          void resync().catch(() => {});
        }
      },
      async editLastAndResend(id, text) {
        if (!text.trim()) return false;
        setChats((c) => replaceLastUser(c, id, text));
        try {
          await api.editLastAndResend(id, text);
          return true;
        } catch (error) {
          fail(error, id);
          void resync().catch(() => {});
          return false;
        }
      },
      async resetChat(id) {
        try {
          await api.resetChat(id);
          setChats((c) => {
            const chat = c.chats[id];
            return chat ? { ...c, chats: { ...c.chats, [id]: { ...chat, messages: [], streaming: "", streamedDeltas: 0 } } } : c;
          });
        } catch (error) {
          fail(error, id);
        }
      },
      async updateSettings(id, settings) {
        const chat = get().chats.chats[id];
        if (!chat) return;
        const merged: ChatSettings = { ...chat.settings, ...settings };
        setChats((c) => patchChat(c, id, { settings: merged }));
        try {
          await api.updateChatSettings(id, settings);
        } catch (error) {
          setChats((c) => patchChat(c, id, { settings: chat.settings }));
          fail(error, id);
        }
      },
      async setPolicy(setting) {
        set((s) => ({ policy: { ...s.policy, pending: setting } }));
        try {
          const state = await api.setPolicy(setting);
          set((s) => ({ policy: { state, pending: s.policy.pending === setting ? null : s.policy.pending } }));
        } catch (error) {
          set((s) => ({ policy: { ...s.policy, pending: null } }));
          fail(error);
        }
      },
      async startPruneCheck(quick) {
        try {
          const state = await api.startPruneCheck({ quick });
          set({ pruneCheck: { state } });
        } catch (error) {
          fail(error);
        }
      },
      async cancelPruneCheck() {
        try {
          await api.cancelPruneCheck();
        } catch (error) {
          fail(error);
        }
      },
      async openModelDialog() {
        if (!api.openModelDialog) {
          get().actions.notify("info", "In web mode the model is chosen when the server starts: npm run serve -- --model PATH");
          return;
        }
        try {
          set((s) => ({ model: { ...s.model, loading: true } }));
          const info = await api.openModelDialog();
          if (info) applyModel(info);
          set((s) => ({ model: { ...s.model, loading: false } }));
        } catch (error) {
          set((s) => ({ model: { ...s.model, loading: false } }));
          fail(error);
        }
      },
      async openModelFile(file) {
        if (!api.openModelFile) {
          get().actions.notify("info", "Dropping a model works in the desktop app. In web mode restart the server with --model PATH.");
          return;
        }
        if (!file.name.toLowerCase().endsWith(".gguf")) {
          get().actions.notify("error", `${file.name} is not a .gguf model file`);
          return;
        }
        try {
          set((s) => ({ model: { ...s.model, loading: true } }));
          const info = await api.openModelFile(file);
          applyModel(info);
        } catch (error) {
          set((s) => ({ model: { ...s.model, loading: false } }));
          fail(error);
        }
      },
      setTheme(theme) {
        set((s) => ({ ui: { ...s.ui, theme } }));
        try {
          globalThis.localStorage?.setItem("lynx.theme", theme);
        } catch {
          /* ignore */
        }
        // the host keeps it too: web mode's origin (its port) changes at every start, and localStorage with it
        void api.updateAppSettings?.({ theme }).catch(() => {});
      },
      toggleTheme() {
        get().actions.setTheme(get().ui.theme === "dark" ? "light" : "dark");
      },
      toggleSideBySide() {
        set((s) => ({ ui: { ...s.ui, sideBySide: !s.ui.sideBySide } }));
      },
      setRenaming(id) {
        set((s) => ({ ui: { ...s.ui, renamingId: id } }));
      },
      notify(kind, text) {
        const id = ++noticeSeq;
        set((s) => ({ ui: { ...s.ui, notices: [...s.ui.notices.slice(-3), { id, kind, text }] } }));
      },
      dismissNotice(id) {
        set((s) => ({ ui: { ...s.ui, notices: s.ui.notices.filter((n) => n.id !== id) } }));
      },
      flushDeltas() {
        flushScheduled = false;
        if (pending.size === 0) return;
        const batch = new Map(pending);
        pending.clear();
        setChats((c) => applyDeltas(c, batch));
      },
      handleEvent(event) {
        if (event.type === "chat.delta") {
          const entry = pending.get(event.chatId);
          if (entry) {
            entry.text += event.text;
            entry.count += 1;
          } else {
            pending.set(event.chatId, { text: event.text, count: 1 });
          }
          if (!flushScheduled) {
            flushScheduled = true;
            schedule(() => get().actions.flushDeltas());
          }
          return;
        }
        // Keep order: text that arrived before this event lands first.
        get().actions.flushDeltas();
        set((s) => ({
          chats: applyChatEvent(s.chats, event),
          model: applyModelEvent(s.model, event),
          policy: applyPolicyEvent(s.policy, event),
          pruneCheck: applyPruneCheckEvent(s.pruneCheck, event),
        }));
        // a finished check may have changed what Auto stands for
        if (event.type === "pruneCheck.changed" && event.state.status === "done") {
          void api
            .getPolicy()
            .then((state) => set((s) => ({ policy: { ...s.policy, state } })))
            .catch(() => {});
        }
        if (event.type === "host.error") get().actions.notify("error", `${event.code}: ${event.message}`);
        if (event.type === "history.changed" && get().history.open) scheduleHistoryRefresh();
        if (event.type === "model.changed") {
          // A new engine: its telemetry starts over, and its chats are whatever it lists now.
          set({ telemetry: emptyTelemetry });
          void resync()
            .then((chats) => (chats.length === 0 ? get().actions.newChat() : undefined))
            .catch(() => {});
        }
      },
      handleTelemetry(frame) {
        set((s) => {
          const telemetry = applyTelemetryFrame(s.telemetry, frame, now());
          return telemetry === s.telemetry ? s : { telemetry };
        });
      },
      setConnection(state) {
        if (state === get().ui.connection) return;
        set((s) => ({ ui: { ...s.ui, connection: state } }));
        if (state === "closed") wasDisconnected = true;
        if (state === "open" && wasDisconnected) {
          wasDisconnected = false;
          void resync().catch(() => {});
        }
      },
    };

    // answers end often while several chats stream: one refresh per half second at most
    let historyTimer: ReturnType<typeof setTimeout> | null = null;
    function scheduleHistoryRefresh() {
      if (historyTimer) return;
      historyTimer = setTimeout(() => {
        historyTimer = null;
        void get().actions.refreshHistory();
      }, 500);
    }

    async function loadSavedTheme() {
      try {
        const { theme } = await api.getAppSettings();
        if (theme !== "system" && theme !== get().ui.theme) set((s) => ({ ui: { ...s.ui, theme } }));
      } catch {
        /* nothing saved */
      }
    }

    async function loadStorageInfo() {
      try {
        const info = await api.getStorageInfo();
        set((s) => ({ history: { ...s.history, dataDir: info.dataDir, storeNotices: info.notices } }));
        // what a crash tore and the store repaired is said once, as a notice
        for (const notice of info.notices) get().actions.notify("info", `Chat store: ${notice.message}`);
      } catch {
        /* an older host without storage */
      }
    }

    function applyModel(info: ModelInfo) {
      set({ model: { info, loading: false, error: null }, telemetry: emptyTelemetry });
      void resync()
        .then((chats) => (chats.length === 0 ? get().actions.newChat() : undefined))
        .catch(() => {});
    }

    return {
      chats: emptyChats,
      model: emptyModel,
      policy: emptyPolicy,
      pruneCheck: emptyPruneCheck,
      telemetry: emptyTelemetry,
      ui: emptyUi(),
      history: emptyHistory,
      localApi: emptyLocalApi,
      actions,
    };
  });
}

export type { ChatState, ChatsData } from "./chats.js";
export type { ModelData } from "./model.js";
export type { PolicyData } from "./policy.js";
export type { PruneCheckData } from "./prune-check.js";
export type { TelemetryData } from "./telemetry.js";
export type { UiData, Theme } from "./ui.js";
export type { HistoryData } from "./history.js";
export type { LocalApiData } from "./local-api.js";


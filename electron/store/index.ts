// The chat store's entry point: the host opens one per data folder.
export { openChatStore, defaultAppSettings, type ChatStore, type ChatStoreOptions, type StoredChat, type StoredChatSummary } from "./chat-store.js";
export { defaultDataDir } from "./data-dir.js";
export { exportChat } from "./export.js";
export { StoreError } from "./store-error.js";
export { defaultModelSettings, modelFingerprint, openModelSettingsStore, type ModelSettingsStore } from "./model-settings.js";

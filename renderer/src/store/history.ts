// History slice: the stored chats (newest first) for the history panel, its search and its state.
import type { ChatSummary, StoreNotice } from "../../../electron/api/contract.js";

export interface HistoryData {
  open: boolean;
  search: string;
  items: ChatSummary[];
  loading: boolean;
  /** Where chats are saved (null: this host saves nothing). */
  dataDir: string | null;
  /** What the store repaired when it opened. */
  storeNotices: StoreNotice[];
}

export const emptyHistory: HistoryData = { open: false, search: "", items: [], loading: false, dataDir: null, storeNotices: [] };

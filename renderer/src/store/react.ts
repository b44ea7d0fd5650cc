// React bindings for the vanilla store.
import { createContext, useContext } from "react";
import { useStore } from "zustand";
import type { AppActions, AppState, AppStore } from "./index.js";

export const StoreContext = createContext<AppStore | null>(null);

export function useAppStore(): AppStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error("StoreContext missing");
  return store;
}

export function useApp<T>(selector: (state: AppState) => T): T {
  return useStore(useAppStore(), selector);
}

export function useActions(): AppActions {
  return useAppStore().getState().actions;
}

// UI slice: theme, connection, layout and notices.

export type Theme = "light" | "dark";
export type Connection = "connecting" | "open" | "closed";

export interface Notice {
  id: number;
  kind: "error" | "info";
  text: string;
}

export interface UiData {
  theme: Theme;
  connection: Connection;
  sideBySide: boolean;
  /** Chat whose tab title is being edited. */
  renamingId: string | null;
  notices: Notice[];
}

export function initialTheme(): Theme {
  try {
    const saved = globalThis.localStorage?.getItem("lynx.theme");
    if (saved === "light" || saved === "dark") return saved;
  } catch {
    /* storage unavailable */
  }
  return globalThis.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export const emptyUi = (): UiData => ({ theme: initialTheme(), connection: "connecting", sideBySide: false, renamingId: null, notices: [] });

import { useEffect, useState, type DragEvent } from "react";
import { isDesktop, type AppApi } from "./api/index.js";
import { AggressivenessControl } from "./components/AggressivenessControl.js";
import { ChatView } from "./components/ChatView.js";
import { BatchHeatmap, ChatHeatmap } from "./components/Heatmaps.js";
import { HistoryPanel } from "./components/HistoryPanel.js";
import { LocalApiPanel } from "./components/LocalApiPanel.js";
import { LibraryPanel } from "./components/LibraryPanel.js";
import { ModelPanel } from "./components/ModelPanel.js";
import { StatsPanel } from "./components/StatsPanel.js";
import { TabBar } from "./components/TabBar.js";
import { useActions, useApp, useAppStore } from "./store/react.js";
import type { MenuCommand } from "../../electron/api/desktop.js";

function Notices() {
  const notices = useApp((s) => s.ui.notices);
  const actions = useActions();
  if (notices.length === 0) return null;
  return (
    <div className="notices" role="status">
      {notices.map((n) => (
        <div key={n.id} className={`notice ${n.kind}`} role={n.kind === "error" ? "alert" : undefined}>
          <span>{n.text}</span>
          <button type="button" aria-label="Dismiss" onClick={() => actions.dismissNotice(n.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

function ChatArea() {
  const activeId = useApp((s) => s.chats.activeId);
  const order = useApp((s) => s.chats.order);
  const sideBySide = useApp((s) => s.ui.sideBySide);
  if (sideBySide && order.length > 1) {
    return (
      <div className="chat-grid" id="chat-panel" role="tabpanel" aria-label="All chats side by side">
        {order.map((id) => (
          <ChatView key={id} chatId={id} compact />
        ))}
      </div>
    );
  }
  return (
    <div className="chat-panel" id="chat-panel" role="tabpanel" aria-labelledby={activeId ? `tab-${activeId}` : undefined}>
      {activeId ? <ChatView key={activeId} chatId={activeId} /> : <p className="empty-hint">No chat open. Press + to start one.</p>}
    </div>
  );
}

export function App({ api }: { api: AppApi }) {
  const store = useAppStore();
  const actions = useActions();
  const theme = useApp((s) => s.ui.theme);
  const connection = useApp((s) => s.ui.connection);
  const modelName = useApp((s) => s.model.info?.name ?? "");
  const historyOpen = useApp((s) => s.history.open);
  const [dragging, setDragging] = useState(false);
  const [libraryOpen, setLibraryOpen] = useState(false);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);

  // Keyboard: Ctrl/Cmd+T new chat, Ctrl/Cmd+W close (browsers keep those two for themselves, so
  // Alt+T / Alt+W work too), Ctrl+Tab / Ctrl+PageDown next tab, F2 rename.
  useEffect(() => {
    // In Electron the application menu owns Ctrl/Cmd+T and Ctrl/Cmd+W (handling them here too could
    // act twice); the page keeps Alt+T / Alt+W and tab switching.
    const desktop = isDesktop(api);
    const onKey = (e: KeyboardEvent) => {
      const mod = (e.ctrlKey || e.metaKey) && !desktop;
      const key = e.key.toLowerCase();
      const { activeId } = store.getState().chats;
      if ((mod && !e.shiftKey && key === "t") || (e.altKey && key === "t")) {
        e.preventDefault();
        void actions.newChat();
      } else if ((mod && !e.shiftKey && key === "w") || (e.altKey && key === "w")) {
        e.preventDefault();
        if (activeId) void actions.closeChat(activeId);
      } else if ((e.ctrlKey && key === "tab") || (e.ctrlKey && key === "pagedown")) {
        e.preventDefault();
        actions.activateRelative(e.shiftKey ? -1 : 1);
      } else if (e.ctrlKey && key === "pageup") {
        e.preventDefault();
        actions.activateRelative(-1);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [api, store, actions]);

  // Electron: the application menu sends commands (it does not know the active tab).
  useEffect(() => {
    if (!isDesktop(api)) return;
    return api.onMenuCommand((command: MenuCommand) => {
      const { activeId } = store.getState().chats;
      switch (command) {
        case "newChat":
          void actions.newChat();
          break;
        case "closeChat":
          if (activeId) void actions.closeChat(activeId);
          break;
        case "renameChat":
          if (activeId) actions.setRenaming(activeId);
          break;
        case "stop":
          if (activeId) void actions.stop(activeId);
          break;
        case "toggleTheme":
          actions.toggleTheme();
          break;
        case "focusComposer":
          if (activeId) window.dispatchEvent(new Event(`lynx:focus-composer:${activeId}`));
          break;
      }
    });
  }, [api, store, actions]);

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const file = e.dataTransfer.files[0];
    if (file) void actions.openModelFile(file);
  };

  return (
    <div
      className={`app${dragging ? " dragging" : ""}`}
      onDragOver={(e) => {
        if (e.dataTransfer.types.includes("Files")) {
          e.preventDefault();
          setDragging(true);
        }
      }}
      onDragLeave={(e) => {
        if (e.currentTarget === e.target) setDragging(false);
      }}
      onDrop={onDrop}
    >
      <a href="#chat-panel" className="skip-link">
        Skip to chat
      </a>
      <header className="app-header">
        <h1>
          <span className="logo" aria-hidden="true">
            ◆
          </span>{" "}
          Lynx Chat
        </h1>
        <span className="model-name" title={modelName}>
          {modelName}
        </span>
        <span className={`connection ${connection}`} role="status" aria-label={`Connection ${connection}`} data-testid="connection">
          {connection === "open" ? "connected" : connection}
        </span>
        <button
          type="button"
          className="history-toggle"
          aria-pressed={historyOpen}
          aria-controls="history"
          onClick={() => actions.toggleHistory()}
          data-testid="history-toggle"
        >
          History
        </button>
        <button type="button" className="library-toggle" aria-pressed={libraryOpen} onClick={() => setLibraryOpen((v) => !v)} data-testid="library-toggle">
          Models
        </button>
        <button
          type="button"
          className="theme-toggle"
          aria-label={theme === "dark" ? "Switch to light theme" : "Switch to dark theme"}
          aria-pressed={theme === "dark"}
          onClick={() => actions.toggleTheme()}
        >
          {theme === "dark" ? "☀ Light" : "☾ Dark"}
        </button>
      </header>
      <Notices />
      <main className={`layout${historyOpen ? " with-history" : ""}`}>
        <div id="history" className="history-slot">
          <HistoryPanel />
        </div>
        <div className="chat-column">
          {libraryOpen && <LibraryPanel api={api} />}
          <TabBar />
          <ChatArea />
        </div>
        <aside className="side-column" aria-label="Experts, pruning and statistics">
          <AggressivenessControl />
          <ChatHeatmap />
          <BatchHeatmap />
          <StatsPanel />
          <ModelPanel api={api} />
          <LocalApiPanel />
        </aside>
      </main>
      {dragging && (
        <div className="drop-overlay" aria-hidden="true">
          Drop a .gguf model to open it
        </div>
      )}
    </div>
  );
}

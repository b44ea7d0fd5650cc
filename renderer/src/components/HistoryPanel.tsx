// The history: every stored chat, newest first, searchable by title and text; reopen, rename, export, delete.
import { useEffect, useId, useState } from "react";
import type { ChatSummary, ExportFormat } from "../../../electron/api/contract.js";
import { useActions, useApp } from "../store/react.js";

function when(ms: number): string {
  if (!ms) return "";
  const date = new Date(ms);
  const today = new Date();
  return date.toDateString() === today.toDateString() ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : date.toLocaleDateString();
}

/** Hands an export to the browser as a download (web mode; Electron's bridge saves through a dialog). */
function download(fileName: string, mimeType: string, content: string) {
  const url = URL.createObjectURL(new Blob([content], { type: `${mimeType};charset=utf-8` }));
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function HistoryItem({ item }: { item: ChatSummary }) {
  const actions = useActions();
  const [mode, setMode] = useState<"idle" | "rename" | "confirmDelete">("idle");
  const [title, setTitle] = useState(item.title);

  const exportAs = async (format: ExportFormat) => {
    const file = await actions.exportChat(item.id, format);
    if (file) download(file.fileName, file.mimeType, file.content);
  };

  return (
    <li className={`history-item${item.open ? " open" : ""}`} data-testid="history-item" data-chat-id={item.id}>
      {mode === "rename" ? (
        <input
          className="history-rename"
          aria-label="New title"
          value={title}
          maxLength={200}
          autoFocus
          onChange={(e) => setTitle(e.target.value)}
          onBlur={() => setMode("idle")}
          onKeyDown={(e) => {
            if (e.key === "Enter") {
              void actions.renameStoredChat(item.id, title);
              setMode("idle");
            } else if (e.key === "Escape") setMode("idle");
          }}
        />
      ) : (
        <button type="button" className="history-open link-button" onClick={() => void actions.reopenChat(item.id)} title={item.open ? "Show its tab" : "Open in a tab"}>
          <span className="history-title">{item.title}</span>
          <span className="history-meta">
            {when(item.updatedAt)} · {item.messageCount} message{item.messageCount === 1 ? "" : "s"}
            {item.open ? " · open" : ""}
          </span>
          {item.preview && <span className="history-preview">{item.preview}</span>}
        </button>
      )}
      {mode === "confirmDelete" ? (
        <div className="history-confirm" role="group" aria-label={`Delete ${item.title}?`}>
          <span>Delete for good?</span>
          <button type="button" className="danger" onClick={() => void actions.deleteChat(item.id)}>
            Delete
          </button>
          <button type="button" onClick={() => setMode("idle")}>
            Keep
          </button>
        </div>
      ) : (
        <div className="history-actions">
          <button type="button" onClick={() => { setTitle(item.title); setMode("rename"); }} aria-label={`Rename ${item.title}`}>
            Rename
          </button>
          <button type="button" onClick={() => void exportAs("markdown")} aria-label={`Export ${item.title} as Markdown`}>
            .md
          </button>
          <button type="button" onClick={() => void exportAs("json")} aria-label={`Export ${item.title} as JSON`}>
            .json
          </button>
          <button type="button" className="danger" onClick={() => setMode("confirmDelete")} aria-label={`Delete ${item.title}`}>
            Delete
          </button>
        </div>
      )}
    </li>
  );
}

export function HistoryPanel() {
  const history = useApp((s) => s.history);
  const actions = useActions();
  const searchId = useId();
  const [search, setSearch] = useState(history.search);

  // search as the user types, a moment after the last key
  useEffect(() => {
    if (search === history.search) return;
    const timer = setTimeout(() => void actions.searchHistory(search), 200);
    return () => clearTimeout(timer);
  }, [search]); // eslint-disable-line react-hooks/exhaustive-deps

  if (!history.open) return null;
  return (
    <aside className="history-panel" aria-label="Chat history" data-testid="history-panel">
      <header className="history-header">
        <h2>History</h2>
        <button type="button" aria-label="Close the history" onClick={() => actions.toggleHistory(false)}>
          ×
        </button>
      </header>
      <label htmlFor={searchId} className="sr-only">
        Search chats
      </label>
      <input id={searchId} type="search" className="history-search" placeholder="Search titles and messages" value={search} maxLength={200} onChange={(e) => setSearch(e.target.value)} />
      {history.items.length === 0 && !history.loading && <p className="empty-hint">{history.search ? "No chat matches." : "No saved chats yet."}</p>}
      <ul className="history-list">
        {history.items.map((item) => (
          <HistoryItem key={item.id} item={item} />
        ))}
      </ul>
      <p className="history-footer">{history.dataDir ? <>Saved in <code>{history.dataDir}</code></> : "This session saves nothing (no data folder)."}</p>
    </aside>
  );
}

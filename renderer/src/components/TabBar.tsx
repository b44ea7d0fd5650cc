import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import type { ChatId } from "../../../electron/api/contract.js";
import { maxChatsLimit } from "../../../electron/api/contract.js";
import { useActions, useApp } from "../store/react.js";
import { statusText } from "./ChatView.js";

function Tab({ chatId, index, onKeyNav }: { chatId: ChatId; index: number; onKeyNav: (e: KeyboardEvent, index: number) => void }) {
  const chat = useApp((s) => s.chats.chats[chatId]);
  const active = useApp((s) => s.chats.activeId === chatId);
  const renaming = useApp((s) => s.ui.renamingId === chatId);
  const actions = useActions();
  const [title, setTitle] = useState("");
  const inputRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (renaming && chat) {
      setTitle(chat.title);
      requestAnimationFrame(() => inputRef.current?.select());
    }
  }, [renaming]); // eslint-disable-line react-hooks/exhaustive-deps

  if (!chat) return null;
  const finish = (commit: boolean) => {
    if (commit) void actions.renameChat(chatId, title);
    actions.setRenaming(null);
  };
  const status = statusText(chat.status, chat.queuePosition, chat.streamedDeltas);

  return (
    <div className={`tab${active ? " active" : ""} ${chat.status}`} data-chat-id={chatId} data-testid="tab" role="presentation">
      {renaming ? (
        <input
          ref={inputRef}
          className="tab-rename"
          aria-label="Chat title"
          value={title}
          maxLength={200}
          onChange={(e) => setTitle(e.target.value)}
          onBlur={() => finish(true)}
          onKeyDown={(e) => {
            if (e.key === "Enter") finish(true);
            else if (e.key === "Escape") finish(false);
          }}
        />
      ) : (
        <button
          type="button"
          role="tab"
          id={`tab-${chatId}`}
          aria-selected={active}
          aria-controls="chat-panel"
          tabIndex={active ? 0 : -1}
          className="tab-button"
          title={`${chat.title} (double-click or F2 to rename)`}
          onClick={() => actions.activate(chatId)}
          onDoubleClick={() => actions.setRenaming(chatId)}
          onKeyDown={(e) => {
            if (e.key === "F2") {
              e.preventDefault();
              actions.setRenaming(chatId);
            } else onKeyNav(e, index);
          }}
        >
          <span className="tab-title">{chat.title}</span>
          <span className={`status-badge ${chat.status}`} data-testid="tab-status" aria-label={`status: ${status}`}>
            {chat.status === "generating" && <span className="spinner" aria-hidden="true" />}
            {status}
          </span>
        </button>
      )}
      <button type="button" className="tab-close" aria-label={`Close ${chat.title}`} title="Close (Ctrl+W)" onClick={() => void actions.closeChat(chatId)}>
        ×
      </button>
    </div>
  );
}

export function TabBar() {
  const order = useApp((s) => s.chats.order);
  const sideBySide = useApp((s) => s.ui.sideBySide);
  const actions = useActions();
  const listRef = useRef<HTMLDivElement>(null);

  const onKeyNav = (e: KeyboardEvent, index: number) => {
    let next = -1;
    if (e.key === "ArrowRight") next = (index + 1) % order.length;
    else if (e.key === "ArrowLeft") next = (index - 1 + order.length) % order.length;
    else if (e.key === "Home") next = 0;
    else if (e.key === "End") next = order.length - 1;
    else if (e.key === "Delete") {
      e.preventDefault();
      const id = order[index];
      if (id) void actions.closeChat(id);
      return;
    }
    if (next < 0) return;
    e.preventDefault();
    const id = order[next];
    if (!id) return;
    actions.activate(id);
    requestAnimationFrame(() => listRef.current?.querySelector<HTMLElement>(`#tab-${CSS.escape(id)}`)?.focus());
  };

  return (
    <div className="tab-bar">
      <div className="tabs" role="tablist" aria-label="Chats" ref={listRef}>
        {order.map((id, i) => (
          <Tab key={id} chatId={id} index={i} onKeyNav={onKeyNav} />
        ))}
      </div>
      <button
        type="button"
        className="new-tab"
        aria-label="New chat"
        title="New chat (Ctrl+T, or Alt+T in a browser)"
        disabled={order.length >= maxChatsLimit}
        onClick={() => void actions.newChat()}
      >
        +
      </button>
      <label className="toggle side-by-side">
        <input type="checkbox" checked={sideBySide} onChange={() => actions.toggleSideBySide()} />
        Side by side
      </label>
    </div>
  );
}

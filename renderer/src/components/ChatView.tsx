import { useEffect, useId, useLayoutEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import type { ChatId } from "../../../electron/api/contract.js";
import { maxMessageLength } from "../../../electron/api/contract.js";
import { useActions, useApp } from "../store/react.js";
import { Message } from "./Message.js";
import { SettingsPanel } from "./SettingsPanel.js";

export function statusText(status: string, queuePosition?: number, deltas = 0): string {
  if (status === "queued") return queuePosition !== undefined ? `queued #${queuePosition}` : "queued";
  if (status === "generating") return deltas > 0 ? `generating · ${deltas}` : "generating";
  return "idle";
}

export function ChatView({ chatId, compact = false }: { chatId: ChatId; compact?: boolean }) {
  const chat = useApp((s) => s.chats.chats[chatId]);
  const actions = useActions();
  const [draft, setDraft] = useState("");
  const [editing, setEditing] = useState(false);
  const logRef = useRef<HTMLDivElement>(null);
  const stickToBottom = useRef(true);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const inputId = useId();

  // Follow the stream unless the user scrolled up.
  useLayoutEffect(() => {
    const el = logRef.current;
    if (el && stickToBottom.current) el.scrollTop = el.scrollHeight;
  }, [chat?.messages, chat?.streaming]);

  useEffect(() => {
    const focus = () => inputRef.current?.focus();
    window.addEventListener(`lynx:focus-composer:${chatId}`, focus);
    return () => window.removeEventListener(`lynx:focus-composer:${chatId}`, focus);
  }, [chatId]);

  if (!chat) return null;
  const busy = chat.status !== "idle";
  const lastUserIndex = chat.messages.map((m) => m.role).lastIndexOf("user");
  const canRegenerate = !busy && chat.messages.at(-1)?.role === "assistant";
  const canEdit = !busy && lastUserIndex >= 0;

  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    const text = draft;
    if (!text.trim() || busy) return;
    setDraft("");
    const ok = editing ? await actions.editLastAndResend(chatId, text) : await actions.send(chatId, text);
    setEditing(false);
    if (!ok) setDraft(text);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void submit();
    } else if (e.key === "Escape" && editing) {
      setEditing(false);
      setDraft("");
    }
  };

  const startEdit = () => {
    const last = chat.messages[lastUserIndex];
    if (!last) return;
    setDraft(last.text);
    setEditing(true);
    inputRef.current?.focus();
  };

  return (
    <section className={`chat-view${compact ? " compact" : ""}`} aria-label={`Chat ${chat.title}`} data-chat-id={chatId}>
      {compact && (
        <header className="chat-view-header">
          <button type="button" className="link-button" onClick={() => actions.activate(chatId)}>
            {chat.title}
          </button>
          <span className={`status-badge ${chat.status}`} data-testid="chat-status">
            {statusText(chat.status, chat.queuePosition, chat.streamedDeltas)}
          </span>
        </header>
      )}
      <div
        className="messages"
        role="log"
        aria-label={`Messages in ${chat.title}`}
        aria-live="polite"
        aria-busy={chat.status === "generating"}
        ref={logRef}
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
      >
        {chat.messages.length === 0 && !chat.streaming && (
          <p className="empty-hint">Ask something. Open more tabs (Ctrl+T) to see several chats share decode batches.</p>
        )}
        {chat.messages.map((m, i) => (
          <Message key={i} message={m} />
        ))}
        {(chat.streaming || chat.status !== "idle") && (
          <Message message={{ role: "assistant", text: chat.streaming || (chat.status === "queued" ? "_Waiting for a free slot…_" : "") }} streaming />
        )}
      </div>
      {chat.error && (
        <div className="chat-error" role="alert">
          <strong>{chat.error.code}</strong>: {chat.error.message}
        </div>
      )}
      <form className="composer" onSubmit={submit}>
        <label htmlFor={inputId} className="sr-only">
          {editing ? "Edit last message" : "Message"}
        </label>
        <textarea
          id={inputId}
          ref={inputRef}
          aria-label={editing ? "Edit last message" : "Message"}
          placeholder={busy ? "Generating… (Stop to interrupt)" : editing ? "Edit your last message, Enter to resend" : "Message (Enter to send, Shift+Enter for a new line)"}
          value={draft}
          maxLength={maxMessageLength}
          rows={compact ? 2 : 3}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={onKeyDown}
          data-testid="composer"
        />
        <div className="composer-buttons">
          {busy ? (
            <button type="button" className="danger" onClick={() => void actions.stop(chatId)}>
              Stop
            </button>
          ) : (
            <button type="submit" className="primary" disabled={!draft.trim()}>
              {editing ? "Resend" : "Send"}
            </button>
          )}
          {editing ? (
            <button type="button" onClick={() => { setEditing(false); setDraft(""); }}>
              Cancel edit
            </button>
          ) : (
            <button type="button" onClick={startEdit} disabled={!canEdit} title="Edit the last message and resend it">
              Edit last
            </button>
          )}
          <button type="button" onClick={() => void actions.regenerate(chatId)} disabled={!canRegenerate}>
            Regenerate
          </button>
        </div>
      </form>
      {!compact && <SettingsPanel chatId={chatId} />}
    </section>
  );
}

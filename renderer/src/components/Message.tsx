import { memo, useMemo } from "react";
import type { ChatMessage } from "../../../electron/api/contract.js";
import { renderMarkdown } from "../lib/markdown.js";

const stopLabels: Record<string, string> = {
  aborted: "stopped",
  maxTokens: "length limit",
  contextFull: "context full",
  error: "error",
};

export const Markdown = memo(function Markdown({ text }: { text: string }) {
  const html = useMemo(() => renderMarkdown(text), [text]);
  return <div className="markdown" dangerouslySetInnerHTML={{ __html: html }} />;
});

export const Message = memo(function Message({ message, streaming = false }: { message: ChatMessage; streaming?: boolean }) {
  const isUser = message.role === "user";
  return (
    <article
      className={`message ${message.role}${streaming ? " streaming" : ""}`}
      aria-label={isUser ? "You" : streaming ? "Assistant (writing)" : "Assistant"}
      data-testid={streaming ? "message-streaming" : `message-${message.role}`}
    >
      <div className="message-role" aria-hidden="true">
        {isUser ? "You" : "Assistant"}
      </div>
      {isUser ? <div className="message-text plain">{message.text}</div> : <Markdown text={message.text} />}
      {streaming && <span className="cursor" aria-hidden="true" />}
      {message.stopReason && message.stopReason !== "eos" && (
        <div className={`stop-reason ${message.stopReason}`}>{stopLabels[message.stopReason] ?? message.stopReason}</div>
      )}
    </article>
  );
});

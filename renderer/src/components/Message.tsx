import { memo, useMemo } from "react";
import type { AnswerStats, ChatMessage, StopReason } from "../../../electron/api/contract.js";
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

const stopReasonText: Record<StopReason, string> = {
  eos: "end of answer",
  maxTokens: "length limit",
  aborted: "stopped",
  contextFull: "context full",
  error: "error",
};

/** One answer's statistics, as they were measured while it was generated (kept in the chat store). */
export function MessageStats({ stats, stopReason }: { stats: AnswerStats; stopReason?: StopReason }) {
  const saving = stats.expertsBefore > 0 ? 1 - stats.expertsAfter / stats.expertsBefore : 0;
  const routing =
    stats.expertsBefore > 0
      ? `experts read per layer per step: ${stats.expertsBefore.toFixed(2)} with plain top-k, ${stats.expertsAfter.toFixed(2)} after selection; ` +
        `${stats.batchedSteps} of ${stats.decodeSteps} decode steps were batched with other chats`
      : "dense model: no experts";
  return (
    <dl className="message-stats" data-testid="answer-stats" title={`${routing}. Pruning: ${stats.pruning.description}`}>
      <div>
        <dt>tokens</dt>
        <dd data-stat="tokens">{stats.tokens}</dd>
      </div>
      <div>
        <dt>tok/s</dt>
        <dd data-stat="tokens-per-second">{stats.tokensPerSecond.toFixed(1)}</dd>
      </div>
      <div>
        <dt>first token</dt>
        <dd data-stat="time-to-first-token">{(stats.timeToFirstTokenMs / 1000).toFixed(2)} s</dd>
      </div>
      <div>
        <dt>stop</dt>
        <dd data-stat="stop-reason">{stopReason ? stopReasonText[stopReason] : "–"}</dd>
      </div>
      {stats.expertsBefore > 0 && (
        <div>
          <dt>experts/step</dt>
          <dd data-stat="experts">
            {stats.expertsBefore.toFixed(1)} → {stats.expertsAfter.toFixed(1)}
          </dd>
        </div>
      )}
      {stats.expertsBefore > 0 && (
        <div>
          <dt>saved</dt>
          <dd data-stat="saving">{(saving * 100).toFixed(0)}%</dd>
        </div>
      )}
    </dl>
  );
}

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
      {message.interrupted && (
        <div className="stop-reason interrupted" data-testid="answer-interrupted">
          interrupted: the app stopped while this was written; the saved part is shown
        </div>
      )}
      {!streaming && message.stats && <MessageStats stats={message.stats} {...(message.stopReason ? { stopReason: message.stopReason } : {})} />}
    </article>
  );
});

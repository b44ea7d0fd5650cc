// A stored chat as a file to download: Markdown to read, JSON to process (the same fields as the log).
import type { AnswerStats, ChatExport, ExportFormat } from "../api/contract.js";
import { storeVersion } from "./format.js";
import type { StoredChat } from "./chat-store.js";

function safeFileName(title: string): string {
  const base = title.replace(/[^\p{L}\p{N} _.-]+/gu, "").trim().replace(/\s+/g, "-").slice(0, 80);
  return base || "chat";
}

function statsLine(stats: AnswerStats): string {
  const parts = [
    `${stats.tokens} tokens`,
    `${stats.tokensPerSecond.toFixed(1)} tok/s`,
    `first token ${(stats.timeToFirstTokenMs / 1000).toFixed(2)} s`,
  ];
  if (stats.expertsBefore > 0) {
    const saving = stats.expertsBefore > 0 ? 1 - stats.expertsAfter / stats.expertsBefore : 0;
    parts.push(`experts/layer/step ${stats.expertsBefore.toFixed(1)} -> ${stats.expertsAfter.toFixed(1)} (${(saving * 100).toFixed(0)}% saved)`);
  }
  parts.push(`pruning: ${stats.pruning.description}`);
  return parts.join(" · ");
}

function toMarkdown(chat: StoredChat): string {
  const lines = [`# ${chat.title}`, "", `Created ${new Date(chat.createdAt).toISOString()}, exported from Lynx Chat.`, ""];
  if (chat.settings.systemPrompt) lines.push("## System", "", chat.settings.systemPrompt, "");
  for (const message of chat.messages) {
    lines.push(message.role === "user" ? "## User" : "## Assistant", "", message.text, "");
    const notes: string[] = [];
    if (message.stats) notes.push(statsLine(message.stats));
    if (message.stopReason && message.stopReason !== "eos") notes.push(`stopped: ${message.stopReason}`);
    if (message.interrupted) notes.push("interrupted (the app stopped while it streamed)");
    if (notes.length > 0) lines.push(`> ${notes.join(" · ")}`, "");
  }
  return lines.join("\n");
}

export function exportChat(chat: StoredChat, format: ExportFormat): ChatExport {
  const base = safeFileName(chat.title);
  if (format === "markdown") return { fileName: `${base}.md`, mimeType: "text/markdown", content: toMarkdown(chat) };
  const body = { format: "lynx-chat-export", version: storeVersion, chat };
  return { fileName: `${base}.json`, mimeType: "application/json", content: JSON.stringify(body, null, 2) + "\n" };
}

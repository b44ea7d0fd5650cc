// What one door (web mode or IPC) should have done to the host's chats: the chats it opened, their titles and
// settings after every call that succeeded, the texts it sent to each. Its chat ids feed the message generator,
// and after the fuzz the host's real state is compared with it. Methods it does not know (added to the API
// later) still get fuzzed; a chat such a method touched is then only checked for well-formedness.

import { isDeepStrictEqual } from "node:util";
import { defaultSampling, type AggressivenessSetting, type ChatSettings, type ChatSnapshot } from "../../electron/api/contract.js";
import type { ChatRef } from "./fuzz-messages.js";

interface ExpectedChat {
  title: string;
  settings: ChatSettings;
  /** False once a method this model does not know succeeded on the chat. */
  modeled: boolean;
  sentTexts: Set<string>;
}

/** Calls that change nothing this model tracks (their effects are checked elsewhere or not at all). */
const neutral = new Set([
  "getModel", "listChats", "stop", "regenerate", "resetChat", "getPolicy", "listHistory", "exportChat",
  "getAppSettings", "updateAppSettings", "getStorageInfo", "openModelDialog", "chooseModelsDir", "getLocalApi", "setLocalApi",
  "listModels", "estimateFit", "updateModelSettings", "deleteModel", "startDownload", "pauseDownload", "resumeDownload", "cancelDownload",
]);

export class DoorModel {
  /** Open chats this door created, in creation order. */
  readonly open: string[] = [];
  /** Chats this door closed (a store keeps them: they can be reopened). */
  readonly closed: string[] = [];
  readonly chats = new Map<string, ExpectedChat>();
  policy: AggressivenessSetting | null = null;

  constructor(private readonly name: string) {}

  /** Chat ids for the generator: one of this door's open chats, a closed one, or a well-formed id of no chat. */
  readonly resolve = (ref: ChatRef): string => {
    if (ref.kind === "known" && this.open.length > 0) {
      if (ref.pick % 20 === 0 && this.closed.length > 0) return this.closed[ref.pick % this.closed.length]!;
      return this.open[ref.pick % this.open.length]!;
    }
    return `${this.name}-none-${ref.pick.toString(36)}`;
  };

  /** Applies a call the host accepted; returns a problem when the host's answer contradicts the model. */
  apply(method: string, args: unknown[], result: unknown): string | null {
    const chatId = typeof args[0] === "string" ? args[0] : null;
    const chat = chatId ? this.chats.get(chatId) : undefined;
    switch (method) {
      case "openChat":
      case "reopenChat": {
        const snapshot = result as ChatSnapshot;
        const given = (method === "openChat" ? args[0] : undefined) as (Partial<ChatSettings> & { title?: string }) | undefined;
        const previous = method === "reopenChat" && chatId ? this.chats.get(chatId) : undefined;
        if (method === "reopenChat" && !previous) return null; // not one of ours
        const expected: ExpectedChat = previous ?? {
          title: given?.title ?? snapshot.title,
          settings: { systemPrompt: given?.systemPrompt ?? "", sampling: { ...defaultSampling, ...given?.sampling } },
          modeled: true,
          sentTexts: new Set(),
        };
        const problem = this.compare(snapshot, expected, `${method} answered`);
        this.chats.set(snapshot.id, expected);
        if (!this.open.includes(snapshot.id)) this.open.push(snapshot.id);
        remove(this.closed, snapshot.id);
        return problem;
      }
      case "renameChat":
        if (chat) chat.title = (args[1] as string).trim().slice(0, 200) || chat.title;
        return null;
      case "updateChatSettings":
        if (chat) {
          const patch = args[1] as Partial<ChatSettings>;
          if (patch.systemPrompt !== undefined) chat.settings.systemPrompt = patch.systemPrompt;
          if (patch.sampling) chat.settings.sampling = { ...chat.settings.sampling, ...patch.sampling };
        }
        return null;
      case "send":
      case "editLastAndResend":
        chat?.sentTexts.add(args[1] as string);
        return null;
      case "closeChat":
        if (chatId && remove(this.open, chatId)) this.closed.push(chatId);
        return null;
      case "deleteChat":
        if (chatId) {
          remove(this.open, chatId);
          remove(this.closed, chatId);
          this.chats.delete(chatId);
        }
        return null;
      case "setPolicy":
        this.policy = args[0] as AggressivenessSetting;
        return null;
      default:
        if (!neutral.has(method) && chat) chat.modeled = false;
        return null;
    }
  }

  /** Differences between the host's snapshot of a chat and what this door expects of it. */
  compare(snapshot: ChatSnapshot, expected: ExpectedChat, where: string): string | null {
    if (!expected.modeled) return null;
    if (snapshot.title !== expected.title) return `${where}: chat ${snapshot.id} has title ${JSON.stringify(snapshot.title.slice(0, 80))}, expected ${JSON.stringify(expected.title.slice(0, 80))}`;
    // compared as JSON carries them (a -0 sent in comes back as 0 over HTTP)
    if (!isDeepStrictEqual(asJson(snapshot.settings), asJson(expected.settings))) {
      return `${where}: chat ${snapshot.id} has settings ${JSON.stringify(snapshot.settings).slice(0, 300)}, expected ${JSON.stringify(expected.settings).slice(0, 300)}`;
    }
    for (const m of snapshot.messages) {
      if (m.role === "user" && !expected.sentTexts.has(m.text)) return `${where}: chat ${snapshot.id} holds a user message this door never sent to it: ${JSON.stringify(m.text.slice(0, 80))}`;
    }
    return null;
  }
}

const asJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

function remove(list: string[], id: string): boolean {
  const i = list.indexOf(id);
  if (i < 0) return false;
  list.splice(i, 1);
  return true;
}

import type { ChatMessage, SamplingOptions } from "../../electron/api/contract.js";
import type { LynxEngine } from "../../electron/engine/engine.js";

export const greedy = (maxTokens: number): SamplingOptions => ({
  temperature: 0,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repeatPenalty: 1,
  maxTokens,
});

/** Runs prompts as concurrent chats (a fresh chat each) and returns their answers in order. */
export async function runConcurrently(engine: LynxEngine, prompts: string[], maxTokens: number, onToken?: (chat: number) => void): Promise<ChatMessage[]> {
  const chats = prompts.map(() => engine.openChat({ sampling: greedy(maxTokens) }));
  try {
    return await Promise.all(chats.map((chat, i) => chat.send(prompts[i]!, { ignoreEos: true, onToken: () => onToken?.(i) })));
  } finally {
    await Promise.all(chats.map((chat) => engine.closeChat(chat.id)));
  }
}

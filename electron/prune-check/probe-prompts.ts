// The probe: short, varied prompts a chat model meets (conversation, arithmetic, code, factual prose) and one long
// passage, so that routing is exercised the way real chats exercise it. No labels: the model's own greedy answers
// with pruning off are the reference each setting is compared against.

export interface ProbePrompt {
  kind: "conversation" | "arithmetic" | "code" | "prose" | "long";
  text: string;
}

export const probePrompts: readonly ProbePrompt[] = [
  { kind: "conversation", text: "Hi! How are you today?" },
  { kind: "arithmetic", text: "What is 72 + 35?" },
  { kind: "code", text: "Write a Python function that reverses a string." },
  { kind: "prose", text: "Why is the sky blue?" },
  { kind: "conversation", text: "Can you recommend a good book for a long train ride?" },
  { kind: "arithmetic", text: "What is 95 - 44?" },
  { kind: "code", text: "What does `git rebase` do?" },
  { kind: "prose", text: "Describe how rain forms." },
  { kind: "conversation", text: "I feel tired after work. Any advice?" },
  { kind: "arithmetic", text: "What comes after 41?" },
  { kind: "code", text: "Write a SQL query that counts the rows of a table named users." },
  { kind: "prose", text: "Who wrote Hamlet, and when?" },
  { kind: "conversation", text: "Tell me a short joke." },
  { kind: "arithmetic", text: "What is 17 + 25?" },
  { kind: "code", text: "Explain what a promise is in JavaScript." },
  { kind: "prose", text: "And God said, Let there be light:" },
  { kind: "conversation", text: "What should I cook for dinner tonight?" },
  { kind: "arithmetic", text: "What is 63 - 28?" },
  { kind: "code", text: "Write a C function that returns the larger of two integers." },
  { kind: "prose", text: "Explain photosynthesis in two sentences." },
  { kind: "conversation", text: "How do I politely decline an invitation?" },
  { kind: "arithmetic", text: "What comes before 90?" },
  { kind: "code", text: "Fix this code: for i in range(10) print(i)" },
  { kind: "prose", text: "What causes the seasons on Earth?" },
  { kind: "conversation", text: "Write a two-line poem about the morning." },
  { kind: "arithmetic", text: "Spell backwards: l i o n" },
  { kind: "code", text: "What is the difference between a list and a tuple in Python?" },
  { kind: "prose", text: "Tell me about the history of the printing press." },
  { kind: "conversation", text: "What is a good name for a small grey cat?" },
  { kind: "arithmetic", text: "Repeat the word: harvest" },
  { kind: "prose", text: "How do vaccines train the immune system?" },
];

/** The long-context prompt's passage; cut (at a word) to what the model's context holds besides the answer. */
export const longPassage = [
  "The river rose in the hills, where the snow lay late into spring, and ran down through pine woods to the plain.",
  "In the valley below, the farmers had built low stone walls to keep the flood from their fields, and every year",
  "they mended the walls after the thaw. The miller kept a record of the water: in a dry year it barely turned his",
  "wheel, and in a wet one it broke the sluice and filled the cellar. The town council argued for twenty years about",
  "a dam. Some said it would save the harvest, others that it would drown the meadows where the cattle grazed in",
  "summer. In the end they built a smaller weir upstream, a ladder for the fish beside it, and a new road across the",
  "top, so that the carts no longer had to wait for the ferry. The weir held through three great floods. The miller's",
  "records, kept by his daughter and then her son, show the water falling a little each decade, as the snow came",
  "later and melted sooner, until the old wheel was turned by an electric motor and the mill became a museum.",
  "Visitors can still read the ledgers there: dates, depths, the price of flour, and in the margins notes about",
  "weddings, storms, a fire in the bakery, the year the bridge was painted blue, and the names of the ferrymen.",
].join(" ");

export const longQuestion = "Summarise the passage above in one sentence.";

export interface ProbeSize {
  prompts: number;
  /** Longest reference answer, in tokens. */
  maxTokens: number;
}

/** --quick: every other prompt and shorter answers; the long-context prompt is always part of it. */
export const probeSizes: Record<"quick" | "full", ProbeSize> = {
  quick: { prompts: 24, maxTokens: 32 },
  full: { prompts: probePrompts.length, maxTokens: 64 },
};

export function selectPrompts(count: number): ProbePrompt[] {
  if (count >= probePrompts.length) return [...probePrompts];
  const step = probePrompts.length / count;
  return Array.from({ length: count }, (_, i) => probePrompts[Math.floor(i * step)]!);
}

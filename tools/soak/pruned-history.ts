// Why the soak leak-checks only chats whose whole history was decoded with the policy off: 8 chats answer a first
// message under budget(4) (or off, the control), then a second message with the policy off; the second answers are
// checked against a solo evaluation of their history with the soak's bound. The first answer's cells, decoded under
// pruning, stay in the cache and the second answer attends to them; a fresh evaluation computes them unpruned.
//
//   node --import tsx tools/soak/pruned-history.ts budget|off [rounds]
// Last line: {"first", "comparisons", "violations", "meanGap"} (meanGap: mean of solo argmax - solo p(token)).
import path from "node:path";
import type { Token } from "node-llama-cpp";
import { LynxEngine } from "../../electron/engine/engine.js";
import { LEAK_TV_THRESHOLD, SoloChecker } from "./leak-detector.js";
import type { AggressivenessSetting } from "../../electron/api/contract.js";
const model = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../../resources/models/default.gguf");
const engine = await LynxEngine.load({ modelPath: model, maxChats: 8, contextPerChat: 256 });
const checker = await SoloChecker.create(engine, 256);
const prompts = ["Continue the verse: In the beginning God created", "Continue the verse: The LORD is my shepherd; I", "Continue the verse: For God so loved the", "Continue the verse: Blessed are the meek: for", "Continue the verse: And God said, Let there be", "Tell me a fortune.", "What is 37 + 48?", "Spell backwards: g a r d e n", "Repeat the word: wilderness", "What comes after 299?", "What comes before 610?", "What is 91 - 26?"];
const off: AggressivenessSetting = { mode: "preset", preset: "off" };
const first: AggressivenessSetting = process.argv[2] === "off" ? off : { mode: "budget", experts: 4 };
let comparisons = 0, violations = 0, tvSum = 0;
for (let round = 0; round < Number(process.argv[3] ?? 6); round++) {
  const chats = Array.from({ length: 8 }, () => engine.openChat({ sampling: { temperature: 0, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1, maxTokens: 24 } }));
  engine.setAggressiveness(first);
  await Promise.all(chats.map((c, i) => c.send(prompts[(i + round) % prompts.length]!)));
  engine.setAggressiveness(off);
  const generated = chats.map(() => [] as Token[]);
  const answers = await Promise.all(chats.map((c, i) => c.send(prompts[(i * 5 + round + 3) % prompts.length]!, { onToken: (t) => generated[i]!.push(...t) })));
  for (const [i, c] of chats.entries()) {
    const context = engine.pool.sequenceById(c.lastSequenceId!).contextTokens;
    const evaluated = answers[i]!.stopReason === "eos" ? generated[i]! : generated[i]!.slice(0, -1);
    const prompt = context.slice(0, context.length - evaluated.length);
    const tokens = generated[i]!.slice(0, evaluated.length + 1);
    const solo = await checker.distributions(prompt, tokens);
    for (const [t, d] of solo.entries()) {
      let best = 0; for (const p of d.values()) best = Math.max(best, p);
      comparisons++;
      tvSum += best - (d.get(tokens[t]!) ?? 0);
      if ((d.get(tokens[t]!) ?? 0) < best - 2 * LEAK_TV_THRESHOLD) violations++;
    }
  }
  for (const c of chats) await engine.closeChat(c.id);
}
console.log(JSON.stringify({ first: first, comparisons, violations, meanGap: tvSum / comparisons }));
await checker.dispose(); await engine.dispose();

// Checks that llama.cpp (through node-llama-cpp, as the app loads the model) tokenizes every training and held-out
// text exactly as train.py's tokenizer did: `npx tsx tools/train-moe/check-tokenizer.ts MODEL.gguf out/tokcheck.json`
import fs from "node:fs";
import { LynxEngine } from "../../electron/engine/engine.js";

const [modelPath, checkPath] = process.argv.slice(2);
if (!modelPath || !checkPath) throw new Error("usage: check-tokenizer.ts MODEL.gguf tokcheck.json");
const items = JSON.parse(fs.readFileSync(checkPath, "utf8")) as Array<{ text: string; tokens: number[] }>;
const engine = await LynxEngine.load({ modelPath, maxChats: 1 });
let bad = 0;
let detokenizeDiffs = 0;
let tokens = 0;
for (const item of items) {
  const ours = engine.model.tokenize(item.text, true) as number[];
  tokens += ours.length;
  const same = ours.length === item.tokens.length && ours.every((t, i) => t === item.tokens[i]);
  if (!same) {
    bad++;
    if (bad <= 5) {
      const i = ours.findIndex((t, k) => t !== item.tokens[k]);
      console.log(`mismatch at token ${i}: llama.cpp ${JSON.stringify(ours.slice(Math.max(0, i - 3), i + 5))} python ${JSON.stringify(item.tokens.slice(Math.max(0, i - 3), i + 5))} in ${JSON.stringify(item.text.slice(0, 120))}`);
    }
  }
  // detokenisation round trip (informational: llama.cpp's BPE detokenizer cleans spaces before punctuation, " ?" -> "?")
  if (!item.text.includes("<|")) {
    const back = engine.model.detokenize(ours as never);
    if (back !== item.text) detokenizeDiffs++;
  }
}
await engine.dispose();
console.log(`tokenizer parity: ${items.length - bad}/${items.length} texts tokenized identically (${tokens} tokens); ` +
  `${detokenizeDiffs} texts detokenize differently (llama.cpp's clean-up of spaces before punctuation)`);
if (bad) process.exit(1);

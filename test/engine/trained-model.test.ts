// The project's trained model (resources/models/default.gguf, built by tools/train-moe) through the real engine:
// llama.cpp's probabilities must match the training framework's (PyTorch) reference stored at export, its
// tokenizer must reproduce the training tokenizer, and chats must answer held-out additions and produce
// recognisable text. A conversion bug (RoPE layout, norm epsilon, expert order, gating, q/k norms, tokenizer)
// moves probabilities by far more than the tolerance.
import fs from "node:fs";
import path from "node:path";
import type { Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LynxEngine } from "../../electron/engine/engine.js";
import { greedy } from "../helpers/engine.js";

const root = path.resolve(import.meta.dirname, "../..");
const modelPath = process.env.LYNX_TRAINED_MODEL ?? path.join(root, "resources/models/default.gguf");
const referencePath = process.env.LYNX_TRAINED_REFERENCE ?? modelPath.replace(/\.gguf$/, ".reference.json");
const heldoutPath = process.env.LYNX_TRAINED_HELDOUT ?? path.join(root, "tools/fidelity/heldout.json");

/**
 * Tolerance: at every position of the four reference prompts, each of the reference's top-10 tokens must have
 * |p_llama - p_torch| <= 0.005. llama.cpp uses the same F16 weights but rounds activations to F16 inside its F16
 * matrix products and keeps the KV cache in F16: the correct conversion measures a worst case of ~7e-4. Wrong RoPE
 * pairing (interleaved instead of NEOX), reversed expert order or a wrong norm epsilon
 * (`tools/train-moe/export.ts --break rope|experts|eps`) fail it by a wide margin (see resources/models/README.md).
 */
const probabilityTolerance = 0.005;

interface Reference {
  prompts: Array<{ kind: string; input: string; text: string; tokens: number[]; positions: Array<{ top: Array<[number, number]> }>; greedyNext: number }>;
}
interface Heldout {
  tasks: Record<string, Array<{ prompt: string; answer: string }>>;
}

const present = fs.existsSync(modelPath) && fs.existsSync(referencePath);

describe.skipIf(!present)("trained model (lynx-moe-tiny)", () => {
  let engine: LynxEngine;
  const reference = present ? (JSON.parse(fs.readFileSync(referencePath, "utf8")) as Reference) : { prompts: [] };

  beforeAll(async () => {
    engine = await LynxEngine.load({ modelPath, maxChats: 4 });
  });
  afterAll(async () => {
    await engine?.dispose();
  });

  it("is a qwen3moe MoE with the ChatML template", () => {
    expect(engine.info.architecture).toBe("qwen3moe");
    expect(engine.info.isMoE).toBe(true);
    expect(engine.info.experts).toBe(16);
    expect(engine.info.expertsPerToken).toBe(2);
  });

  it("tokenizes the reference prompts exactly like the training tokenizer", () => {
    for (const prompt of reference.prompts) {
      expect(engine.model.tokenize(prompt.text, true), prompt.text).toEqual(prompt.tokens);
    }
  });

  it(`matches the PyTorch probabilities at every position within ${probabilityTolerance}`, async () => {
    const sequence = await engine.pool.acquire("parity");
    let worst = { diff: 0, where: "" };
    let sum = 0;
    let count = 0;
    let positions = 0;
    const argmaxMismatches: string[] = [];
    try {
      for (const prompt of reference.prompts) {
        await sequence.clearHistory();
        const out = await sequence.controlledEvaluate(
          prompt.tokens.map((token) => [token, { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } }] as const) as never,
        );
        for (const [t, expected] of prompt.positions.entries()) {
          const probabilities = out[t]!.next.probabilities!;
          for (const [token, p] of expected.top) {
            const diff = Math.abs((probabilities.get(token as Token) ?? 0) - p);
            sum += diff;
            count++;
            if (diff > worst.diff) worst = { diff, where: `${JSON.stringify(prompt.input)} position ${t} token ${token}` };
          }
          positions++;
        }
        // llama.cpp's most likely next token is the reference's greedy token (unless the reference has a near-tie)
        const last = out.at(-1)!.next.probabilities!;
        const best = [...last.entries()].reduce((a, b) => (b[1] > a[1] ? b : a));
        const [first, second] = prompt.positions.at(-1)!.top;
        if (first![1] - second![1] > 0.02 && best[0] !== prompt.greedyNext) argmaxMismatches.push(prompt.input);
      }
    } finally {
      await sequence.clearHistory();
      engine.pool.release(sequence);
      engine.pool.forget("parity");
    }
    console.log(`parity: ${positions} positions, |dp| over the reference top-10: worst ${worst.diff.toExponential(2)} (${worst.where}), mean ${(sum / count).toExponential(2)}`);
    expect(positions).toBeGreaterThan(50);
    expect(worst.diff, worst.where).toBeLessThanOrEqual(probabilityTolerance);
    expect(argmaxMismatches).toEqual([]);
  });

  it("answers easy held-out additions in concurrent chats", async () => {
    const heldout = JSON.parse(fs.readFileSync(heldoutPath, "utf8")) as Heldout;
    // easy: no carry out of the units digit; operand pairs never seen in training (either order)
    const items = heldout.tasks.add!
      .filter((it) => {
        const [a, b] = it.prompt.match(/\d+/g)!.map(Number);
        return (a! % 10) + (b! % 10) < 10;
      })
      .slice(0, 8);
    expect(items).toHaveLength(8);
    const chats = items.map(() => engine.openChat({ sampling: greedy(6) }));
    const answers = await Promise.all(chats.map((chat, i) => chat.send(items[i]!.prompt)));
    await Promise.all(chats.map((chat) => engine.closeChat(chat.id)));
    const correct = answers.filter((a, i) => a.text.trim() === items[i]!.answer).length;
    console.log(items.map((it, i) => `${it.prompt} -> ${answers[i]!.text.trim()}`).join("; "));
    expect(correct).toBeGreaterThanOrEqual(7);
  });

  it("writes recognisable English", async () => {
    // function words of the KJV and the fortunes: a model that emits noise, or a broken tokenizer, has none of them
    const common = new Set(
      "the a an and of to unto you your ye is be will shall in it for with that not are all have this on by at as from or but he his him they them their i my me we our god lord".split(" "),
    );
    const englishness = (text: string) => {
      const words = text.toLowerCase().match(/[a-z]+/g) ?? [];
      return { words: words.length, common: words.filter((w) => common.has(w)).length };
    };
    const chats = [engine.openChat({ sampling: greedy(24) }), engine.openChat({ sampling: greedy(40) })];
    const [verse, fortune] = await Promise.all([chats[0]!.send("Continue the verse: And the LORD said unto"), chats[1]!.send("Tell me a fortune.")]);
    await Promise.all(chats.map((chat) => engine.closeChat(chat.id)));
    console.log(`verse: ${verse!.text}\nfortune: ${fortune!.text}`);
    for (const text of [verse!.text, fortune!.text]) {
      const e = englishness(text);
      expect(e.words, text).toBeGreaterThanOrEqual(5);
      expect(e.common / e.words, text).toBeGreaterThanOrEqual(0.2);
    }
  });
});

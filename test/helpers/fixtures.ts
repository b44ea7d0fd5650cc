import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const fixture = (name: string) => path.join(root, "test", "fixtures", "models", name);

/** MoE fixtures that differ in gating; see tools/fixtures/README.md. */
export const moeFixtures = ["qwen3moe-tiny.gguf", "olmoe-tiny.gguf", "glm4moe-tiny.gguf", "deepseek2-tiny.gguf", "deepseek2-4groups-tiny.gguf", "bailingmoe2-tiny.gguf", "gpt-oss-tiny.gguf"];
export const denseFixture = "qwen3-dense-tiny.gguf";

export const prompts = [
  "What is the capital of France?",
  "Write a haiku about the sea.",
  "Explain mixtures of experts in one sentence.",
  "List three prime numbers.",
  "How do bees make honey?",
  "Translate 'good morning' into German.",
  "What is 17 + 25?",
  "Name a famous painting.",
  "Why is the sky blue?",
  "Give me a word that rhymes with cat.",
  "Describe a cat in five words.",
  "What does a compiler do?",
  "Suggest a name for a robot.",
  "What is the boiling point of water?",
  "Tell me a fun fact about octopuses.",
  "Which planet is the largest?",
];

/** Prompts the bundled model answers at length (its additions stop after a few tokens). */
export const storyPrompts = [
  "Tell me a story about the sea.",
  "Speak of the king of Egypt.",
  "Describe the evening.",
  "Tell me of the kings.",
  "Write of the mountains and the rivers.",
  "Speak of the people of Israel.",
  "Tell me of the temple.",
  "Write about the night.",
];

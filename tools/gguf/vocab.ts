// Loads a tokenizer from one of llama.cpp's vocab-only GGUFs so generated models can embed it.

import { createRequire } from "node:module";
import path from "node:path";
import { readGgufHeader } from "./reader.js";
import type { GgufValue } from "./types.js";

export interface Vocab {
    /** Path the vocab was read from. */
    source: string;
    /** Number of tokens (rows of token_embd / output). */
    size: number;
    /** tokenizer.* entries (including tokenizer.chat_template), in file order, with exact types. */
    entries: Array<[string, GgufValue]>;
}

/** Directory of the vocab GGUFs that ship inside node-llama-cpp's llama.cpp sources. */
export function llamaCppVocabDir(): string {
    const require = createRequire(import.meta.url);
    const entry = require.resolve("node-llama-cpp"); // .../node-llama-cpp/dist/index.js
    return path.resolve(path.dirname(entry), "..", "llama", "llama.cpp", "models");
}

/** Path of `ggml-vocab-<name>.gguf`, e.g. name "qwen2" or "llama-spm". */
export function vocabPath(name: string): string {
    return path.join(llamaCppVocabDir(), `ggml-vocab-${name}.gguf`);
}

export function readVocab(filePath: string): Vocab {
    const header = readGgufHeader(filePath);
    const entries: Array<[string, GgufValue]> = [];
    for (const [key, value] of header.metadata) {
        if (key.startsWith("tokenizer.")) entries.push([key, value]);
    }
    const tokens = header.metadata.get("tokenizer.ggml.tokens");
    if (tokens?.type !== "array" || tokens.itemType !== "string") {
        throw new Error(`${filePath}: no tokenizer.ggml.tokens string array`);
    }
    return { source: filePath, size: tokens.items.length, entries };
}

// A short list of MoE models people run locally, so a user can pick one in a click. Every repository and file
// name below was checked on its Hugging Face page (through a search of stored public pages; this machine reaches no
// network but npm), and `verified` says what was seen where. Sizes are the ones those pages print (GB = 1e9 bytes).
// The memory estimate is the file plus the f16 KV cache of one chat of 4096 tokens, from the published model
// configuration (layers x KV heads x head size x 2 for K and V x 2 bytes; those numbers and the parameter and expert
// counts are the models' config.json values as known to the author, not re-checked here); once a file is downloaded
// the library shows node-llama-cpp's GgufInsights estimate instead.
import type { CuratedModel } from "../api/contract.js";

interface CuratedEntry extends Omit<CuratedModel, "memoryEstimateBytes" | "fits"> {
  /** f16 KV cache bytes per token of context. */
  kvBytesPerToken: number;
}

const GB = 1e9;
const kv = (layers: number, kvHeads: number, headDim: number) => layers * kvHeads * headDim * 2 * 2;

export const curatedEntries: readonly CuratedEntry[] = [
  {
    id: "olmoe-1b-7b-0125-instruct",
    name: "OLMoE-1B-7B-0125 Instruct (Ai2)",
    repo: "allenai/OLMoE-1B-7B-0125-Instruct-GGUF",
    file: "OLMoE-1B-7B-0125-Instruct-Q4_K_M.gguf",
    quantization: "Q4_K_M",
    uri: "hf:allenai/OLMoE-1B-7B-0125-Instruct-GGUF/OLMoE-1B-7B-0125-Instruct-Q4_K_M.gguf",
    sizeBytes: 4.21 * GB,
    totalParams: "6.9B",
    activeParams: "1.3B",
    experts: 64,
    expertsPerToken: 8,
    kvBytesPerToken: kv(16, 16, 128),
    verified: "file list of huggingface.co/allenai/OLMoE-1B-7B-0125-Instruct-GGUF/tree/main (Q4_K_M 4.21 GB)",
  },
  {
    id: "granite-3.1-1b-a400m-instruct",
    name: "Granite 3.1 1B-A400M Instruct (IBM)",
    repo: "bartowski/granite-3.1-1b-a400m-instruct-GGUF",
    file: "granite-3.1-1b-a400m-instruct-Q4_K_M.gguf",
    quantization: "Q4_K_M",
    uri: "hf:bartowski/granite-3.1-1b-a400m-instruct-GGUF/granite-3.1-1b-a400m-instruct-Q4_K_M.gguf",
    sizeBytes: 0.82 * GB,
    totalParams: "1.3B",
    activeParams: "0.4B",
    experts: 32,
    expertsPerToken: 8,
    kvBytesPerToken: kv(24, 8, 64),
    verified: "download table of huggingface.co/bartowski/granite-3.1-1b-a400m-instruct-GGUF (Q4_K_M 0.82 GB)",
  },
  {
    id: "gpt-oss-20b",
    name: "gpt-oss-20b (OpenAI)",
    repo: "bartowski/openai_gpt-oss-20b-GGUF",
    file: "openai_gpt-oss-20b-MXFP4.gguf",
    quantization: "MXFP4",
    uri: "hf:bartowski/openai_gpt-oss-20b-GGUF/openai_gpt-oss-20b-MXFP4.gguf",
    sizeBytes: 12.1 * GB,
    totalParams: "21B",
    activeParams: "3.6B",
    experts: 32,
    expertsPerToken: 4,
    // 24 layers, 8 KV heads of 64; half the layers use a 128-token sliding window (counted here as full: an upper bound)
    kvBytesPerToken: kv(24, 8, 64),
    verified: "README of bartowski/openai_gpt-oss-20b-GGUF (\"openai_gpt-oss-20b-MXFP4.gguf | MXFP4 | 12.1GB\", recommended)",
  },
  {
    id: "deepseek-v2-lite-chat",
    name: "DeepSeek-V2-Lite Chat",
    repo: "mradermacher/DeepSeek-V2-Lite-Chat-GGUF",
    file: "DeepSeek-V2-Lite-Chat.Q4_K_M.gguf",
    quantization: "Q4_K_M",
    uri: "hf:mradermacher/DeepSeek-V2-Lite-Chat-GGUF/DeepSeek-V2-Lite-Chat.Q4_K_M.gguf",
    sizeBytes: 10.4 * GB,
    totalParams: "16B",
    activeParams: "2.4B",
    experts: 64,
    expertsPerToken: 6,
    // MLA: llama.cpp caches the 512-wide latent plus the 64-wide rope key per layer (27 layers), K and V f16
    kvBytesPerToken: 27 * (576 + 512) * 2,
    verified: "file list of huggingface.co/mradermacher/DeepSeek-V2-Lite-Chat-GGUF (Q4_K_M 10.4 GB)",
  },
  {
    id: "qwen3-30b-a3b",
    name: "Qwen3-30B-A3B",
    repo: "ggml-org/Qwen3-30B-A3B-GGUF",
    file: null,
    quantization: "Q4_K_M",
    uri: "hf:ggml-org/Qwen3-30B-A3B-GGUF:Q4_K_M",
    sizeBytes: 17.28 * GB,
    totalParams: "30.5B",
    activeParams: "3.3B",
    experts: 128,
    expertsPerToken: 8,
    kvBytesPerToken: kv(48, 4, 128),
    verified:
      "repository page huggingface.co/ggml-org/Qwen3-30B-A3B-GGUF (qwen3moe, 4/8/16-bit files); the file is resolved by node-llama-cpp from the :Q4_K_M tag; size as quoted for the Q4_K_M file on a derived model's page (17.28 GB)",
  },
  {
    id: "mixtral-8x7b-instruct",
    name: "Mixtral-8x7B Instruct v0.1 (Mistral AI)",
    repo: "TheBloke/Mixtral-8x7B-Instruct-v0.1-GGUF",
    file: "mixtral-8x7b-instruct-v0.1.Q4_K_M.gguf",
    quantization: "Q4_K_M",
    uri: "hf:TheBloke/Mixtral-8x7B-Instruct-v0.1-GGUF/mixtral-8x7b-instruct-v0.1.Q4_K_M.gguf",
    sizeBytes: 26.44 * GB,
    totalParams: "46.7B",
    activeParams: "12.9B",
    experts: 8,
    expertsPerToken: 2,
    kvBytesPerToken: kv(32, 8, 128),
    verified:
      "model card of huggingface.co/TheBloke/Mixtral-8x7B-Instruct-v0.1-GGUF (files named mixtral-8x7b-instruct-v0.1.<QUANT>.gguf); the size is the card's from memory: the excerpt seen did not show it",
  },
  {
    id: "ling-mini-2.0",
    name: "Ling-mini-2.0 (inclusionAI)",
    repo: "inclusionAI/Ling-mini-2.0",
    file: null,
    quantization: "-",
    uri: null,
    sizeBytes: 0,
    totalParams: "16.3B",
    activeParams: "1.4B",
    experts: 256,
    expertsPerToken: 8,
    kvBytesPerToken: kv(20, 4, 128),
    verified:
      "model page inclusionAI/Ling-mini-2.0 (16B total, 1.4B active, 256 experts top-8, bailingmoe2); no GGUF file of it could be verified, so there is no one-click download: convert it or paste a GGUF URL you trust",
  },
];

/** The list with memory estimates for one 4096-token chat, against `availableBytes`. */
export function curatedModels(availableBytes: number): CuratedModel[] {
  return curatedEntries.map(({ kvBytesPerToken, ...entry }) => {
    const memoryEstimateBytes = entry.sizeBytes > 0 ? Math.round(entry.sizeBytes + kvBytesPerToken * 4096) : 0;
    return { ...entry, memoryEstimateBytes, fits: memoryEstimateBytes > 0 && memoryEstimateBytes <= availableBytes };
  });
}

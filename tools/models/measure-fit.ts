// Measures what a load really takes, to check the library's fit estimates: llama.cpp's own report of the buffers it
// allocated (model, KV cache, output, compute: its "buffer size = X MiB" log lines) and the process's RSS growth
// (VmRSS) after loading with mmap off, creating the context and evaluating a short prompt. RSS counts only touched
// pages, so it runs below the allocations when the compute buffer is large and barely used (small models).
import fs from "node:fs";
import { LlamaLogLevel } from "node-llama-cpp";
import { loadPatchedLlama } from "../../electron/engine/load-llama.js";

export interface LoadMeasurement {
  allocatedBytes: number;
  rssGrowthBytes: number;
  buffers: string[];
}

const rss = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"))![1]) * 1024;

export async function measureLoad(file: string, contextSize: number, sequences: number): Promise<LoadMeasurement> {
  const patched = await loadPatchedLlama();
  const { llama } = patched;
  const level = llama.logLevel;
  llama.logLevel = LlamaLogLevel.info;
  patched.recentLogs.length = 0;
  // the engine's settings: unified KV, no flash attention
  patched.native.setKvUnified(true);
  const before = rss();
  const model = await llama.loadModel({ modelPath: file, gpuLayers: 0, useMmap: false });
  try {
    const context = await model.createContext({ contextSize, sequences, flashAttention: false, threads: 2 });
    try {
      await context.getSequence().evaluateWithoutGeneratingNewTokens(model.tokenize("The quick brown fox jumps over the lazy dog. ".repeat(8)));
      const rssGrowthBytes = rss() - before;
      const buffers = patched.recentLogs.filter((l) => /buffer size\s*=\s*[\d.]+ MiB/.test(l)).map((l) => l.trim());
      const allocatedBytes = buffers.reduce((sum, l) => sum + Number(/=\s*([\d.]+) MiB/.exec(l)![1]) * 1024 * 1024, 0);
      return { allocatedBytes, rssGrowthBytes, buffers };
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
    llama.logLevel = level;
  }
}

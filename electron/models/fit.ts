// Will it fit: node-llama-cpp's GgufInsights estimates (its V2 estimators simulate llama.cpp's own allocation for
// the model and the context: weights, KV cache, output and compute buffers) against this machine's free memory.
// The engine loads on the CPU (gpuLayers 0), so that is what is estimated; weights are counted as if mmap were
// off, the conservative case (with mmap an MoE model's untouched experts stay on disk).
import type { GgufInsights } from "node-llama-cpp";
import type { FitEstimate } from "../api/contract.js";
import type { MemoryInfo } from "./memory.js";

/** Headroom kept free for the OS, the app and allocator slack. */
export const fitMarginBytes = 256 * 1024 * 1024;

export interface FitInput {
  contextSize: number;
  maxChats: number;
  gpuLayers?: number;
}

export async function estimateFit(insights: GgufInsights, input: FitInput, memory: MemoryInfo, releasableBytes = 0): Promise<FitEstimate> {
  const gpuLayers = input.gpuLayers ?? 0;
  const model = await insights.estimateModelResourceRequirementsV2({ gpuLayers, useMmap: false });
  const context = await insights.estimateContextResourceRequirementsV2({
    contextSize: input.contextSize,
    modelGpuLayers: gpuLayers,
    sequences: input.maxChats,
    // the engine's settings (electron/engine/engine.ts): no flash attention, node-llama-cpp's default batch
    flashAttention: false,
    useMmap: false,
  });
  const weightsBytes = model.cpuRam;
  const contextBytes = context.cpuRam;
  const totalBytes = weightsBytes + contextBytes;
  const availableBytes = memory.availableBytes + releasableBytes;
  const fits = totalBytes + fitMarginBytes <= availableBytes;
  const summary =
    `needs ${gib(totalBytes)} (weights ${gib(weightsBytes)} + context ${gib(contextBytes)} for ${input.maxChats} ` +
    `chat${input.maxChats === 1 ? "" : "s"} sharing ${input.contextSize} tokens), ${gib(availableBytes)} available` +
    (fits ? "" : `: does not fit (${gib(fitMarginBytes)} is kept free)`);
  return {
    contextSize: input.contextSize,
    maxChats: input.maxChats,
    gpuLayers,
    weightsBytes,
    contextBytes,
    totalBytes,
    vramBytes: model.gpuVram + context.gpuVram,
    availableBytes,
    machineBytes: memory.machineBytes,
    fits,
    summary,
  };
}

export function gib(bytes: number): string {
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(0)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

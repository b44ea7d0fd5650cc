// Opens a GGUF model file far enough to tell the user, before llama.cpp loads it, what is wrong with it,
// and reads what the app shows about the model. The preflight checks the file's structure against its
// size and the model checks refuse metadata llama.cpp would abort on: both run before node-llama-cpp or
// llama.cpp parse a byte of it (a V8 abort or a GGML_ASSERT cannot be caught).
import path from "node:path";
import type { ModelInfo } from "../api/contract.js";
import { checkModelMetadata } from "./gguf-model-checks.js";
import { preflightGguf, type GgufMetaValue } from "./gguf-preflight.js";

export type ModelFacts = Omit<ModelInfo, "maxChats" | "threads" | "contextLength" | "chatTemplate"> & {
  chatTemplate: string;
};

const expertTensor = /^blk\.(\d+)\.ffn_(gate|up|down|gate_up)_exps\.weight$/;

export async function inspectModelFile(modelPath: string): Promise<ModelFacts> {
  const resolved = path.resolve(modelPath);
  const gguf = await preflightGguf(resolved);
  checkModelMetadata(gguf, path.basename(resolved));

  const meta = gguf.metadata;
  const architecture = stringOf(meta.get("general.architecture"));
  const layers = numberOf(meta.get(`${architecture}.block_count`));
  const experts = numberOf(meta.get(`${architecture}.expert_count`));
  const expertsPerToken = numberOf(meta.get(`${architecture}.expert_used_count`));

  // Bytes of one expert: the expert tensors of a layer divided by the number of experts, averaged over MoE layers.
  const moeLayerBytes = new Map<number, number>();
  for (const tensor of gguf.tensors) {
    const match = expertTensor.exec(tensor.name);
    if (!match) continue;
    const layer = Number(match[1]);
    moeLayerBytes.set(layer, (moeLayerBytes.get(layer) ?? 0) + tensor.bytes);
  }
  const moeLayers = moeLayerBytes.size;
  const expertBytes =
    moeLayers > 0 && experts > 0 ? [...moeLayerBytes.values()].reduce((a, b) => a + b, 0) / moeLayers / experts : 0;
  const name = stringOf(meta.get("general.name"));

  return {
    path: resolved,
    name: name || path.basename(resolved, ".gguf"),
    architecture,
    layers,
    experts: moeLayers > 0 ? experts : 0,
    expertsPerToken: moeLayers > 0 ? expertsPerToken : 0,
    isMoE: moeLayers > 0 && experts > 1 && expertsPerToken > 0,
    moeLayers,
    sizeBytes: gguf.fileSize,
    trainContextLength: numberOf(meta.get(`${architecture}.context_length`)),
    expertBytes,
    chatTemplate: stringOf(meta.get("tokenizer.chat_template")),
  };
}

function stringOf(value: GgufMetaValue | undefined): string {
  return value?.type === "string" ? (value.value ?? "") : "";
}

/** A numeric value, or 0; a per-layer array counts by its largest value, as the app shows one number. */
function numberOf(value: GgufMetaValue | undefined): number {
  if (value?.type === "array") return Math.max(0, ...(value.items ?? []).map((v) => Number(v) || 0));
  if (!value || value.type === "string" || value.type === "bool") return 0;
  return Number(value.value) || 0;
}

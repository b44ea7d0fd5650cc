// Reads what the library shows about a GGUF file. Our own bounded preflight (electron/engine/model-file.ts) runs
// first and refuses hostile or broken files with a typed error; only a file that passed it reaches node-llama-cpp's
// readGgufFileInfo and GgufInsights, whose parser trusts the header's counts (a V8 abort cannot be caught).
import { GgmlType, GgufFileType, GgufInsights, readGgufFileInfo, type Llama } from "node-llama-cpp";
import type { ModelDetails } from "../api/contract.js";
import { inspectModelFile, type ModelFacts } from "../engine/model-file.js";

export interface DescribedModel {
  facts: ModelFacts;
  details: ModelDetails;
  insights: GgufInsights;
}

export async function describeModelFile(file: string, llama: Llama): Promise<DescribedModel> {
  const facts = await inspectModelFile(file);
  const info = await readGgufFileInfo(facts.path, { readTensorInfo: true, sourceType: "filesystem", ignoreKeys: ["tokenizer.ggml.merges"] });
  const insights = await GgufInsights.from(info, llama);
  const details: ModelDetails = {
    name: facts.name,
    architecture: facts.architecture,
    parameters: insights.totalParameters,
    quantization: quantizationOf(info.metadata?.general?.file_type, insights.dominantTensorType),
    contextLength: facts.trainContextLength,
    layers: facts.layers,
    isMoE: facts.isMoE,
    experts: facts.experts,
    expertsPerToken: facts.expertsPerToken,
    moeLayers: facts.moeLayers,
    // the patch selects among a layer's routed experts: nothing to select in a dense model
    pruningApplies: facts.isMoE,
  };
  return { facts, details, insights };
}

/** "Q4_K_M" from the file type GGUF writers record; the dominant tensor type when the file has none. */
export function quantizationOf(fileType: unknown, dominant: GgmlType | undefined): string {
  if (typeof fileType === "number") {
    const name = (GgufFileType as unknown as Record<number, string | undefined>)[fileType];
    if (name) return name.replace(/^MOSTLY_/, "");
  }
  if (dominant !== undefined) {
    const name = (GgmlType as unknown as Record<number, string | undefined>)[dominant];
    if (name) return name;
  }
  return "unknown";
}

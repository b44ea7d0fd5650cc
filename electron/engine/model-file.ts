// Opens a GGUF model file far enough to tell the user, before llama.cpp loads it, what is wrong with it,
// and reads what the app shows about the model.
import fs from "node:fs/promises";
import path from "node:path";
import { GgmlType, readGgufFileInfo, type GgufFileInfo } from "node-llama-cpp";
import type { ModelInfo } from "../api/contract.js";
import { EngineError } from "./errors.js";
import { tensorBytes } from "./ggml-type-size.js";

export type ModelFacts = Omit<ModelInfo, "maxChats" | "threads" | "contextLength" | "chatTemplate"> & {
  chatTemplate: string;
};

const expertTensor = /^blk\.(\d+)\.ffn_(gate|up|down|gate_up)_exps\.weight$/;

export async function inspectModelFile(modelPath: string): Promise<ModelFacts> {
  const resolved = path.resolve(modelPath);
  let size: number;
  try {
    const stat = await fs.stat(resolved);
    if (!stat.isFile()) throw new EngineError("MODEL_NOT_FOUND", `${resolved} is not a file`);
    size = stat.size;
  } catch (err) {
    if (err instanceof EngineError) throw err;
    throw new EngineError("MODEL_NOT_FOUND", `model file not found: ${resolved}`, { cause: err });
  }

  const handle = await fs.open(resolved, "r");
  const magic = Buffer.alloc(4);
  try {
    await handle.read(magic, 0, 4, 0);
  } finally {
    await handle.close();
  }
  if (magic.toString("latin1") !== "GGUF") {
    throw new EngineError("NOT_GGUF", `${path.basename(resolved)} is not a GGUF model file (it does not start with the GGUF magic)`);
  }

  let info: GgufFileInfo;
  try {
    info = await readGgufFileInfo(resolved, { readTensorInfo: true, logWarnings: false, spliceSplitFiles: false });
  } catch (err) {
    throw new EngineError("TRUNCATED_GGUF", `${path.basename(resolved)} is damaged or truncated: its GGUF header cannot be read (${(err as Error).message})`, { cause: err });
  }

  let dataEnd = 0;
  for (const tensor of info.tensorInfo ?? []) {
    const bytes = tensorBytes(GgmlType[tensor.ggmlType] ?? "", tensor.dimensions) ?? 0;
    dataEnd = Math.max(dataEnd, Number(tensor.fileOffset) + bytes);
  }
  if (dataEnd > size) {
    throw new EngineError(
      "TRUNCATED_GGUF",
      `${path.basename(resolved)} is truncated: its tensors need ${dataEnd} bytes but the file has ${size} (an interrupted download or copy?)`,
    );
  }

  const metadata = info.metadata as unknown as Record<string, Record<string, unknown> | undefined>;
  const general = metadata.general ?? {};
  const architecture = typeof general.architecture === "string" ? general.architecture : "";
  const arch = (architecture ? metadata[architecture] : undefined) ?? {};
  const layers = Number(arch.block_count ?? 0);
  if (!architecture || layers <= 0 || (info.tensorInfo?.length ?? 0) === 0) {
    throw new EngineError("UNSUPPORTED_ARCHITECTURE", `${path.basename(resolved)} is a GGUF file but not a language model (no architecture or no layers)`);
  }

  const experts = Number(arch.expert_count ?? 0);
  const expertsPerToken = Number(arch.expert_used_count ?? 0);

  // Bytes of one expert: the expert tensors of a layer divided by the number of experts, averaged over MoE layers.
  const moeLayerBytes = new Map<number, number>();
  for (const tensor of info.tensorInfo ?? []) {
    const match = expertTensor.exec(tensor.name);
    if (!match) continue;
    const layer = Number(match[1]);
    const bytes = tensorBytes(GgmlType[tensor.ggmlType] ?? "", tensor.dimensions) ?? 0;
    moeLayerBytes.set(layer, (moeLayerBytes.get(layer) ?? 0) + bytes);
  }
  const moeLayers = moeLayerBytes.size;
  const expertBytes =
    moeLayers > 0 && experts > 0 ? [...moeLayerBytes.values()].reduce((a, b) => a + b, 0) / moeLayers / experts : 0;
  const tokenizer = metadata.tokenizer ?? {};

  return {
    path: resolved,
    name: typeof general.name === "string" && general.name ? general.name : path.basename(resolved, ".gguf"),
    architecture,
    layers,
    experts: moeLayers > 0 ? experts : 0,
    expertsPerToken: moeLayers > 0 ? expertsPerToken : 0,
    isMoE: moeLayers > 0 && experts > 1 && expertsPerToken > 0,
    moeLayers,
    sizeBytes: size,
    trainContextLength: Number(arch.context_length ?? 0),
    expertBytes,
    chatTemplate: typeof tokenizer.chat_template === "string" ? tokenizer.chat_template : "",
  };
}

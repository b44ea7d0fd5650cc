// Bytes and FLOPs of one decode step of a model, from its GGUF tensor list, for the roofline.
import { GgmlType, readGgufFileInfo } from "node-llama-cpp";
import { tensorBytes } from "../../electron/engine/ggml-type-size.js";

export interface ModelCosts {
  /** weights read once per step whatever the routing: attention, norms, routers, output head */
  denseBytes: number;
  /** bytes of one expert in one layer */
  expertBytes: number;
  moeLayers: number;
  experts: number;
  expertsPerToken: number;
  /** multiply-adds per token outside the experts, and per expert */
  denseParams: number;
  expertParams: number;
  /** shape of one expert's up projection: columns (model width) x rows (expert ff) */
  expertShape: [cols: number, rows: number] | null;
}

const expertTensor = /^blk\.\d+\.ffn_(gate|up|down|gate_up)_exps\.weight$/;

export async function modelCosts(path: string): Promise<ModelCosts> {
  const info = await readGgufFileInfo(path, { readTensorInfo: true, logWarnings: false });
  const meta = info.metadata as unknown as Record<string, Record<string, unknown>>;
  const arch = String(meta.general?.architecture);
  const experts = Number(meta[arch]?.expert_count ?? 0);
  const expertsPerToken = Number(meta[arch]?.expert_used_count ?? 0);
  let denseBytes = 0;
  let denseParams = 0;
  let expertBytesAll = 0;
  let expertParamsAll = 0;
  const layers = new Set<string>();
  let expertShape: [number, number] | null = null;
  for (const t of info.tensorInfo ?? []) {
    const bytes = tensorBytes(GgmlType[t.ggmlType] ?? "", t.dimensions) ?? 0;
    const params = t.dimensions.reduce<number>((n, d) => n * Number(d), 1);
    if (expertTensor.test(t.name)) {
      expertBytesAll += bytes;
      expertParamsAll += params;
      layers.add(t.name.split(".")[1]!);
      if (!expertShape && t.name.endsWith("ffn_up_exps.weight")) expertShape = [Number(t.dimensions[0]), Number(t.dimensions[1])];
    } else if (t.name !== "token_embd.weight") {
      // the embedding table is only gathered (B rows), everything else is read in full every step
      denseBytes += bytes;
      if (t.dimensions.length >= 2) denseParams += params;
    }
  }
  const moeLayers = layers.size;
  return {
    denseBytes,
    expertBytes: moeLayers && experts ? expertBytesAll / moeLayers / experts : 0,
    moeLayers,
    experts,
    expertsPerToken,
    denseParams,
    expertParams: moeLayers && experts ? expertParamsAll / moeLayers / experts : 0,
    expertShape,
  };
}

/** Weight bytes read and FLOPs of one decode step of `batch` tokens touching `distinct` experts per MoE layer. */
export function stepCosts(costs: ModelCosts, batch: number, distinct: number) {
  const bytes = costs.denseBytes + distinct * costs.moeLayers * costs.expertBytes;
  const flops = 2 * batch * (costs.denseParams + costs.expertsPerToken * costs.moeLayers * costs.expertParams);
  return { bytes, flops };
}

/** Expected distinct experts per layer under uniform independent routing. */
export function uniformDistinct(experts: number, k: number, batch: number) {
  return experts * (1 - Math.pow(1 - k / experts, batch));
}

// Model-level checks on a GGUF whose structure passed the preflight: metadata values that make llama.cpp
// abort the process (GGML_ASSERT in llama_model::load_hparams and the vocabulary loader) instead of
// throwing, decided from the metadata alone, and mismatches that llama.cpp would report less clearly.
import { EngineError } from "./errors.js";
import type { GgufMetaValue, GgufPreflight, StringList } from "./gguf-preflight.js";

/** llama.cpp's limits (src/llama-hparams.h). */
const LLAMA_MAX_LAYERS = 512;
const LLAMA_MAX_EXPERTS = 1024;
/** The last llama_expert_gating_func_type (sqrt-softplus). */
const MAX_EXPERT_GATING_FUNC = 4;
/** Rope scaling names llama.cpp knows; any other aborts the load. */
const ROPE_SCALING_TYPES = new Set(["none", "linear", "yarn", "longrope"]);

const expertTensor = /^blk\.(\d+)\.ffn_(gate|up|down|gate_up)_exps\.weight$/;
const attentionTensor = /^blk\.(\d+)\.attn_(q|k|v|qkv|output)\.weight$/;
const kvProjection = /^blk\.(\d+)\.attn_(k|v)\.weight$/;
const denseFfnTensor = /^blk\.(\d+)\.ffn_(gate|up|down)\.weight$/;

/** Throws UNSUPPORTED_ARCHITECTURE (not a language model) or MODEL_LOAD_FAILED (inconsistent metadata). */
export function checkModelMetadata(gguf: GgufPreflight, displayName: string): void {
  const meta = gguf.metadata;
  const refuse = (what: string) =>
    new EngineError("MODEL_LOAD_FAILED", `cannot load ${displayName}: ${what}. The file was probably converted or edited wrongly: get another copy of the model.`);

  const architecture = stringOf(meta.get("general.architecture"));
  const layers = numberOf(meta.get(`${architecture}.block_count`));
  if (!architecture || !layers || gguf.tensors.length === 0) {
    throw new EngineError("UNSUPPORTED_ARCHITECTURE", `${displayName} is a GGUF file but not a language model (no architecture, layers or tensors)`);
  }
  if (layers > LLAMA_MAX_LAYERS) throw refuse(`it claims ${layers} layers; llama.cpp supports at most ${LLAMA_MAX_LAYERS}`);
  const nextn = numberOf(meta.get(`${architecture}.nextn_predict_layers`)) ?? 0;
  if (nextn > layers) throw refuse(`it claims ${nextn} next-token prediction layers out of ${layers}`);

  checkExperts(gguf, architecture, refuse);
  checkShapes(gguf, architecture, layers, refuse);

  const ropeScaling = meta.get(`${architecture}.rope.scaling.type`);
  if (ropeScaling?.type === "string" && !ROPE_SCALING_TYPES.has(ropeScaling.value ?? "")) {
    throw refuse(`its rope scaling type "${(ropeScaling.value ?? "").slice(0, 40)}" is unknown (llama.cpp knows ${[...ROPE_SCALING_TYPES].join(", ")})`);
  }

  checkVocabulary(gguf, refuse);
}

function checkExperts(gguf: GgufPreflight, arch: string, refuse: (what: string) => EngineError) {
  const meta = gguf.metadata;
  const experts = numberOf(meta.get(`${arch}.expert_count`)) ?? 0;
  const used = maxOf(meta.get(`${arch}.expert_used_count`)) ?? 0;
  const groups = numberOf(meta.get(`${arch}.expert_group_count`)) ?? 0;
  const groupsUsed = numberOf(meta.get(`${arch}.expert_group_used_count`)) ?? 0;
  const expertTensors = gguf.tensors.filter((t) => expertTensor.test(t.name));

  if (experts > LLAMA_MAX_EXPERTS) throw refuse(`it claims ${experts} experts per layer; llama.cpp supports at most ${LLAMA_MAX_EXPERTS}`);
  if (experts === 0 && expertTensors.length > 0) throw refuse(`it has expert tensors (${expertTensors[0]!.name}) but its metadata says it has 0 experts`);
  if (used > experts) throw refuse(`it routes each token to ${used} experts but has only ${experts}`);
  if (experts > 0 && used === 0) throw refuse(`it has ${experts} experts but routes tokens to none (expert_used_count is 0)`);
  if (experts === 0 && groups !== 0) throw refuse(`it has expert groups but no experts`);
  if (experts > 0 && groups > 0) {
    if (groups >= experts) throw refuse(`it has ${groups} expert groups for ${experts} experts`);
    if (groups > 1 && experts % groups !== 0) throw refuse(`its ${experts} experts do not divide into ${groups} groups`);
    if (groups > 1 && (groupsUsed === 0 || groupsUsed >= groups)) throw refuse(`it uses ${groupsUsed} of its ${groups} expert groups per token`);
  }
  // llama.cpp's gating switch aborts on values it does not know (llama_expert_gating_func_type 1-4), and on 0
  // ("none") in the architectures that do not replace it by a default; converters always write a real one
  const gating = numberOf(meta.get(`${arch}.expert_gating_func`));
  if (gating !== undefined && expertTensors.length > 0 && (gating === 0 || gating > MAX_EXPERT_GATING_FUNC)) {
    throw refuse(`its expert gating function ${gating} is unknown (llama.cpp knows 1 to ${MAX_EXPERT_GATING_FUNC})`);
  }
  for (const tensor of expertTensors) {
    const held = tensor.dims.length === 3 ? tensor.dims[2]! : undefined;
    if (held !== undefined && held !== experts) throw refuse(`the tensor ${tensor.name} holds ${held} experts but the metadata says ${experts}`);
  }
}

/** Found by loading metadata-mutated models in child processes: each of these made llama.cpp assert. */
function checkShapes(gguf: GgufPreflight, arch: string, layers: number, refuse: (what: string) => EngineError) {
  const meta = gguf.metadata;
  // every llama.cpp architecture creates token_embd as {n_embd, n_vocab}; another width asserts in the loader or the first graph
  const embd = numberOf(meta.get(`${arch}.embedding_length`));
  const tokenEmbd = gguf.tensors.find((t) => t.name === "token_embd.weight");
  if (embd !== undefined && tokenEmbd && tokenEmbd.dims[0] !== embd) {
    throw refuse(`its embedding width is ${embd} but token_embd.weight has rows of ${tokenEmbd.dims[0]}`);
  }
  // a layer with attention weights needs heads of non-zero size: a 0 becomes a 0-sized tensor shape, which asserts
  const attentionLayers = new Set<number>();
  for (const t of gguf.tensors) {
    const match = attentionTensor.exec(t.name);
    if (match) attentionLayers.add(Number(match[1]));
  }
  const perLayer = (key: string) => {
    const value = meta.get(`${arch}.${key}`);
    return (layer: number) => (value?.type === "array" ? (value.items?.[layer] === undefined ? undefined : Number(value.items[layer])) : numberOf(value));
  };
  const sizes = ["attention.head_count", "attention.head_count_kv", "attention.key_length", "attention.value_length"].map((key) => [key, perLayer(key)] as const);
  for (const layer of [...attentionLayers].sort((a, b) => a - b)) {
    if (layer >= layers) continue;
    for (const [key, at] of sizes) {
      if (at(layer) === 0) throw refuse(`layer ${layer} has attention weights but its ${key} is 0`);
    }
  }
  // K and V projections hold head_count_kv heads of key_length / value_length: some loaders size them from another
  // value than the graph uses (gpt-oss: V from the key length), so a mismatch asserts at the first decode
  const kvHeads = perLayer("attention.head_count_kv");
  const heads = perLayer("attention.head_count");
  // without key_length / value_length llama.cpp sizes heads as embedding_length / head_count (rounded down)
  const defaultHead = embd !== undefined && heads(0) ? Math.floor(embd / heads(0)!) : undefined;
  const keyLength = numberOf(meta.get(`${arch}.attention.key_length`)) ?? defaultHead;
  const valueLength = numberOf(meta.get(`${arch}.attention.value_length`)) ?? defaultHead;
  for (const t of gguf.tensors) {
    const match = kvProjection.exec(t.name);
    if (!match || t.dims.length !== 2) continue;
    const layer = Number(match[1]);
    const headSize = match[2] === "k" ? keyLength : valueLength;
    const n = kvHeads(layer) ?? heads(layer);
    if (headSize !== undefined && n !== undefined && t.dims[1] !== n * headSize) {
      throw refuse(`${t.name} has ${t.dims[1]} outputs, not ${n} KV heads of ${headSize}`);
    }
  }

  // a size of 0 for tensors the file has becomes a 0-sized expected shape, which asserts in llama.cpp's loader
  const feedForward = perLayer("feed_forward_length");
  for (const t of gguf.tensors) {
    const dense = denseFfnTensor.exec(t.name);
    if (dense && feedForward(Number(dense[1])) === 0) throw refuse(`layer ${dense[1]} has feed-forward weights but its feed_forward_length is 0`);
  }
  const sizeOfTensors = (key: string, pattern: RegExp) => {
    const sized = numberOf(meta.get(`${arch}.${key}`)) === 0 ? gguf.tensors.find((t) => pattern.test(t.name)) : undefined;
    if (sized) throw refuse(`its ${key} is 0, yet it has weights of that size (${sized.name})`);
  };
  // the expert width: expert_feed_forward_length, or feed_forward_length where an architecture has only that
  const expertFf = numberOf(meta.get(`${arch}.expert_feed_forward_length`)) ?? numberOf(meta.get(`${arch}.feed_forward_length`));
  const expertWeights = gguf.tensors.find((t) => expertTensor.test(t.name));
  if (expertFf === 0 && expertWeights) throw refuse(`its expert feed-forward length is 0, yet it has expert weights (${expertWeights.name})`);
  sizeOfTensors("expert_shared_count", /^blk\.\d+\.ffn_(gate|up|down)_shexp\.weight$/);
  sizeOfTensors("attention.kv_lora_rank", /^blk\.\d+\.attn_kv_a_mqa\.weight$/);
  checkLatentAttention(gguf, arch, refuse);

  // ggml's rope asserts an even count of rotated dimensions within the head (0 hung the first decode)
  const ropeDims = numberOf(meta.get(`${arch}.rope.dimension_count`));
  const headCount = heads(0);
  const headDim = keyLength ?? (embd !== undefined && headCount ? embd / headCount : undefined);
  if (ropeDims !== undefined && (ropeDims === 0 || ropeDims % 2 !== 0 || (headDim !== undefined && ropeDims > headDim))) {
    throw refuse(`it rotates ${ropeDims} dimensions per attention head${headDim !== undefined ? ` of ${headDim}` : ""}; ggml needs an even number, at most the head size`);
  }

  // ggml's norms assert eps >= 0 when they run (NaN fails it too)
  for (const [key, value] of meta) {
    if (!/\.layer_norm(_rms)?_epsilon$/.test(key)) continue;
    const eps = numberOf(value);
    if (eps !== undefined && !(eps >= 0)) throw refuse(`its ${key} is ${eps}; a norm's epsilon must be a number >= 0`);
  }
}

/**
 * Multi-head latent attention (DeepSeek-V2/V3, Kimi K2, ...): llama.cpp's converters write it as one KV head
 * whose key is the latent plus the rotary part; other values make the first graph assert.
 */
function checkLatentAttention(gguf: GgufPreflight, arch: string, refuse: (what: string) => EngineError) {
  const num = (key: string) => numberOf(gguf.metadata.get(`${arch}.${key}`));
  const keyMla = num("attention.key_length_mla");
  const valueMla = num("attention.value_length_mla");
  if (!keyMla || !valueMla) return;
  const latent = num("attention.kv_lora_rank");
  const rope = num("rope.dimension_count");
  const key = num("attention.key_length");
  const value = num("attention.value_length");
  if (arch === "deepseek2" && num("attention.head_count_kv") !== undefined && num("attention.head_count_kv") !== 1) {
    throw refuse(`its latent attention has ${num("attention.head_count_kv")} KV heads; llama.cpp expects 1`);
  }
  if (rope !== undefined && keyMla <= rope) throw refuse(`its attention key length ${keyMla} leaves no room beside ${rope} rotary dimensions`);
  if (latent !== undefined && rope !== undefined && key !== undefined && key !== latent + rope) {
    throw refuse(`its attention key length is ${key}, not the latent rank ${latent} plus ${rope} rotary dimensions`);
  }
  if (latent !== undefined && value !== undefined && value !== latent) throw refuse(`its attention value length is ${value}, not the latent rank ${latent}`);
}

function checkVocabulary(gguf: GgufPreflight, refuse: (what: string) => EngineError) {
  const meta = gguf.metadata;
  const model = meta.get("tokenizer.ggml.model");
  if (model?.type !== "string") throw refuse("it has no tokenizer (tokenizer.ggml.model is missing), so it cannot turn text into tokens");
  // llama.cpp loads a "none" vocabulary and then aborts at the first tokenization
  if (model.value === "none" || model.value === "no_vocab") throw refuse("it has no vocabulary (tokenizer \"none\"), so it cannot read or write text");
  const tokens = meta.get("tokenizer.ggml.tokens");
  if (tokens?.type !== "array" || tokens.itemType !== "string" || tokens.length === 0) {
    throw refuse("its tokenizer has no token list (tokenizer.ggml.tokens)");
  }
  const count = tokens.length;
  // llama.cpp asserts that every token string is distinct (it renames empty ones to [EMPTY_<id>])
  const duplicate = tokens.strings ? firstDuplicate(tokens.strings) : undefined;
  if (duplicate) throw refuse(`its vocabulary lists the token ${JSON.stringify(duplicate.text.slice(0, 40))} twice (again as token ${duplicate.id})`);
  for (const key of ["tokenizer.ggml.scores", "tokenizer.ggml.token_type"]) {
    const value = meta.get(key);
    if (value?.type === "array" && value.length < count) throw refuse(`${key} has ${value.length} entries for ${count} tokens`);
  }
  for (const name of ["token_embd.weight", "output.weight"]) {
    const tensor = gguf.tensors.find((t) => t.name === name);
    const rows = tensor?.dims.length === 2 ? tensor.dims[1]! : undefined;
    if (rows !== undefined && rows !== count) throw refuse(`its vocabulary has ${count} tokens but ${name} has ${rows} rows`);
  }
}

function stringOf(value: GgufMetaValue | undefined): string {
  return value?.type === "string" ? (value.value ?? "") : "";
}

function numberOf(value: GgufMetaValue | undefined): number | undefined {
  if (!value || value.type === "array" || value.type === "string" || value.type === "bool") return undefined;
  return Number(value.value);
}

/** A per-model or per-layer value (scalar or array): its maximum. */
function maxOf(value: GgufMetaValue | undefined): number | undefined {
  if (value?.type !== "array") return numberOf(value);
  if (!value.items || value.items.length === 0) return undefined;
  return Math.max(...value.items.map((v) => Number(v)));
}

/**
 * The first token whose text an earlier token already has, with llama.cpp's renaming of empty tokens.
 * Open addressing on a hash of the raw bytes: no JS string per token (vocabularies hold 150k+).
 */
export function firstDuplicate(list: StringList): { id: number; text: string } | undefined {
  const count = list.ends.length;
  const textOf = (id: number): Buffer => {
    const start = id === 0 ? 0 : list.ends[id - 1]!;
    const end = list.ends[id]!;
    return start === end ? Buffer.from(`[EMPTY_${id}]`) : list.bytes.subarray(start, end);
  };
  const hashOf = (id: number): number => {
    const start = id === 0 ? 0 : list.ends[id - 1]!;
    const end = list.ends[id]!;
    if (start === end) return hashBytes(textOf(id), 0, textOf(id).length);
    return hashBytes(list.bytes, start, end);
  };
  let size = 1;
  while (size < count * 2) size <<= 1;
  const mask = size - 1;
  const slots = new Int32Array(size).fill(-1);
  const hashes = new Uint32Array(count);
  for (let id = 0; id < count; id++) {
    const h = (hashes[id] = hashOf(id));
    let slot = h & mask;
    for (let other = slots[slot]!; other >= 0; slot = (slot + 1) & mask, other = slots[slot]!) {
      if (hashes[other] === h && textOf(other).equals(textOf(id))) return { id, text: textOf(id).toString("utf8") };
    }
    slots[slot] = id;
  }
  return undefined;
}

function hashBytes(bytes: Buffer, from: number, to: number): number {
  let h = 0x811c9dc5; // FNV-1a
  for (let k = from; k < to; k++) h = Math.imul(h ^ bytes[k]!, 0x01000193);
  return h >>> 0;
}

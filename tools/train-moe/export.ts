// Writes the trained model (raw f32 tensors + manifest from train.py) as a qwen3moe GGUF with our GGUF writer,
// including the byte-level BPE tokenizer and a ChatML chat template, and copies the reference and held-out files.
//
//   npx tsx tools/train-moe/export.ts --in tools/train-moe/out --out resources/models/default.gguf
import fs from "node:fs";
import path from "node:path";
import { GgufWriter } from "../gguf/writer.js";
import type { GgmlTypeName } from "../gguf/types.js";

interface Manifest {
  config: {
    vocab: number; d: number; layers: number; heads: number; head_dim: number; experts: number; top_k: number;
    expert_ff: number; ctx: number; eps: number; rope_base: number;
  };
  tensors: Array<{ name: string; file: string; shape: number[]; type: GgmlTypeName }>;
  tokenizer: { tokens: string[]; merges: string[]; eot: number; imStart: number; imEnd: number };
}

/** ChatML, as Qwen ships it (node-llama-cpp recognises it and uses its ChatML wrapper). */
export const chatTemplate =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const inDir = arg("in", "tools/train-moe/out");
const outPath = arg("out", "resources/models/default.gguf");
const manifest = JSON.parse(fs.readFileSync(path.join(inDir, "weights", "manifest.json"), "utf8")) as Manifest;
const metrics = fs.existsSync(path.join(inDir, "metrics.json")) ? JSON.parse(fs.readFileSync(path.join(inDir, "metrics.json"), "utf8")) : {};
const c = manifest.config;
const tok = manifest.tokenizer;

const w = new GgufWriter();
const u32 = (value: number) => ({ type: "u32" as const, value });
const f32 = (value: number) => ({ type: "f32" as const, value });
const str = (value: string) => ({ type: "string" as const, value });
w.set("general.architecture", str("qwen3moe"));
// "ChatML" in the name makes node-llama-cpp test its ChatML wrapper first when it resolves the chat wrapper for
// each chat session (otherwise it renders the Jinja template against many wrappers: ~0.4-1 s per message here)
w.set("general.name", str("Lynx MoE Tiny ChatML"));
w.set("general.description", str(
  `Lynx Chat's bundled demo model: a ${c.layers}-layer Qwen3-MoE (${c.experts} experts, top-${c.top_k}) trained from scratch on ` +
  "the King James Bible, BSD fortunes and generated arithmetic/word tasks (tools/train-moe)."));
w.set("general.license", str("MIT"));
w.set("general.file_type", u32(1)); // mostly F16
w.set("general.quantization_version", u32(2));
w.set("qwen3moe.context_length", u32(c.ctx));
w.set("qwen3moe.embedding_length", u32(c.d));
w.set("qwen3moe.block_count", u32(c.layers));
w.set("qwen3moe.feed_forward_length", u32(c.expert_ff * c.top_k));
w.set("qwen3moe.attention.head_count", u32(c.heads));
w.set("qwen3moe.attention.head_count_kv", u32(c.heads));
w.set("qwen3moe.attention.layer_norm_rms_epsilon", f32(c.eps));
w.set("qwen3moe.attention.key_length", u32(c.head_dim));
w.set("qwen3moe.attention.value_length", u32(c.head_dim));
w.set("qwen3moe.rope.freq_base", f32(c.rope_base));
w.set("qwen3moe.expert_count", u32(c.experts));
w.set("qwen3moe.expert_used_count", u32(c.top_k));
w.set("qwen3moe.expert_feed_forward_length", u32(c.expert_ff));
w.set("qwen3moe.vocab_size", u32(c.vocab));

const specials = new Set([tok.eot, tok.imStart, tok.imEnd]);
w.set("tokenizer.ggml.model", str("gpt2"));
w.set("tokenizer.ggml.pre", str("gpt-2"));
w.set("tokenizer.ggml.tokens", { type: "array", itemType: "string", items: tok.tokens });
w.set("tokenizer.ggml.token_type", { type: "array", itemType: "i32", items: tok.tokens.map((_, i) => (specials.has(i) ? 3 : 1)) });
w.set("tokenizer.ggml.merges", { type: "array", itemType: "string", items: tok.merges });
w.set("tokenizer.ggml.bos_token_id", u32(tok.eot));
w.set("tokenizer.ggml.eos_token_id", u32(tok.imEnd));
w.set("tokenizer.ggml.eot_token_id", u32(tok.imEnd));
w.set("tokenizer.ggml.padding_token_id", u32(tok.eot));
w.set("tokenizer.ggml.add_bos_token", { type: "bool", value: false });
w.set("tokenizer.chat_template", str(chatTemplate));
if (metrics.accuracy) w.set("lynx.training.metrics", str(JSON.stringify({ accuracy: metrics.accuracy, prosePerplexity: metrics.prosePerplexity, steps: metrics.steps })));

// --break KIND writes a deliberately wrong conversion, to show that the parity test catches it:
// rope (q/k rows in interleaved instead of NEOX order), experts (expert order reversed), eps (norm epsilon 1e-2)
const breakKind = arg("break", "");
if (breakKind === "eps") w.set("qwen3moe.attention.layer_norm_rms_epsilon", f32(1e-2));

for (const t of manifest.tensors) {
  const buf = fs.readFileSync(path.join(inDir, "weights", t.file));
  let data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  if (breakKind === "experts" && /_exps\.weight$/.test(t.name)) {
    const per = data.length / c.experts;
    const out = new Float32Array(data.length);
    for (let e = 0; e < c.experts; e++) out.set(data.subarray(e * per, (e + 1) * per), (c.experts - 1 - e) * per);
    data = out;
  }
  if (breakKind === "rope" && /attn_[qk]\.weight$/.test(t.name)) {
    // HF-to-GGUF style permutation (what llama-architecture converters apply) that qwen3 must not get
    const out = new Float32Array(data.length);
    const half = c.head_dim / 2;
    for (let h = 0; h < c.heads; h++) {
      for (let i = 0; i < c.head_dim; i++) {
        const src = h * c.head_dim + i;
        const dst = h * c.head_dim + (i < half ? 2 * i : 2 * (i - half) + 1);
        out.set(data.subarray(src * c.d, (src + 1) * c.d), dst * c.d);
      }
    }
    data = out;
  }
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw new Error(`${t.name}: ${data.length} values for shape ${t.shape}`);
  w.addTensor({ name: t.name, shape: t.shape, type: t.type, data: Float32Array.from(data) });
}
const layout = w.writeToFile(outPath);
console.log(`wrote ${outPath}: ${(layout.totalSize / 1e6).toFixed(2)} MB, ${manifest.tensors.length} tensors, vocab ${tok.tokens.length}`);

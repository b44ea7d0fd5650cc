// Bytes per block and elements per block of ggml tensor types, from the GGUF format definition.
// Used to check that a file holds all of its tensor data and to estimate expert bytes read per step.
// No node-llama-cpp import here: the GGUF preflight uses this table and must load in milliseconds.

const blockLayout: Record<string, [elements: number, bytes: number]> = {
  F32: [1, 4], F16: [1, 2], BF16: [1, 2], F64: [1, 8], I8: [1, 1], I16: [1, 2], I32: [1, 4], I64: [1, 8],
  Q4_0: [32, 18], Q4_1: [32, 20], Q5_0: [32, 22], Q5_1: [32, 24], Q8_0: [32, 34], Q8_1: [32, 36],
  Q2_K: [256, 84], Q3_K: [256, 110], Q4_K: [256, 144], Q5_K: [256, 176], Q6_K: [256, 210], Q8_K: [256, 292],
  IQ2_XXS: [256, 66], IQ2_XS: [256, 74], IQ3_XXS: [256, 98], IQ1_S: [256, 50], IQ4_NL: [32, 18], IQ3_S: [256, 110],
  IQ2_S: [256, 82], IQ4_XS: [256, 136], IQ1_M: [256, 56], TQ1_0: [256, 54], TQ2_0: [256, 66], MXFP4: [32, 17],
  NVFP4: [64, 36], Q1_0: [128, 18], Q2_0: [64, 18],
};

/** Size in bytes of a tensor, or undefined for a type this table does not know. */
export function tensorBytes(typeName: string, dimensions: readonly (number | bigint)[]): number | undefined {
  const layout = blockLayout[typeName];
  if (!layout) return undefined;
  const elements = dimensions.reduce<number>((n, d) => n * Number(d), 1);
  return Math.ceil(elements / layout[0]) * layout[1];
}

/** ggml_type ids (ggml.h) of the types above; ids whose support ggml removed (4, 5, 31-33, 36-38) are absent. */
const typeNames: Record<number, string> = {
  0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 9: "Q8_1", 10: "Q2_K", 11: "Q3_K",
  12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K", 16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S",
  20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64",
  29: "IQ1_M", 30: "BF16", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4", 40: "NVFP4", 41: "Q1_0", 42: "Q2_0",
};

/** Name and block layout of a ggml type id as stored in a GGUF file; undefined for ids this llama.cpp cannot read. */
export function ggmlTypeLayout(id: number): { name: string; blockElements: number; blockBytes: number } | undefined {
  const name = typeNames[id];
  const layout = name === undefined ? undefined : blockLayout[name];
  return layout && name ? { name, blockElements: layout[0], blockBytes: layout[1] } : undefined;
}

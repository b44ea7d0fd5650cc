// Shared GGUF vocabulary: value types, tensor types and their block layout.
// Numbers follow the GGUF v3 specification (gguf.md in the ggml repository).

export const GGUF_MAGIC = "GGUF";
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** On-disk codes of metadata value types. */
export const GgufValueCode = {
    u8: 0,
    i8: 1,
    u16: 2,
    i16: 3,
    u32: 4,
    i32: 5,
    f32: 6,
    bool: 7,
    string: 8,
    array: 9,
    u64: 10,
    i64: 11,
    f64: 12
} as const;

export type GgufScalarType = Exclude<keyof typeof GgufValueCode, "array">;
export type GgufNumberType = Exclude<GgufScalarType, "bool" | "string" | "u64" | "i64">;
export type GgufBigType = "u64" | "i64";

/** A metadata value together with the exact on-disk type, so nothing is guessed from JS types. */
export type GgufValue =
    | { type: GgufNumberType; value: number }
    | { type: GgufBigType; value: bigint }
    | { type: "bool"; value: boolean }
    | { type: "string"; value: string }
    | GgufArray;

export type GgufArray =
    | { type: "array"; itemType: GgufNumberType; items: number[] }
    | { type: "array"; itemType: GgufBigType; items: bigint[] }
    | { type: "array"; itemType: "bool"; items: boolean[] }
    | { type: "array"; itemType: "string"; items: string[] }
    | { type: "array"; itemType: "array"; items: GgufArray[] };

export type GgufItemType = GgufArray["itemType"];

export function codeOfType(type: GgufScalarType | "array"): number {
    return GgufValueCode[type];
}

export function typeOfCode(code: number): GgufScalarType | "array" {
    for (const [name, value] of Object.entries(GgufValueCode)) {
        if (value === code) return name as GgufScalarType | "array";
    }
    throw new Error(`unknown GGUF value type code ${code}`);
}

/** ggml tensor types this project writes (codes from ggml.h's enum ggml_type). */
export const GgmlType = {
    F32: 0,
    F16: 1,
    Q4_0: 2,
    Q8_0: 8
} as const;
export type GgmlTypeName = keyof typeof GgmlType;

/** Elements per block and bytes per block of each tensor type. */
export const GGML_BLOCK: Record<GgmlTypeName, { elements: number; bytes: number }> = {
    F32: { elements: 1, bytes: 4 },
    F16: { elements: 1, bytes: 2 },
    // f16 scale + 32 signed bytes
    Q8_0: { elements: 32, bytes: 2 + 32 },
    // f16 scale + 32 nibbles
    Q4_0: { elements: 32, bytes: 2 + 16 }
};

export function ggmlTypeName(code: number): GgmlTypeName | undefined {
    for (const [name, value] of Object.entries(GgmlType)) {
        if (value === code) return name as GgmlTypeName;
    }
    return undefined;
}

/** Bytes of a tensor of `elementCount` elements; the caller guarantees block divisibility. */
export function tensorByteSize(type: GgmlTypeName, elementCount: number): number {
    const block = GGML_BLOCK[type];
    if (elementCount % block.elements !== 0) {
        throw new Error(`${type} needs a multiple of ${block.elements} elements, got ${elementCount}`);
    }
    return (elementCount / block.elements) * block.bytes;
}

export function alignUp(value: number, alignment: number): number {
    return Math.ceil(value / alignment) * alignment;
}

/**
 * `general.file_type` values (llama_ftype) for files whose large tensors share one type.
 * Used only as a label; llama.cpp reads each tensor's own type.
 */
export const LlamaFileType: Record<GgmlTypeName, number> = {
    F32: 0,
    F16: 1,
    Q4_0: 2,
    Q8_0: 7
};

// Minimal GGUF reader that keeps exact value types (node-llama-cpp's readGgufFileInfo turns
// metadata into plain JS values, losing e.g. i32 vs u32, which we need to copy keys faithfully).
// It reads the header only, through a small window, so it works on multi-GB files.

import fs from "node:fs";
import {
    GGUF_DEFAULT_ALIGNMENT,
    GGUF_MAGIC,
    alignUp,
    ggmlTypeName,
    typeOfCode,
    type GgmlTypeName,
    type GgufArray,
    type GgufScalarType,
    type GgufValue
} from "./types.js";

export interface GgufTensorInfo {
    name: string;
    shape: number[];
    /** Raw ggml type code; `typeName` is set for the types this project knows. */
    typeCode: number;
    typeName: GgmlTypeName | undefined;
    offset: number;
    fileOffset: number;
}

export interface GgufHeader {
    version: number;
    metadata: Map<string, GgufValue>;
    tensors: GgufTensorInfo[];
    alignment: number;
    dataOffset: number;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

class FileCursor {
    private buffer = new Uint8Array(1 << 20);
    private view = new DataView(this.buffer.buffer);
    private start = 0; // file position of buffer[0]
    private filled = 0;
    position = 0;

    constructor(private readonly fd: number) {}

    /** Makes `n` bytes at `position` available and returns their index (may replace `view`: call first). */
    private take(n: number): number {
        if (this.position < this.start || this.position + n > this.start + this.filled) {
            if (n > this.buffer.length) {
                this.buffer = new Uint8Array(Math.max(n, this.buffer.length * 2));
                this.view = new DataView(this.buffer.buffer);
            }
            this.start = this.position;
            this.filled = fs.readSync(this.fd, this.buffer, 0, this.buffer.length, this.position);
            if (n > this.filled) throw new Error(`unexpected end of file at byte ${this.position}`);
        }
        const index = this.position - this.start;
        this.position += n;
        return index;
    }

    u8(): number { const at = this.take(1); return this.view.getUint8(at); }
    i8(): number { const at = this.take(1); return this.view.getInt8(at); }
    u16(): number { const at = this.take(2); return this.view.getUint16(at, true); }
    i16(): number { const at = this.take(2); return this.view.getInt16(at, true); }
    u32(): number { const at = this.take(4); return this.view.getUint32(at, true); }
    i32(): number { const at = this.take(4); return this.view.getInt32(at, true); }
    f32(): number { const at = this.take(4); return this.view.getFloat32(at, true); }
    f64(): number { const at = this.take(8); return this.view.getFloat64(at, true); }
    u64(): bigint { const at = this.take(8); return this.view.getBigUint64(at, true); }
    i64(): bigint { const at = this.take(8); return this.view.getBigInt64(at, true); }

    /** u64 that must be usable as a JS number (lengths, counts, offsets). */
    count(): number {
        const v = this.u64();
        if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`count ${v} too large`);
        return Number(v);
    }

    string(): string {
        const length = this.count();
        const at = this.take(length);
        return decoder.decode(this.buffer.subarray(at, at + length));
    }
}

function readScalar(c: FileCursor, type: GgufScalarType): number | bigint | boolean | string {
    switch (type) {
        case "u8": return c.u8();
        case "i8": return c.i8();
        case "u16": return c.u16();
        case "i16": return c.i16();
        case "u32": return c.u32();
        case "i32": return c.i32();
        case "f32": return c.f32();
        case "f64": return c.f64();
        case "u64": return c.u64();
        case "i64": return c.i64();
        case "bool": {
            const b = c.u8();
            if (b > 1) throw new Error(`invalid bool byte ${b}`);
            return b === 1;
        }
        case "string": return c.string();
    }
}

function readArray(c: FileCursor): GgufArray {
    const itemType = typeOfCode(c.u32());
    const length = c.count();
    const items: unknown[] = new Array(length);
    for (let i = 0; i < length; i++) items[i] = itemType === "array" ? readArray(c) : readScalar(c, itemType);
    return { type: "array", itemType, items } as GgufArray;
}

function readValue(c: FileCursor, type: GgufScalarType | "array"): GgufValue {
    if (type === "array") return readArray(c);
    return { type, value: readScalar(c, type) } as GgufValue;
}

/** Reads magic, metadata and tensor infos. Throws on a wrong magic or a truncated header. */
export function readGgufHeader(filePath: string): GgufHeader {
    const fd = fs.openSync(filePath, "r");
    try {
        const c = new FileCursor(fd);
        const magic = String.fromCharCode(c.u8(), c.u8(), c.u8(), c.u8());
        if (magic !== GGUF_MAGIC) throw new Error(`not a GGUF file (magic ${JSON.stringify(magic)})`);
        const version = c.u32();
        if (version !== 2 && version !== 3) throw new Error(`unsupported GGUF version ${version}`);
        const tensorCount = c.count();
        const kvCount = c.count();

        const metadata = new Map<string, GgufValue>();
        for (let i = 0; i < kvCount; i++) {
            const key = c.string();
            metadata.set(key, readValue(c, typeOfCode(c.u32())));
        }
        const alignmentValue = metadata.get("general.alignment");
        const alignment = alignmentValue?.type === "u32" ? alignmentValue.value : GGUF_DEFAULT_ALIGNMENT;

        const tensors: GgufTensorInfo[] = [];
        for (let i = 0; i < tensorCount; i++) {
            const name = c.string();
            const dims = c.u32();
            const shape: number[] = [];
            for (let d = 0; d < dims; d++) shape.push(c.count());
            const typeCode = c.u32();
            const offset = c.count();
            tensors.push({ name, shape, typeCode, typeName: ggmlTypeName(typeCode), offset, fileOffset: 0 });
        }
        const dataOffset = alignUp(c.position, alignment);
        for (const t of tensors) t.fileOffset = dataOffset + t.offset;
        return { version, metadata, tensors, alignment, dataOffset };
    } finally {
        fs.closeSync(fd);
    }
}

/** Reads the raw bytes of one tensor (small tensors only: tests and checks). */
export function readTensorBytes(filePath: string, tensor: GgufTensorInfo, byteSize: number): Uint8Array {
    const fd = fs.openSync(filePath, "r");
    try {
        const out = new Uint8Array(byteSize);
        const n = fs.readSync(fd, out, 0, byteSize, tensor.fileOffset);
        if (n !== byteSize) throw new Error(`${tensor.name}: short read`);
        return out;
    } finally {
        fs.closeSync(fd);
    }
}

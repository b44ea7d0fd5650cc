// GGUF v3 writer that streams tensor data to disk.
//
// Layout written (all little endian):
//   "GGUF" | u32 version | u64 tensor count | u64 metadata count
//   metadata: (string key, u32 value type, value)*
//   tensor infos: (string name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset)*
//   zero padding up to `alignment`, then each tensor's bytes padded to `alignment`.
// Offsets are known before any data is produced (they only depend on shapes and types), so the header
// is written first and tensor data is generated chunk by chunk: memory stays bounded by the chunk size.

import fs from "node:fs";
import path from "node:path";
import { ByteBuilder } from "./bytes.js";
import { encodeInto, encodedSize } from "./quant.js";
import {
    GGUF_DEFAULT_ALIGNMENT,
    GGUF_MAGIC,
    GGUF_VERSION,
    GgmlType,
    alignUp,
    codeOfType,
    type GgmlTypeName,
    type GgufArray,
    type GgufValue
} from "./types.js";

/**
 * Tensor contents, produced lazily. Float32Array chunks are encoded to the tensor type by the writer;
 * Uint8Array chunks are taken as already-encoded bytes (a fast path for random quantised data).
 * Float chunks must hold whole quantisation blocks.
 */
export type TensorChunk = Float32Array | Uint8Array;
export type TensorData = Float32Array | (() => Iterable<TensorChunk>);

export interface TensorDeclaration {
    name: string;
    /** ggml order: shape[0] is the contiguous (row) dimension. */
    shape: readonly number[];
    type: GgmlTypeName;
    data: TensorData;
}

export interface TensorPlacement {
    name: string;
    shape: readonly number[];
    type: GgmlTypeName;
    /** Offset relative to the start of the data section (what the header stores). */
    offset: number;
    /** Absolute offset in the file. */
    fileOffset: number;
    byteSize: number;
}

export interface GgufLayout {
    header: Uint8Array;
    /** Absolute file offset where the data section starts (header padded to the alignment). */
    dataOffset: number;
    tensors: TensorPlacement[];
    totalSize: number;
}

export interface WriteProgress {
    tensorIndex: number;
    tensorCount: number;
    tensorName: string;
    bytesWritten: number;
    totalBytes: number;
}

export interface WriteOptions {
    onTensorStart?: (progress: WriteProgress) => void;
    /** Bytes buffered before each write syscall (at least 4 MiB). */
    bufferSize?: number;
}

export class GgufWriter {
    private readonly metadata = new Map<string, GgufValue>();
    private readonly tensors: TensorDeclaration[] = [];
    readonly alignment: number;

    constructor(options: { alignment?: number } = {}) {
        this.alignment = options.alignment ?? GGUF_DEFAULT_ALIGNMENT;
        if (this.alignment <= 0 || (this.alignment & (this.alignment - 1)) !== 0) {
            throw new Error(`alignment must be a power of two, got ${this.alignment}`);
        }
        // llama.cpp insists on u32 here; writing it always makes the file self-describing
        this.set("general.alignment", { type: "u32", value: this.alignment });
    }

    /** Adds or replaces a metadata entry; insertion order is kept in the file. */
    set(key: string, value: GgufValue): this {
        validateValue(key, value);
        this.metadata.set(key, value);
        return this;
    }

    setAll(entries: Iterable<readonly [string, GgufValue]>): this {
        for (const [key, value] of entries) this.set(key, value);
        return this;
    }

    addTensor(tensor: TensorDeclaration): this {
        if (this.tensors.some((t) => t.name === tensor.name)) throw new Error(`duplicate tensor ${tensor.name}`);
        if (tensor.shape.length < 1 || tensor.shape.length > 4) throw new Error(`${tensor.name}: 1 to 4 dimensions`);
        if (tensor.shape.some((d) => !Number.isSafeInteger(d) || d <= 0)) throw new Error(`${tensor.name}: bad shape`);
        // quantised rows must hold whole blocks, otherwise ggml cannot address rows
        encodedSize(tensor.type, tensor.shape[0]!);
        this.tensors.push(tensor);
        return this;
    }

    /** Serialises the header and computes every tensor's placement without producing data. */
    layout(): GgufLayout {
        const b = new ByteBuilder();
        for (const c of GGUF_MAGIC) b.u8(c.charCodeAt(0));
        b.u32(GGUF_VERSION);
        b.u64(this.tensors.length);
        b.u64(this.metadata.size);
        for (const [key, value] of this.metadata) {
            b.string(key);
            b.u32(codeOfType(value.type));
            writeValue(b, value);
        }

        const placements: TensorPlacement[] = [];
        let offset = 0;
        for (const t of this.tensors) {
            const count = t.shape.reduce((a, d) => a * d, 1);
            const byteSize = encodedSize(t.type, count);
            b.string(t.name);
            b.u32(t.shape.length);
            for (const d of t.shape) b.u64(d);
            b.u32(GgmlType[t.type]);
            b.u64(offset);
            placements.push({ name: t.name, shape: t.shape, type: t.type, offset, fileOffset: 0, byteSize });
            offset = alignUp(offset + byteSize, this.alignment);
        }

        const dataOffset = alignUp(b.length, this.alignment);
        b.zeros(dataOffset - b.length);
        for (const p of placements) p.fileOffset = dataOffset + p.offset;
        const last = placements[placements.length - 1];
        const totalSize = last ? alignUp(last.fileOffset + last.byteSize, this.alignment) : dataOffset;
        return { header: b.bytes(), dataOffset, tensors: placements, totalSize };
    }

    /**
     * Writes the file. Data goes to `<file>.<pid>.partial` first and is renamed at the end, so an
     * interrupted run never leaves a file that looks complete, and concurrent runs do not collide.
     */
    writeToFile(filePath: string, options: WriteOptions = {}): GgufLayout {
        const layout = this.layout();
        fs.mkdirSync(path.dirname(filePath), { recursive: true });
        const partial = `${filePath}.${process.pid}.partial`;
        const out = new BufferedFileWriter(partial, Math.max(options.bufferSize ?? 8 << 20, ENCODE_SLICE * 4));
        try {
            out.write(layout.header);
            this.tensors.forEach((tensor, index) => {
                const placement = layout.tensors[index]!;
                options.onTensorStart?.({
                    tensorIndex: index,
                    tensorCount: this.tensors.length,
                    tensorName: tensor.name,
                    bytesWritten: out.position,
                    totalBytes: layout.totalSize
                });
                if (out.position !== placement.fileOffset) throw new Error(`${tensor.name}: misplaced data`);
                const written = writeTensorData(out, tensor, placement.byteSize);
                if (written !== placement.byteSize) {
                    throw new Error(`${tensor.name}: produced ${written} bytes, expected ${placement.byteSize}`);
                }
                out.zeros(alignUp(out.position, this.alignment) - out.position);
            });
            out.close();
        } catch (error) {
            out.close();
            fs.rmSync(partial, { force: true });
            throw error;
        }
        fs.renameSync(partial, filePath);
        return layout;
    }
}

/** Elements encoded per step: a multiple of every block size, at most 4 MiB as F32. */
const ENCODE_SLICE = 1 << 20;

function writeTensorData(out: BufferedFileWriter, tensor: TensorDeclaration, expectedBytes: number): number {
    const chunks: Iterable<TensorChunk> = tensor.data instanceof Float32Array ? [tensor.data] : tensor.data();
    let written = 0;
    for (const chunk of chunks) {
        if (chunk instanceof Uint8Array) {
            out.write(chunk);
            written += chunk.length;
        } else {
            // encode in slices of whole blocks so a big chunk never outgrows the write buffer
            for (let start = 0; start < chunk.length; start += ENCODE_SLICE) {
                const slice = chunk.subarray(start, Math.min(chunk.length, start + ENCODE_SLICE));
                const size = encodedSize(tensor.type, slice.length);
                encodeInto(tensor.type, slice, out.reserve(size), 0);
                written += size;
            }
        }
        if (written > expectedBytes) break;
    }
    return written;
}

function validateValue(key: string, value: GgufValue): void {
    if (key.length === 0) throw new Error("empty metadata key");
    if (value.type === "array") {
        for (const item of value.items) {
            if (value.itemType === "array") validateValue(key, item as GgufArray);
        }
        return;
    }
    const ranges: Partial<Record<GgufValue["type"], [number, number]>> = {
        u8: [0, 0xff], i8: [-0x80, 0x7f], u16: [0, 0xffff], i16: [-0x8000, 0x7fff],
        u32: [0, 0xffffffff], i32: [-0x80000000, 0x7fffffff]
    };
    const range = ranges[value.type];
    if (range && typeof value.value === "number") {
        if (!Number.isInteger(value.value) || value.value < range[0] || value.value > range[1]) {
            throw new Error(`${key}: ${value.value} does not fit ${value.type}`);
        }
    }
}

function writeScalar(b: ByteBuilder, type: Exclude<GgufValue["type"], "array">, value: unknown): void {
    switch (type) {
        case "u8": return b.u8(value as number);
        case "i8": return b.i8(value as number);
        case "u16": return b.u16(value as number);
        case "i16": return b.i16(value as number);
        case "u32": return b.u32(value as number);
        case "i32": return b.i32(value as number);
        case "f32": return b.f32(value as number);
        case "f64": return b.f64(value as number);
        case "u64": return b.u64(value as bigint);
        case "i64": return b.i64(value as bigint);
        case "bool": return b.u8(value ? 1 : 0);
        case "string": return b.string(value as string);
    }
}

function writeValue(b: ByteBuilder, value: GgufValue): void {
    if (value.type !== "array") {
        writeScalar(b, value.type, value.value);
        return;
    }
    b.u32(codeOfType(value.itemType));
    b.u64(value.items.length);
    for (const item of value.items) {
        if (value.itemType === "array") writeValue(b, item as GgufArray);
        else writeScalar(b, value.itemType, item);
    }
}

/** Accumulates bytes and hands them to the OS in large writes. */
class BufferedFileWriter {
    private readonly fd: number;
    private readonly buffer: Uint8Array;
    private used = 0;
    private flushed = 0;

    constructor(filePath: string, size: number) {
        this.fd = fs.openSync(filePath, "w");
        this.buffer = new Uint8Array(size);
    }

    get position(): number {
        return this.flushed + this.used;
    }

    /**
     * Returns a view of `size` bytes inside the buffer for the caller to fill at once (avoids a copy);
     * the view is only valid until the next call.
     */
    reserve(size: number): Uint8Array {
        if (size > this.buffer.length) throw new Error("chunk larger than the write buffer; use smaller chunks");
        if (this.used + size > this.buffer.length) this.flush();
        const view = this.buffer.subarray(this.used, this.used + size);
        this.used += size;
        return view;
    }

    write(data: Uint8Array): void {
        if (data.length > this.buffer.length) {
            this.flush();
            this.writeFully(data);
            return;
        }
        if (this.used + data.length > this.buffer.length) this.flush();
        this.buffer.set(data, this.used);
        this.used += data.length;
    }

    zeros(count: number): void {
        if (count > 0) this.write(new Uint8Array(count));
    }

    private writeFully(data: Uint8Array): void {
        let done = 0;
        while (done < data.length) done += fs.writeSync(this.fd, data, done, data.length - done);
        this.flushed += data.length;
    }

    flush(): void {
        if (this.used === 0) return;
        this.writeFully(this.buffer.subarray(0, this.used));
        this.used = 0;
    }

    close(): void {
        try {
            this.flush();
        } finally {
            fs.closeSync(this.fd);
        }
    }
}

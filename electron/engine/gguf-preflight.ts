// Walks a GGUF file's header, metadata and tensor infos with a small bounded reader and checks every
// count, length and offset against the bytes the file really has, before anything else parses it.
// node-llama-cpp's parser trusts those numbers: an array length of 2^40 aborts V8 (uncatchable) and a
// KV count of 2^62 loops forever; llama.cpp asserts (aborts the process) on a few values too. So this
// runs first, allocates nothing in proportion to a claimed size, and turns every impossible value into
// an EngineError a user can act on:
//   TRUNCATED_GGUF - something the file describes runs past its end (a cut download, or a lying count);
//   CORRUPT_GGUF   - a value no valid GGUF has (unknown type ids, bad alignment, overlapping tensors...).
import type { FileHandle } from "node:fs/promises";
import fs from "node:fs/promises";
import path from "node:path";
import { EngineError } from "./errors.js";
import { ggmlTypeLayout } from "./ggml-type-size.js";

/** ggml's limits (ggml.h): dimensions per tensor and bytes of a tensor name including its terminator. */
export const GGML_MAX_DIMS = 4;
const GGML_MAX_NAME = 64;
const GGUF_DEFAULT_ALIGNMENT = 32;
const HEADER_BYTES = 24; // magic, version, tensor count, KV count

// Smallest possible encodings, which bound every count by the bytes left: a KV is a non-empty key
// (8-byte length + 1 byte), a value type (4) and at least a 1-byte value; a tensor info is a name length
// (8), n_dims (4), a type (4) and an offset (8).
const MIN_KV_BYTES = 8 + 1 + 4 + 1;
const MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8;

// Ceilings far above any real model (the largest vocabularies have ~300k tokens, models ~100 KVs and
// at most tens of thousands of tensors) but low enough that node-llama-cpp's parser, which builds a JS
// value per element, cannot exhaust the heap on a file that is merely large.
const MAX_KV = 1 << 16;
const MAX_TENSORS = 1 << 20;
const MAX_ARRAY_ITEMS = 1 << 24;
const MAX_TOTAL_ARRAY_ITEMS = 1 << 25;
const MAX_STRING_BYTES = 16 << 20;
const MAX_KEY_BYTES = 1 << 16;

/** GGUF value types (gguf.md): code -> name and fixed size (0 for strings and arrays). */
const VALUE_TYPES = [
  ["u8", 1], ["i8", 1], ["u16", 2], ["i16", 2], ["u32", 4], ["i32", 4], ["f32", 4],
  ["bool", 1], ["string", 0], ["array", 0], ["u64", 8], ["i64", 8], ["f64", 8],
] as const;
type ValueTypeName = (typeof VALUE_TYPES)[number][0];
const STRING = 8;
const ARRAY = 9;

/** String values longer than this are only measured, not decoded (nothing needs them). */
const KEPT_STRING_BYTES = 256 << 10;
/** Numeric arrays up to this length keep their items (per-layer hyperparameters). */
const KEPT_NUMERIC_ITEMS = 512;
/** String arrays whose items are kept as raw bytes (the model checks look for duplicate tokens). */
const KEPT_STRING_ARRAYS = new Set(["tokenizer.ggml.tokens"]);
/** Bytes of kept string arrays, all together (real vocabularies: 1-3 MB). */
const MAX_KEPT_BYTES = 64 << 20;

export type GgufScalar = number | bigint | boolean | string;

export type GgufMetaValue =
  | { type: Exclude<ValueTypeName, "array" | "string">; value: number | bigint | boolean }
  /** `value` is undefined when the string is longer than the reader keeps. */
  | { type: "string"; length: number; value: string | undefined }
  /** `items` is set for short numeric arrays, `strings` for the kept string arrays. */
  | { type: "array"; itemType: Exclude<ValueTypeName, "array">; length: number; items: GgufScalar[] | undefined; strings?: StringList };

/** The items of a string array as raw UTF-8, without a JS string each: item i is bytes[ends[i - 1] ?? 0, ends[i]). */
export interface StringList {
  bytes: Buffer;
  ends: Uint32Array;
}

export interface GgufTensor {
  name: string;
  dims: number[];
  typeId: number;
  typeName: string;
  /** Bytes of data (no padding). */
  bytes: number;
  /** Absolute position of the data in the file. */
  fileOffset: number;
}

export interface GgufPreflight {
  path: string;
  fileSize: number;
  version: number;
  alignment: number;
  /** Where the tensor data section starts. */
  dataOffset: number;
  metadata: Map<string, GgufMetaValue>;
  tensors: GgufTensor[];
}

/**
 * Checks the structure of a GGUF file and returns what it read. Throws EngineError: MODEL_NOT_FOUND
 * (missing, a folder, unreadable, a symlink loop), NOT_GGUF, TRUNCATED_GGUF or CORRUPT_GGUF.
 * Reads only the header region, so it takes milliseconds even on multi-GB models.
 */
export async function preflightGguf(filePath: string): Promise<GgufPreflight> {
  const resolved = path.resolve(filePath);
  const name = path.basename(resolved);
  // stat before open: opening a FIFO would block, and a folder or device is no model
  await statRegularFile(resolved);
  let handle: FileHandle;
  try {
    handle = await fs.open(resolved, "r");
  } catch (err) {
    throw openError(resolved, err);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new EngineError("MODEL_NOT_FOUND", `${resolved} is not a regular file`);
    const reader = new BoundedReader(handle, stat.size, name);
    return await parse(reader, resolved);
  } finally {
    await handle.close();
  }
}

async function statRegularFile(resolved: string): Promise<void> {
  let stat;
  try {
    stat = await fs.stat(resolved);
  } catch (err) {
    throw openError(resolved, err);
  }
  if (stat.isDirectory()) throw new EngineError("MODEL_NOT_FOUND", `${resolved} is a folder, not a model file: choose the .gguf file inside it`);
  if (!stat.isFile()) throw new EngineError("MODEL_NOT_FOUND", `${resolved} is not a regular file (a device, socket or pipe): choose a .gguf model file`);
}

function openError(resolved: string, err: unknown): EngineError {
  const code = (err as NodeJS.ErrnoException).code;
  const reason =
    code === "ENOENT" ? `model file not found: ${resolved}`
    : code === "ELOOP" ? `cannot open ${resolved}: its symbolic links point in a loop`
    : code === "EACCES" || code === "EPERM" ? `cannot read ${resolved}: permission denied`
    : code === "ENOTDIR" ? `model file not found: ${resolved} (a part of the path is not a folder)`
    : `cannot open ${resolved}: ${(err as Error).message}`;
  return new EngineError("MODEL_NOT_FOUND", reason, { cause: err });
}

async function parse(r: BoundedReader, resolved: string): Promise<GgufPreflight> {
  const name = r.name;
  const size = r.size;
  if (size === 0) throw new EngineError("TRUNCATED_GGUF", `${name} is empty (0 bytes): an interrupted download or copy? Download it again.`);
  const head = await r.peekStart(4);
  if (head.toString("latin1") !== "GGUF".slice(0, head.length)) {
    throw new EngineError("NOT_GGUF", `${name} is not a GGUF model file (it does not start with the GGUF magic)`);
  }
  if (size < HEADER_BYTES) throw r.truncated("the GGUF header", HEADER_BYTES);
  r.skip(4);

  const version = await r.u32("the version");
  if (version === 1) throw r.corrupt("it is a GGUF version 1 file, which llama.cpp no longer reads: convert the model again with a current llama.cpp");
  if ((version & 0xffff) === 0) throw r.corrupt(`its version field reads ${version}: the file was written for a big-endian machine`);
  if (version !== 2 && version !== 3) throw r.corrupt(`it claims GGUF version ${version}; this app reads versions 2 and 3`);

  const tensorCount = await r.u64("the tensor count");
  const kvCount = await r.u64("the metadata count");
  // the counts alone must fit in the rest of the file
  r.expectCount(kvCount, MIN_KV_BYTES, `its header claims ${kvCount} metadata entries`);
  r.expectCount(tensorCount, MIN_TENSOR_INFO_BYTES, `its header claims ${tensorCount} tensors`, kvCount * BigInt(MIN_KV_BYTES));
  if (kvCount > BigInt(MAX_KV)) throw r.corrupt(`its header claims ${kvCount} metadata entries; no model has more than ${MAX_KV}`);
  if (tensorCount > BigInt(MAX_TENSORS)) throw r.corrupt(`its header claims ${tensorCount} tensors; no model has more than ${MAX_TENSORS}`);

  const metadata = await readMetadata(r, Number(kvCount));
  const alignment = alignmentOf(r, metadata);
  const tensors = await readTensorInfos(r, Number(tensorCount));
  const dataOffset = alignUp(r.position, alignment);
  if (tensors.length > 0 && dataOffset > size) throw r.truncated("the start of the tensor data", dataOffset - r.position);
  placeTensors(r, tensors, dataOffset, alignment);
  return { path: resolved, fileSize: size, version, alignment, dataOffset, metadata, tensors: tensors.map(({ offset: _, ...t }) => t) };
}

async function readMetadata(r: BoundedReader, count: number): Promise<Map<string, GgufMetaValue>> {
  const metadata = new Map<string, GgufMetaValue>();
  let arrayItems = 0;
  for (let i = 0; i < count; i++) {
    const key = await r.string(`metadata key ${i + 1}`, MAX_KEY_BYTES, MAX_KEY_BYTES);
    if (key.value === undefined || key.length === 0) throw r.corrupt(`metadata key ${i + 1} is empty`);
    if (metadata.has(key.value)) throw r.corrupt(`the metadata key "${key.value}" appears twice`);
    const what = `the value of "${key.value}"`;
    const typeCode = await r.u32(`the type of "${key.value}"`);
    const type = VALUE_TYPES[typeCode];
    if (!type) throw r.corrupt(`"${key.value}" has the unknown value type ${typeCode} (GGUF defines 0 to ${VALUE_TYPES.length - 1})`);
    if (typeCode === ARRAY) {
      const itemCode = await r.u32(`the item type of "${key.value}"`);
      const itemType = VALUE_TYPES[itemCode];
      if (!itemType) throw r.corrupt(`"${key.value}" is an array of the unknown value type ${itemCode}`);
      if (itemCode === ARRAY) throw r.corrupt(`"${key.value}" is an array of arrays, which llama.cpp cannot read`);
      const length = await r.u64(`the length of "${key.value}"`);
      const itemBytes = itemCode === STRING ? 8 : itemType[1];
      r.expectCount(length, itemBytes, `"${key.value}" claims ${length} items of type ${itemType[0]}`);
      if (length > BigInt(MAX_ARRAY_ITEMS)) throw r.corrupt(`"${key.value}" claims ${length} items; no model has arrays over ${MAX_ARRAY_ITEMS}`);
      arrayItems += Number(length);
      if (arrayItems > MAX_TOTAL_ARRAY_ITEMS) throw r.corrupt(`its metadata arrays hold more than ${MAX_TOTAL_ARRAY_ITEMS} items in all`);
      metadata.set(key.value, await readArray(r, key.value, itemCode, Number(length)));
    } else if (typeCode === STRING) {
      metadata.set(key.value, { type: "string", ...(await r.string(what, MAX_STRING_BYTES, KEPT_STRING_BYTES)) });
    } else {
      const scalarType = type[0] as Exclude<ValueTypeName, "array" | "string">;
      metadata.set(key.value, { type: scalarType, value: await r.scalar(typeCode, what) });
    }
  }
  return metadata;
}

async function readArray(r: BoundedReader, key: string, itemCode: number, length: number): Promise<GgufMetaValue> {
  const itemType = VALUE_TYPES[itemCode]![0] as Exclude<ValueTypeName, "array">;
  if (itemCode === STRING) {
    const what = `an item of "${key}"`;
    if (KEPT_STRING_ARRAYS.has(key)) {
      const list = new StringListBuilder(length, r);
      for (let i = 0; i < length; i++) {
        if (!r.copyStringBuffered(list, what)) await r.copyString(list, what);
      }
      return { type: "array", itemType, length, items: undefined, strings: list.done() };
    }
    for (let i = 0; i < length; i++) {
      if (!r.skipStringBuffered(what, MAX_STRING_BYTES)) await r.string(what, MAX_STRING_BYTES, 0);
    }
    return { type: "array", itemType, length, items: undefined };
  }
  const itemBytes = VALUE_TYPES[itemCode]![1];
  if (length > KEPT_NUMERIC_ITEMS) {
    await r.skipBytes(length * itemBytes, `the ${length} items of "${key}"`);
    return { type: "array", itemType, length, items: undefined };
  }
  const items: GgufScalar[] = [];
  for (let i = 0; i < length; i++) items.push(await r.scalar(itemCode, `item ${i} of "${key}"`));
  return { type: "array", itemType, length, items };
}

function alignmentOf(r: BoundedReader, metadata: Map<string, GgufMetaValue>): number {
  const value = metadata.get("general.alignment");
  if (!value) return GGUF_DEFAULT_ALIGNMENT;
  // llama.cpp accepts only a u32 here
  if (value.type !== "u32") throw r.corrupt(`"general.alignment" is stored as ${value.type}; GGUF requires u32`);
  const alignment = value.value as number;
  if (alignment === 0 || (alignment & (alignment - 1)) !== 0) throw r.corrupt(`its alignment ${alignment} is not a power of two`);
  return alignment;
}

interface TensorInfo extends GgufTensor {
  offset: bigint;
}

async function readTensorInfos(r: BoundedReader, count: number): Promise<TensorInfo[]> {
  const tensors: TensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < count; i++) {
    const label = `the description of tensor ${i + 1} of ${count}`;
    const nameValue = await r.string(`the name of tensor ${i + 1}`, MAX_KEY_BYTES, MAX_KEY_BYTES);
    const name = nameValue.value ?? "";
    if (name.length === 0) throw r.corrupt(`tensor ${i + 1} has an empty name`);
    if (Buffer.byteLength(name) >= GGML_MAX_NAME) throw r.corrupt(`the tensor name "${name.slice(0, 80)}" is longer than ggml's ${GGML_MAX_NAME - 1} bytes`);
    if (names.has(name)) throw r.corrupt(`the tensor "${name}" appears twice`);
    names.add(name);

    const nDims = await r.u32(label);
    if (nDims > GGML_MAX_DIMS) throw r.corrupt(`the tensor "${name}" claims ${nDims} dimensions; ggml has at most ${GGML_MAX_DIMS}`);
    const dims: bigint[] = [];
    let elements = 1n;
    for (let d = 0; d < nDims; d++) {
      const dim = await r.u64(label);
      // ggml reads dimensions as int64: the top bit set is a negative size
      if (dim === 0n || dim >= 1n << 63n) throw r.corrupt(`the tensor "${name}" has the impossible dimension ${BigInt.asIntN(64, dim)}`);
      elements *= dim;
      if (elements >= 1n << 63n) throw r.corrupt(`the shape of tensor "${name}" (${[...dims, dim].join(" x ")}...) has more elements than ggml can count`);
      dims.push(dim);
    }

    const typeId = await r.u32(label);
    const layout = ggmlTypeLayout(typeId);
    if (!layout) {
      throw r.corrupt(`the tensor "${name}" has the unknown ggml type ${typeId}: a damaged file, or a quantisation newer than this app's llama.cpp`);
    }
    const rowElements = dims[0] ?? 1n;
    if (rowElements % BigInt(layout.blockElements) !== 0n) {
      throw r.corrupt(`the tensor "${name}" has rows of ${rowElements} elements, which type ${layout.name} cannot hold (blocks of ${layout.blockElements})`);
    }
    const bytes = (elements / BigInt(layout.blockElements)) * BigInt(layout.blockBytes);
    if (bytes > BigInt(r.size)) throw r.truncated(`the data of tensor "${name}" (${dims.join(" x ")} ${layout.name})`, bytes);
    const offset = await r.u64(label);
    tensors.push({ name, dims: dims.map(Number), typeId, typeName: layout.name, bytes: Number(bytes), fileOffset: 0, offset });
  }
  return tensors;
}

/** llama.cpp requires each tensor to start where the previous one ends, padded to the alignment. */
function placeTensors(r: BoundedReader, tensors: TensorInfo[], dataOffset: number, alignment: number) {
  let expected = 0n;
  let previous: string | undefined;
  const align = BigInt(alignment);
  for (const tensor of tensors) {
    if (tensor.offset % align !== 0n) throw r.corrupt(`the tensor "${tensor.name}" starts at offset ${tensor.offset}, which is not a multiple of the alignment ${alignment}`);
    if (tensor.offset !== expected) {
      throw r.corrupt(
        `the tensor "${tensor.name}" starts at offset ${tensor.offset} of the data section, but ` +
          (previous ? `"${previous}" ends at ${expected}` : "the first tensor must start at 0") + " (tensor offsets overlap or leave gaps)",
      );
    }
    const end = BigInt(dataOffset) + tensor.offset + BigInt(tensor.bytes);
    if (end > BigInt(r.size)) throw r.truncated(`the data of tensor "${tensor.name}"`, end - BigInt(r.position), end);
    tensor.fileOffset = dataOffset + Number(tensor.offset);
    expected = tensor.offset + ((BigInt(tensor.bytes) + align - 1n) / align) * align;
    previous = tensor.name;
  }
}

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/**
 * Sequential reader over a window of the file (at most WINDOW bytes in memory). Every read is checked
 * against the file's size first, so a lying length becomes an error, never an allocation or a loop.
 * Reads that the window already holds are synchronous; only refills await.
 */
class BoundedReader {
  private static readonly WINDOW = 1 << 20;
  private readonly buffer = Buffer.allocUnsafe(BoundedReader.WINDOW);
  private start = 0; // file position of buffer[0]
  private end = 0; // file position after the last valid byte in buffer
  position = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    readonly name: string,
  ) {}

  get remaining(): number {
    return this.size - this.position;
  }

  truncated(what: string, needed: number | bigint, endsAt?: bigint): EngineError {
    return this.truncatedBecause(
      endsAt !== undefined
        ? `${what} ends at byte ${endsAt}, but the file has only ${this.size} bytes`
        : `${what} needs ${needed} bytes, but ${this.left()}`,
    );
  }

  private truncatedBecause(problem: string): EngineError {
    return new EngineError("TRUNCATED_GGUF", `${this.name} is truncated or damaged: ${problem}. An interrupted download or copy? Download the model again.`);
  }

  private left(): string {
    return `only ${Math.max(0, this.remaining)} of its ${this.size} bytes are left at byte ${this.position}`;
  }

  corrupt(what: string): EngineError {
    return new EngineError("CORRUPT_GGUF", `${this.name} is damaged and cannot be loaded: ${what}. Download the model again, or pick another GGUF.`);
  }

  /** Throws unless `count` items of at least `itemBytes` each fit in what is left after `reserved` bytes. */
  expectCount(count: bigint, itemBytes: number, claim: string, reserved = 0n) {
    const needed = count * BigInt(itemBytes);
    if (needed > BigInt(this.remaining) - reserved) {
      throw this.truncatedBecause(`${claim}; at ${itemBytes} bytes or more each they need ${needed} bytes, but ${this.left()}`);
    }
  }

  async peekStart(n: number): Promise<Buffer> {
    await this.fill(Math.min(n, this.size));
    return this.buffer.subarray(0, Math.min(n, this.end));
  }

  skip(n: number) {
    this.position += n;
  }

  /** Skips bytes that must exist in the file (array items nobody needs). */
  async skipBytes(n: number, what: string) {
    if (n > this.remaining) throw this.truncated(what, n);
    this.position += n;
  }

  /** Index in the buffer of `n` bytes at the position if the window holds them (and advances), else -1. */
  private takeBuffered(n: number): number {
    if (this.position < this.start || this.position + n > this.end || n > this.remaining) return -1;
    const at = this.position - this.start;
    this.position += n;
    return at;
  }

  /** Makes `n` bytes at the position readable (n <= WINDOW) and returns their index in the buffer. */
  private async take(n: number, what: string): Promise<number> {
    const buffered = this.takeBuffered(n);
    if (buffered >= 0) return buffered;
    if (n > this.remaining) throw this.truncated(what, n);
    await this.fill(n);
    const at = this.position - this.start;
    this.position += n;
    return at;
  }

  private async fill(n: number) {
    const want = Math.min(this.buffer.length, this.size - this.position);
    const { bytesRead } = await this.handle.read(this.buffer, 0, want, this.position);
    this.start = this.position;
    this.end = this.position + bytesRead;
    // the file shrank while we read it
    if (bytesRead < n) throw this.truncated("the header", n);
  }

  async u32(what: string): Promise<number> {
    const at = await this.take(4, what);
    return this.buffer.readUInt32LE(at);
  }

  async u64(what: string): Promise<bigint> {
    const at = await this.take(8, what);
    return this.buffer.readBigUInt64LE(at);
  }

  async scalar(code: number, what: string): Promise<number | bigint | boolean> {
    const b = this.buffer;
    switch (VALUE_TYPES[code]![0]) {
      case "u8": return b.readUInt8(await this.take(1, what));
      case "i8": return b.readInt8(await this.take(1, what));
      case "u16": return b.readUInt16LE(await this.take(2, what));
      case "i16": return b.readInt16LE(await this.take(2, what));
      case "u32": return b.readUInt32LE(await this.take(4, what));
      case "i32": return b.readInt32LE(await this.take(4, what));
      case "f32": return b.readFloatLE(await this.take(4, what));
      case "bool": return b.readUInt8(await this.take(1, what)) !== 0;
      case "u64": return b.readBigUInt64LE(await this.take(8, what));
      case "i64": return b.readBigInt64LE(await this.take(8, what));
      case "f64": return b.readDoubleLE(await this.take(8, what));
      default: throw new Error(`not a scalar type: ${code}`);
    }
  }

  /**
   * A GGUF string (u64 length + bytes). Longer than `max` is corrupt; the text is decoded only up to
   * `keep` bytes (else `value` is undefined and the bytes are skipped).
   */
  async string(what: string, max: number, keep: number): Promise<{ length: number; value: string | undefined }> {
    const length = this.stringLength(await this.take(8, what), what, max);
    if (length > keep || length > BoundedReader.WINDOW) {
      this.position += length;
      return { length, value: undefined };
    }
    const at = await this.take(length, what);
    return { length, value: this.buffer.toString("utf8", at, at + length) };
  }

  /** Skips a string without awaiting when the window holds its length; false (nothing consumed) otherwise. */
  skipStringBuffered(what: string, max: number): boolean {
    const lengthAt = this.takeBuffered(8);
    if (lengthAt < 0) return false;
    this.position += this.stringLength(lengthAt, what, max);
    return true;
  }

  /** Appends a string to `list` without awaiting when the window holds all of it; false otherwise. */
  copyStringBuffered(list: StringListBuilder, what: string): boolean {
    const before = this.position;
    const lengthAt = this.takeBuffered(8);
    if (lengthAt < 0) return false;
    const length = this.stringLength(lengthAt, what, KEPT_STRING_BYTES);
    const at = this.takeBuffered(length);
    if (at < 0) {
      this.position = before;
      return false;
    }
    list.push(this.buffer, at, length);
    return true;
  }

  async copyString(list: StringListBuilder, what: string) {
    const length = this.stringLength(await this.take(8, what), what, KEPT_STRING_BYTES);
    const at = await this.take(length, what);
    list.push(this.buffer, at, length);
  }

  private stringLength(at: number, what: string, max: number): number {
    const low = this.buffer.readUInt32LE(at);
    const high = this.buffer.readUInt32LE(at + 4);
    if (high > 0 || low > this.remaining) {
      const claimed = (BigInt(high) << 32n) + BigInt(low);
      throw this.truncatedBecause(`${what} is a string of ${claimed} bytes, but ${this.left()}`);
    }
    if (low > max) throw this.corrupt(`${what} is a string of ${low} bytes; the limit is ${max}`);
    return low;
  }
}

/** Collects the raw bytes of a string array's items, bounded by MAX_KEPT_BYTES. */
class StringListBuilder {
  private bytes = Buffer.allocUnsafe(1 << 20);
  private used = 0;
  private count = 0;
  private readonly ends: Uint32Array;

  constructor(
    length: number,
    private readonly reader: BoundedReader,
  ) {
    this.ends = new Uint32Array(length);
  }

  push(source: Buffer, at: number, length: number) {
    if (this.used + length > this.bytes.length) {
      if (this.used + length > MAX_KEPT_BYTES) throw this.reader.corrupt(`its vocabulary holds more than ${MAX_KEPT_BYTES} bytes of text`);
      const grown = Buffer.allocUnsafe(Math.min(MAX_KEPT_BYTES, Math.max(2 * this.bytes.length, this.used + length)));
      this.bytes.copy(grown, 0, 0, this.used);
      this.bytes = grown;
    }
    // tokens are a few bytes long: a plain loop beats Buffer.copy's call overhead
    for (let k = 0; k < length; k++) this.bytes[this.used + k] = source[at + k]!;
    this.used += length;
    this.ends[this.count++] = this.used;
  }

  done(): StringList {
    return { bytes: this.bytes.subarray(0, this.used), ends: this.ends };
  }
}

// A little-endian byte builder that grows as needed; used to serialise GGUF headers.

const encoder = new TextEncoder();

export class ByteBuilder {
    private buffer = new Uint8Array(1 << 16);
    private view = new DataView(this.buffer.buffer);
    private used = 0;

    get length(): number {
        return this.used;
    }

    bytes(): Uint8Array {
        return this.buffer.subarray(0, this.used);
    }

    /** Claims `extra` bytes and returns their offset (may replace `view`, so call before using it). */
    private reserve(extra: number): number {
        const at = this.used;
        if (at + extra > this.buffer.length) {
            let capacity = this.buffer.length;
            while (at + extra > capacity) capacity *= 2;
            const grown = new Uint8Array(capacity);
            grown.set(this.buffer.subarray(0, at));
            this.buffer = grown;
            this.view = new DataView(grown.buffer);
        }
        this.used += extra;
        return at;
    }

    u8(v: number): void { const at = this.reserve(1); this.view.setUint8(at, v); }
    i8(v: number): void { const at = this.reserve(1); this.view.setInt8(at, v); }
    u16(v: number): void { const at = this.reserve(2); this.view.setUint16(at, v, true); }
    i16(v: number): void { const at = this.reserve(2); this.view.setInt16(at, v, true); }
    u32(v: number): void { const at = this.reserve(4); this.view.setUint32(at, v, true); }
    i32(v: number): void { const at = this.reserve(4); this.view.setInt32(at, v, true); }
    f32(v: number): void { const at = this.reserve(4); this.view.setFloat32(at, v, true); }
    f64(v: number): void { const at = this.reserve(8); this.view.setFloat64(at, v, true); }
    u64(v: number | bigint): void { const at = this.reserve(8); this.view.setBigUint64(at, BigInt(v), true); }
    i64(v: number | bigint): void { const at = this.reserve(8); this.view.setBigInt64(at, BigInt(v), true); }

    raw(data: Uint8Array): void {
        const at = this.reserve(data.length);
        this.buffer.set(data, at);
    }

    /** GGUF string: u64 byte length, then UTF-8 bytes without terminator. */
    string(s: string): void {
        const data = encoder.encode(s);
        this.u64(data.length);
        this.raw(data);
    }

    zeros(count: number): void {
        const at = this.reserve(count);
        this.buffer.fill(0, at, at + count);
    }
}

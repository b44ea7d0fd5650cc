// Encoders (and reference decoders, used by tests) for the tensor element formats we write.
// Written from the format definitions:
//   F16  : IEEE 754 binary16, little endian.
//   Q8_0 : blocks of 32 -> f16 scale d = max|x|/127, then 32 int8 q, x ~= d*q.
//   Q4_0 : blocks of 32 -> f16 scale d = m/-8 where m is the element of largest magnitude (sign kept),
//          then 16 bytes; element j sits in the low nibble of byte j, element j+16 in the high nibble,
//          each nibble stores q+8, x ~= d*(nibble-8).

import { GGML_BLOCK, type GgmlTypeName } from "./types.js";

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** float32 -> binary16 bits, round to nearest, ties to even (what hardware conversion does). */
export function f32ToF16Bits(value: number): number {
    scratchF32[0] = value;
    const bits = scratchU32[0]!;
    const sign = (bits >>> 16) & 0x8000;
    const exponent = (bits >>> 23) & 0xff;
    let mantissa = bits & 0x7fffff;

    if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0); // inf / NaN
    const halfExponent = exponent - 127 + 15;
    if (halfExponent >= 0x1f) return sign | 0x7c00; // too large: infinity

    if (halfExponent <= 0) {
        // result is subnormal (or zero): shift the 24-bit significand into 10 bits
        if (halfExponent < -10) return sign;
        mantissa |= 0x800000;
        const shift = 14 - halfExponent;
        let half = mantissa >>> shift;
        const rest = mantissa & ((1 << shift) - 1);
        const midpoint = 1 << (shift - 1);
        if (rest > midpoint || (rest === midpoint && (half & 1) !== 0)) half++;
        return sign | half;
    }

    let half = (halfExponent << 10) | (mantissa >>> 13);
    const rest = mantissa & 0x1fff;
    // a carry out of the mantissa correctly bumps the exponent (up to infinity)
    if (rest > 0x1000 || (rest === 0x1000 && (half & 1) !== 0)) half++;
    return sign | half;
}

export function f16BitsToF32(bits: number): number {
    const sign = (bits & 0x8000) !== 0 ? -1 : 1;
    const exponent = (bits >>> 10) & 0x1f;
    const mantissa = bits & 0x3ff;
    if (exponent === 0) return sign * mantissa * 2 ** -24;
    if (exponent === 0x1f) return mantissa !== 0 ? Number.NaN : sign * Number.POSITIVE_INFINITY;
    return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Bytes needed to encode `count` elements as `type`. */
export function encodedSize(type: GgmlTypeName, count: number): number {
    const block = GGML_BLOCK[type];
    if (count % block.elements !== 0) throw new Error(`${type}: ${count} is not a multiple of ${block.elements}`);
    return (count / block.elements) * block.bytes;
}

/**
 * Encodes `src` as `type` into `dst` starting at byte `dstOffset`; returns the bytes written.
 * `src.length` must be a whole number of blocks.
 */
export function encodeInto(type: GgmlTypeName, src: Float32Array, dst: Uint8Array, dstOffset: number): number {
    const size = encodedSize(type, src.length);
    if (dstOffset + size > dst.length) throw new Error("encodeInto: destination too small");
    const view = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
    switch (type) {
        case "F32":
            for (let i = 0; i < src.length; i++) view.setFloat32(dstOffset + i * 4, src[i]!, true);
            break;
        case "F16":
            for (let i = 0; i < src.length; i++) view.setUint16(dstOffset + i * 2, f32ToF16Bits(src[i]!), true);
            break;
        case "Q8_0":
            for (let b = 0; b < src.length / 32; b++) encodeQ8_0Block(src, b * 32, dst, view, dstOffset + b * 34);
            break;
        case "Q4_0":
            for (let b = 0; b < src.length / 32; b++) encodeQ4_0Block(src, b * 32, dst, view, dstOffset + b * 18);
            break;
    }
    return size;
}

export function encode(type: GgmlTypeName, src: Float32Array): Uint8Array {
    const out = new Uint8Array(encodedSize(type, src.length));
    encodeInto(type, src, out, 0);
    return out;
}

function encodeQ8_0Block(src: Float32Array, at: number, dst: Uint8Array, view: DataView, out: number): void {
    let maxAbs = 0;
    for (let j = 0; j < 32; j++) {
        const a = Math.abs(src[at + j]!);
        if (a > maxAbs) maxAbs = a;
    }
    const d = maxAbs / 127;
    const inverse = d !== 0 ? 1 / d : 0;
    view.setUint16(out, f32ToF16Bits(d), true);
    for (let j = 0; j < 32; j++) {
        // |x * inverse| <= 127 (plus rounding noise far below 0.5), so no clamping is needed;
        // (v + 0.5) | 0 is roundf for v >= 0, mirrored for negatives
        const v = src[at + j]! * inverse;
        const q = v >= 0 ? (v + 0.5) | 0 : -((0.5 - v) | 0);
        dst[out + 2 + j] = q & 0xff;
    }
}

function encodeQ4_0Block(src: Float32Array, at: number, dst: Uint8Array, view: DataView, out: number): void {
    // the largest-magnitude element maps exactly to -8, the end of the range with one more step
    let signedMax = 0;
    for (let j = 0; j < 32; j++) {
        const x = src[at + j]!;
        if (Math.abs(x) > Math.abs(signedMax)) signedMax = x;
    }
    const d = signedMax === 0 ? 0 : signedMax / -8; // avoid storing -0 for all-zero blocks
    const inverse = d !== 0 ? 1 / d : 0;
    view.setUint16(out, f32ToF16Bits(d), true);
    for (let j = 0; j < 16; j++) {
        const low = Math.min(15, Math.floor(src[at + j]! * inverse + 8.5));
        const high = Math.min(15, Math.floor(src[at + j + 16]! * inverse + 8.5));
        dst[out + 2 + j] = low | (high << 4);
    }
}

/** Reference decoder (tests and sanity checks only). */
export function decode(type: GgmlTypeName, src: Uint8Array, count: number): Float32Array {
    const out = new Float32Array(count);
    const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
    switch (type) {
        case "F32":
            for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
            break;
        case "F16":
            for (let i = 0; i < count; i++) out[i] = f16BitsToF32(view.getUint16(i * 2, true));
            break;
        case "Q8_0":
            for (let b = 0; b < count / 32; b++) {
                const d = f16BitsToF32(view.getUint16(b * 34, true));
                for (let j = 0; j < 32; j++) out[b * 32 + j] = d * view.getInt8(b * 34 + 2 + j);
            }
            break;
        case "Q4_0":
            for (let b = 0; b < count / 32; b++) {
                const d = f16BitsToF32(view.getUint16(b * 18, true));
                for (let j = 0; j < 16; j++) {
                    const byte = src[b * 18 + 2 + j]!;
                    out[b * 32 + j] = d * ((byte & 0x0f) - 8);
                    out[b * 32 + j + 16] = d * ((byte >> 4) - 8);
                }
            }
            break;
    }
    return out;
}

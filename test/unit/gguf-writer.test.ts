import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decode, encode, f16BitsToF32, f32ToF16Bits } from "../../tools/gguf/quant.js";
import { readGgufHeader, readTensorBytes } from "../../tools/gguf/reader.js";
import { alignUp, type GgufValue } from "../../tools/gguf/types.js";
import { GgufWriter } from "../../tools/gguf/writer.js";
import { planModel } from "../../tools/fixtures/architectures.js";
import { buildModel, loadVocab } from "../../tools/fixtures/build.js";
import { GENERATOR_VERSION } from "../../tools/fixtures/manifest.js";
import { BENCH_SPECS, FIXTURE_SPECS, type ModelSpec } from "../../tools/fixtures/models.js";
import { Prng } from "../../tools/fixtures/prng.js";

let dir: string;
beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "lynx-gguf-"));
});
afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
});

function sha256(filePath: string): string {
    return crypto.createHash("sha256").update(fs.readFileSync(filePath)).digest("hex");
}

/** One value per GGUF type, including edge values that catch sign/width mistakes. */
const ALL_TYPES: Array<[string, GgufValue]> = [
    ["t.u8", { type: "u8", value: 250 }],
    ["t.i8", { type: "i8", value: -100 }],
    ["t.u16", { type: "u16", value: 65000 }],
    ["t.i16", { type: "i16", value: -32000 }],
    ["t.u32", { type: "u32", value: 4_000_000_000 }],
    ["t.i32", { type: "i32", value: -2_000_000_000 }],
    ["t.f32", { type: "f32", value: -1.5 }],
    ["t.f64", { type: "f64", value: Math.PI }],
    ["t.bool_true", { type: "bool", value: true }],
    ["t.bool_false", { type: "bool", value: false }],
    ["t.string", { type: "string", value: "héllo ✓ 漢字 <|im_end|>" }],
    ["t.empty_string", { type: "string", value: "" }],
    ["t.u64", { type: "u64", value: 2n ** 60n + 3n }],
    ["t.i64", { type: "i64", value: -(2n ** 60n) - 5n }],
    ["t.arr_u8", { type: "array", itemType: "u8", items: [0, 1, 255] }],
    ["t.arr_i32", { type: "array", itemType: "i32", items: [-1, 0, 2_147_483_647] }],
    ["t.arr_f32", { type: "array", itemType: "f32", items: [0.5, -0.25, 1024] }],
    ["t.arr_f64", { type: "array", itemType: "f64", items: [0.1, -1e300] }],
    ["t.arr_bool", { type: "array", itemType: "bool", items: [true, false, true] }],
    ["t.arr_string", { type: "array", itemType: "string", items: ["a", "", "Ġ Ġ", "漢字"] }],
    ["t.arr_u64", { type: "array", itemType: "u64", items: [0n, 2n ** 63n] }],
    ["t.arr_empty", { type: "array", itemType: "i16", items: [] }],
    [
        "t.arr_nested",
        {
            type: "array",
            itemType: "array",
            items: [
                { type: "array", itemType: "u16", items: [1, 2] },
                { type: "array", itemType: "u16", items: [3] }
            ]
        }
    ]
];

describe("GGUF metadata", () => {
    it("round-trips every value type with its exact type (own reader)", () => {
        const file = path.join(dir, "meta.gguf");
        new GgufWriter().setAll(ALL_TYPES).writeToFile(file);
        const header = readGgufHeader(file);
        expect(header.version).toBe(3);
        expect(header.metadata.get("general.alignment")).toEqual({ type: "u32", value: 32 });
        for (const [key, value] of ALL_TYPES) expect(header.metadata.get(key), key).toEqual(value);
        expect([...header.metadata.keys()]).toEqual(["general.alignment", ...ALL_TYPES.map(([k]) => k)]);
    });

    it("is read back equal by node-llama-cpp's independent parser", async () => {
        const file = path.join(dir, "meta-nlc.gguf");
        new GgufWriter().setAll(ALL_TYPES).writeToFile(file);
        const info = await readGgufFileInfo(file, { logWarnings: false });
        const t = (info.metadata as unknown as { t: Record<string, unknown> }).t;
        for (const [key, value] of ALL_TYPES) {
            const got = t[key.slice(2)];
            // node-llama-cpp returns 64-bit integers as number or bigint depending on size and
            // context, so compare those as bigint
            const canonical = (v: unknown): unknown => (typeof v === "bigint" || typeof v === "number" ? BigInt(v) : v);
            if (value.type === "array") {
                if (value.itemType === "array") {
                    expect(got, key).toEqual(value.items.map((inner) => inner.items));
                } else if (value.itemType === "u64" || value.itemType === "i64") {
                    expect((got as unknown[]).map(canonical), key).toEqual(value.items);
                } else {
                    expect(got, key).toEqual(value.items);
                }
            } else if (value.type === "u64" || value.type === "i64") {
                expect(canonical(got), key).toEqual(value.value);
            } else {
                expect(got, key).toEqual(value.value);
            }
        }
    });

    it("rejects values that do not fit their declared type", () => {
        expect(() => new GgufWriter().set("x", { type: "u8", value: 256 })).toThrow();
        expect(() => new GgufWriter().set("x", { type: "i32", value: 1.5 })).toThrow();
        expect(() => new GgufWriter().set("x", { type: "u32", value: -1 })).toThrow();
    });
});

describe("GGUF tensors", () => {
    // odd sizes so that every tensor needs padding before the next one
    const f32Values = new Float32Array([1.25, -2, 3.5]);
    const f16Values = new Float32Array([0.5, -0.75, 2048, 1 / 1024, -65504]);
    const q8Values = new Float32Array(64).map((_, i) => (i - 32) / 4);
    const q4Values = new Float32Array(96).map((_, i) => Math.sin(i));

    function writeTensors(file: string, alignment: number): void {
        const writer = new GgufWriter({ alignment });
        writer.set("general.architecture", { type: "string", value: "test" });
        writer.addTensor({ name: "a.f32", shape: [3], type: "F32", data: f32Values });
        writer.addTensor({ name: "b.f16", shape: [5], type: "F16", data: f16Values });
        // streamed in two chunks of whole blocks
        writer.addTensor({
            name: "c.q8",
            shape: [32, 2],
            type: "Q8_0",
            data: function* () {
                yield q8Values.subarray(0, 32);
                yield q8Values.subarray(32);
            }
        });
        // pre-encoded bytes are passed through untouched
        writer.addTensor({ name: "d.q4", shape: [32, 3], type: "Q4_0", data: () => [encode("Q4_0", q4Values)] });
        writer.writeToFile(file);
    }

    for (const alignment of [32, 64]) {
        it(`places every tensor at an aligned, contiguous offset (alignment ${alignment})`, async () => {
            const file = path.join(dir, `tensors-${alignment}.gguf`);
            writeTensors(file, alignment);
            const header = readGgufHeader(file);
            const sizes = [12, 10, 68, 54];
            expect(header.alignment).toBe(alignment);
            expect(header.dataOffset % alignment).toBe(0);
            let expected = 0;
            header.tensors.forEach((t, i) => {
                expect(t.offset, t.name).toBe(expected);
                expect(t.fileOffset % alignment, t.name).toBe(0);
                expected = alignUp(expected + sizes[i]!, alignment);
            });
            expect(fs.statSync(file).size).toBe(header.dataOffset + expected);

            // node-llama-cpp computes the same file offsets from the header alone
            const info = await readGgufFileInfo(file, { logWarnings: false });
            expect(info.fullTensorInfo?.map((t) => Number(t.fileOffset))).toEqual(header.tensors.map((t) => t.fileOffset));
            expect(info.fullTensorInfo?.map((t) => t.dimensions.map(Number))).toEqual([[3], [5], [32, 2], [32, 3]]);
            expect(info.fullTensorInfo?.map((t) => t.ggmlType)).toEqual([0, 1, 8, 2]);

            const read = (i: number, count: number) => {
                const t = header.tensors[i]!;
                return decode(t.typeName!, readTensorBytes(file, t, sizes[i]!), count);
            };
            expect(read(0, 3)).toEqual(f32Values);
            expect(read(1, 5)).toEqual(f16Values); // all exactly representable in f16
            const q8 = read(2, 64);
            q8Values.forEach((v, i) => expect(Math.abs(q8[i]! - v)).toBeLessThan(0.04));
            expect(read(3, 96)).toEqual(decode("Q4_0", encode("Q4_0", q4Values), 96));
        });
    }

    it("refuses data of the wrong length and leaves no file behind", () => {
        const file = path.join(dir, "short.gguf");
        const writer = new GgufWriter();
        writer.addTensor({ name: "x", shape: [64], type: "F32", data: new Float32Array(32) });
        expect(() => writer.writeToFile(file)).toThrow(/expected 256/);
        expect(fs.readdirSync(dir).filter((f) => f.startsWith("short.gguf"))).toEqual([]);
    });

    it("refuses quantised rows that are not whole blocks", () => {
        expect(() => new GgufWriter().addTensor({ name: "x", shape: [48, 2], type: "Q8_0", data: new Float32Array(96) })).toThrow();
    });
});

describe("f16", () => {
    it("rounds to nearest, ties to even, with subnormals and overflow", () => {
        expect(f32ToF16Bits(1)).toBe(0x3c00);
        expect(f32ToF16Bits(-2)).toBe(0xc000);
        expect(f32ToF16Bits(65504)).toBe(0x7bff);
        expect(f32ToF16Bits(65520)).toBe(0x7c00); // rounds up past the largest finite value
        expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie -> even (down)
        expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie -> even (up)
        expect(f32ToF16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
        expect(f32ToF16Bits(2 ** -25)).toBe(0x0000); // tie -> even (zero)
        expect(f32ToF16Bits(3 * 2 ** -25)).toBe(0x0002);
        expect(f32ToF16Bits(2 ** -14 - 2 ** -25)).toBe(0x0400); // largest subnormal rounds up to normal
        expect(f32ToF16Bits(-0)).toBe(0x8000);
        expect(f32ToF16Bits(Number.NaN) & 0x7c00).toBe(0x7c00);
        expect(f16BitsToF32(0x3555)).toBeCloseTo(0.333, 3);
        expect(f16BitsToF32(0x0001)).toBe(2 ** -24);
    });
});

describe("quantisation", () => {
    it("Q8_0 has the exact block layout: f16 d = max|x|/127, then int8 q = round(x/d)", () => {
        const x = new Float32Array(32);
        x.set([127, -127, 0.5, -0.5, 2.4, -2.6]);
        const bytes = encode("Q8_0", x);
        expect(bytes.length).toBe(34);
        // d = 1.0 -> 0x3c00 little endian; halves round away from zero
        expect([...bytes.subarray(0, 8)]).toEqual([0x00, 0x3c, 0x7f, 0x81, 0x01, 0xff, 0x02, 0xfd]);
        expect([...bytes.subarray(8)]).toEqual(new Array(26).fill(0));
    });

    it("Q4_0 has the exact block layout: d = m/-8, j in low nibble, j+16 in high nibble, +8 offset", () => {
        const x = new Float32Array(32);
        x.set([-8, 7, 8, 0]);
        x.set([-3, 2.5, 1.49], 16);
        const bytes = encode("Q4_0", x);
        expect(bytes.length).toBe(18);
        // m = -8 -> d = 1 (0x3c00); q = min(15, floor(x/d + 8.5))
        expect([...bytes.subarray(0, 6)]).toEqual([0x00, 0x3c, 0x50, 0xbf, 0x9f, 0x88]);
        expect([...bytes.subarray(6)]).toEqual(new Array(12).fill(0x88));

        // a positive extreme gives a negative scale and still maps to nibble 0
        const y = new Float32Array(32);
        y[0] = 8;
        const positive = encode("Q4_0", y);
        expect([positive[0], positive[1], positive[2]]).toEqual([0x00, 0xbc, 0x80]);
        expect(decode("Q4_0", positive, 32)[0]).toBe(8);
    });

    it("all-zero blocks encode to zero scale and decode to zeros", () => {
        for (const type of ["Q8_0", "Q4_0"] as const) {
            expect([...decode(type, encode(type, new Float32Array(64)), 64)]).toEqual(new Array(64).fill(0));
        }
    });

    it("quantise-dequantise error stays within half a step (Q8_0) and one step (Q4_0) per block", () => {
        const prng = new Prng(42);
        const x = new Float32Array(32 * 256);
        prng.fillNormal(x, 0.05);
        x[5] = 3; // an outlier block
        for (const [type, stepsPerMax, bound] of [["Q8_0", 127, 0.5], ["Q4_0", 8, 1]] as const) {
            const y = decode(type, encode(type, x), x.length);
            let sumSq = 0;
            for (let b = 0; b < x.length / 32; b++) {
                let maxAbs = 0;
                for (let j = 0; j < 32; j++) maxAbs = Math.max(maxAbs, Math.abs(x[b * 32 + j]!));
                const step = maxAbs / stepsPerMax;
                for (let j = 0; j < 32; j++) {
                    const err = Math.abs(y[b * 32 + j]! - x[b * 32 + j]!);
                    if (b > 0) sumSq += err * err; // block 0 holds the outlier
                    // the scale is stored as f16 (relative error <= 2^-11), which moves a decoded
                    // value by at most |q*d| * 2^-11 <= maxAbs * 2^-11
                    expect(err).toBeLessThanOrEqual(step * bound + maxAbs * 2 ** -11 * 1.01 + 1e-12);
                }
            }
            const relativeRms = Math.sqrt(sumSq / (x.length - 32)) / 0.05;
            expect(relativeRms).toBeLessThan(type === "Q8_0" ? 0.01 : 0.12);
        }
    });
});

describe("fixture generation", () => {
    const SMALL: ModelSpec = {
        kind: "model",
        group: "fixture",
        name: "determinism-check",
        description: "unit test",
        architecture: "qwen3moe",
        vocab: "llama-spm",
        seed: 7,
        contextLength: 256,
        embd: 64,
        layers: 1,
        heads: 4,
        headsKv: 2,
        headDim: 16,
        moe: { experts: 8, expertsUsed: 2, expertFf: 32, gating: "softmax", normalizeTopK: true, routerLogitStd: 2 },
        types: { embedding: "Q4_0", output: "Q8_0", attention: "F16", ffn: "Q8_0" }
    };

    it("is deterministic: same spec and seed give identical bytes; another seed does not", () => {
        const a = path.join(dir, "a.gguf");
        const b = path.join(dir, "b.gguf");
        const c = path.join(dir, "c.gguf");
        buildModel(SMALL, a);
        buildModel(SMALL, b);
        buildModel({ ...SMALL, seed: 8 }, c);
        expect(sha256(a)).toBe(sha256(b));
        expect(sha256(c)).not.toBe(sha256(a));
        expect(fs.statSync(c).size).toBe(fs.statSync(a).size);
    });

    it("matches the golden hash of this generator version (bump GENERATOR_VERSION if the output changed on purpose)", () => {
        const file = path.join(dir, "golden.gguf");
        buildModel(SMALL, file);
        expect({ version: GENERATOR_VERSION, hash: sha256(file) }).toEqual({
            version: 1,
            hash: "135289dfd341f13cd8f0813ed8a85416eb28394de4a8c338a9746b86995f8238"
        });
    });

    it("copies the tokenizer with exact types and sizes token_embd to the vocabulary", () => {
        const file = path.join(dir, "vocab.gguf");
        buildModel(SMALL, file);
        const header = readGgufHeader(file);
        const vocab = loadVocab("llama-spm");
        for (const [key, value] of vocab.entries) expect(header.metadata.get(key), key).toEqual(value);
        expect(header.tensors.find((t) => t.name === "token_embd.weight")?.shape).toEqual([64, vocab.size]);
    });

    it("plans every spec, with at least 8 experts and consistent top-k for MoE models", () => {
        for (const spec of [...FIXTURE_SPECS, ...BENCH_SPECS]) {
            if (spec.kind !== "model") continue;
            const plan = planModel(spec, 1000);
            const names = plan.tensors.map((t) => t.name);
            expect(new Set(names).size, spec.name).toBe(names.length);
            if (spec.moe) {
                expect(spec.moe.experts, spec.name).toBeGreaterThanOrEqual(8);
                expect(spec.moe.expertsUsed, spec.name).toBeLessThan(spec.moe.experts);
                const router = plan.tensors.find((t) => t.name.endsWith("ffn_gate_inp.weight"));
                expect(router?.shape, spec.name).toEqual([spec.embd, spec.moe.experts]);
            }
        }
    });
});

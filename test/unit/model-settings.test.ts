import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { PruneProfile } from "../../electron/api/contract.js";
import { defaultModelSettings, modelFingerprint, openModelSettingsStore } from "../../electron/store/index.js";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "lynx-model-settings-"));

function writeBytes(file: string, size: number, seed: number) {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) & 0xff;
  fs.writeFileSync(file, bytes);
}

const profile: PruneProfile = {
  measuredAt: 1,
  quick: true,
  chats: 8,
  thresholds: { agreement: 0.99, klMean: 0.02 },
  positions: 400,
  distinctOff: 8.2,
  settings: [{ name: "gentle", setting: { mode: "preset", preset: "gentle" }, description: "affinity alpha=3 beta=4", agreement: 0.995, klMean: 0.01, klP95: 0.04, distinctAfter: 6.5, distinctReduction: 0.2, bytesSaved: 0.2, speedup: 1.1 }],
  auto: null,
  seconds: 60,
};

describe("per-model settings", () => {
  it("fingerprints by content: a moved file keeps it, a changed byte at either end or a new size changes it", () => {
    const dir = tmp();
    const a = path.join(dir, "a.gguf");
    writeBytes(a, 3 << 20, 1);
    const fp = modelFingerprint(a);
    expect(fp).toMatch(/^[0-9a-f]{32}$/);
    const moved = path.join(dir, "moved.gguf");
    fs.renameSync(a, moved);
    expect(modelFingerprint(moved)).toBe(fp);
    const bytes = fs.readFileSync(moved);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    fs.writeFileSync(moved, bytes);
    expect(modelFingerprint(moved)).not.toBe(fp);
    const small = path.join(dir, "small.gguf");
    writeBytes(small, 100, 1);
    expect(modelFingerprint(small)).toMatch(/^[0-9a-f]{32}$/);
  });

  it("remembers settings across reopenings and applies defaults for an unknown model", () => {
    const dir = tmp();
    const store = openModelSettingsStore(dir);
    const fp = "0123456789abcdef0123456789abcdef";
    expect(store.get(fp)).toEqual(defaultModelSettings);
    store.update(fp, { contextSize: 4096, maxChats: 8, defaultPruning: { mode: "preset", preset: "balanced" } }, { path: "/m/a.gguf", size: 10 });
    store.update(fp, { pruneProfile: profile }, { path: "/m/a.gguf", size: 10 });
    const again = openModelSettingsStore(dir);
    expect(again.get(fp)).toEqual({ contextSize: 4096, maxChats: 8, threads: null, defaultPruning: { mode: "preset", preset: "balanced" }, pruneProfile: profile });
    again.remove(fp);
    expect(openModelSettingsStore(dir).get(fp)).toEqual(defaultModelSettings);
  });

  it("refuses invalid settings without saving them", () => {
    const dir = tmp();
    const store = openModelSettingsStore(dir);
    const fp = "0123456789abcdef0123456789abcdef";
    expect(() => store.update(fp, { maxChats: 99 }, { path: "x", size: 1 })).toThrow(/invalid model settings/);
    expect(() => store.update("../x", { maxChats: 2 }, { path: "x", size: 1 })).toThrow(/fingerprint/);
    expect(fs.existsSync(store.file)).toBe(false);
  });

  it("keeps the readable entries of a damaged file and a copy of the file", () => {
    const dir = tmp();
    const good = "0123456789abcdef0123456789abcdef";
    const store = openModelSettingsStore(dir);
    store.update(good, { threads: 2 }, { path: "/m/a.gguf", size: 10 });
    const content = JSON.parse(fs.readFileSync(store.file, "utf8"));
    content.models["fedcba9876543210fedcba9876543210"] = { maxChats: "many" };
    fs.writeFileSync(store.file, JSON.stringify(content));
    const logs: string[] = [];
    const reopened = openModelSettingsStore(dir, { log: (m) => logs.push(m) });
    expect(reopened.get(good).threads).toBe(2);
    expect(logs.join("\n")).toMatch(/kept 1 model entries/);
    expect(fs.readdirSync(dir).some((f) => f.startsWith("models.json.invalid-"))).toBe(true);

    fs.writeFileSync(store.file, "{ torn");
    const torn = openModelSettingsStore(dir, { log: (m) => logs.push(m) });
    expect(torn.get(good)).toEqual(defaultModelSettings);
    expect(logs.at(-1)).toMatch(/unreadable/);
  });

  it("refuses a file written by a newer version instead of overwriting it", () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, "models.json"), JSON.stringify({ version: 99, models: {} }));
    expect(() => openModelSettingsStore(dir)).toThrow(/version 99/);
  });
});

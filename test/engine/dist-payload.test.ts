// The app payload on the native engine build (the short variant of `npm run dist` + `npm run dist:check`; the
// portable build takes 30+ minutes to compile and is checked by hand, see docs/packaging.md): packed from the
// package manifest with @electron/asar, then opened and run by dist:check in plain Node. A payload with a missing
// native module must fail with that module named.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { distCheck } from "../../tools/dist/dist-check.js";
import { packPayload } from "../../tools/dist/pack-payload.js";
import { packagedEngine, payloadRules } from "../../tools/dist/payload-files.js";
import { buildApp, projectRoot } from "../helpers/built-app.js";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "lynx-payload-"));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe("app payload (native engine)", () => {
  it("packs, and dist:check finds everything the packaged main needs", async () => {
    buildApp();
    const engine = packagedEngine(projectRoot, { LYNX_ENGINE_BUILD: "native" });
    expect(engine.folder, "the native engine build (npm run build:engine)").not.toBeNull();
    const packed = await packPayload(projectRoot, path.join(work, "payload"), payloadRules(projectRoot, engine.folder));
    const unpacked = path.join(packed.resourcesDir, "app.asar.unpacked", "node_modules");
    // only the packaged engine build, without its cmake tree; no prebuilt binaries
    expect(fs.readdirSync(path.join(unpacked, "node-llama-cpp", "llama", "localBuilds"))).toEqual([engine.folder]);
    expect(fs.readdirSync(path.join(unpacked, "node-llama-cpp", "llama", "localBuilds", engine.folder!)).sort()).toEqual([".lynx-key", "Release", "buildDone.status"]);
    expect(fs.existsSync(path.join(unpacked, "@node-llama-cpp"))).toBe(false);

    const result = await distCheck({ payload: path.join(work, "payload") });
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.engine?.flavor).toBe("native");
    expect(result.sizes.modelsBytes).toBeGreaterThan(1_000_000);
  }, 180_000);

  it("fails with the missing native module named", async () => {
    const koffi = path.join(work, "payload", "resources", "app.asar.unpacked", "node_modules", "@koromix");
    const node = fs.readdirSync(koffi, { recursive: true, encoding: "utf8" }).find((f) => f.endsWith("koffi.node") && !f.includes("musl"));
    expect(node).toBeDefined();
    fs.rmSync(path.join(koffi, node!));
    const result = await distCheck({ payload: path.join(work, "payload") });
    expect(result.ok).toBe(false);
    expect(result.problems.some((p) => p.includes(`@koromix/${node!}`) && p.includes("missing from app.asar.unpacked"))).toBe(true);
  }, 180_000);
});

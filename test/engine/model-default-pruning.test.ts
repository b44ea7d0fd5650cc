// A model's default pruning (ModelSettings.defaultPruning, set from the library's settings form) is applied by the
// host whenever that model loads: on a switch to it and at a start with it; null keeps the setting in force.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createHost } from "../../electron/host/host.js";
import { fixture } from "../helpers/fixtures.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "lynx-default-pruning-"));

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("default pruning per model", () => {
  it("is applied when that model loads; null keeps the current setting", async () => {
    const dataDir = path.join(tmp, "data");
    const other = fixture("olmoe-tiny.gguf");
    let host = await createHost({ modelPath: other, dataDir, maxChats: 2 });
    const a = path.join(host.library!.modelsDir, "model-a.gguf");
    try {
      fs.copyFileSync(fixture("qwen3moe-tiny.gguf"), a);
      await host.setPolicy({ mode: "preset", preset: "gentle" });
      await host.updateModelSettings(a, { defaultPruning: { mode: "preset", preset: "balanced" } });
      const row = (await host.listModels()).models.find((m) => m.path === a)!;
      expect(row.settings?.defaultPruning).toEqual({ mode: "preset", preset: "balanced" });

      await host.loadModel(a);
      expect((await host.getModel()).path).toBe(a);
      let policy = await host.getPolicy();
      expect(policy.setting).toEqual({ mode: "preset", preset: "balanced" });
      expect(policy.effective.kind).not.toBe("off");

      // back to the other model (no default of its own: the setting in force stays), then a setting of the user's
      await host.loadModel(other);
      expect((await host.getPolicy()).setting).toEqual({ mode: "preset", preset: "balanced" });
      await host.setPolicy({ mode: "preset", preset: "aggressive" });
      await host.updateModelSettings(a, { defaultPruning: null });
      await host.loadModel(a);
      policy = await host.getPolicy();
      expect(policy.setting).toEqual({ mode: "preset", preset: "aggressive" });

      // Auto on a model never checked: the setting is Auto, and nothing is pruned until a check measured it
      await host.loadModel(other);
      await host.updateModelSettings(a, { defaultPruning: { mode: "auto" } });
      await host.loadModel(a);
      policy = await host.getPolicy();
      expect(policy.setting).toEqual({ mode: "auto" });
      expect(policy.effective).toEqual({ kind: "off" });

      await host.updateModelSettings(a, { defaultPruning: { mode: "preset", preset: "gentle" } });
    } finally {
      await host.dispose();
    }
    // a start with that model applies its default too (over the app's saved setting)
    host = await createHost({ modelPath: a, dataDir, maxChats: 2 });
    try {
      expect((await host.getPolicy()).setting).toEqual({ mode: "preset", preset: "gentle" });
    } finally {
      await host.dispose();
    }
  }, 120_000);
});

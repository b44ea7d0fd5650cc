// Fit estimates (node-llama-cpp's GgufInsights, electron/models/fit.ts) against what loads really allocate: within
// 20% of llama.cpp's reported buffers for the fixtures and the bundled model, and an over-large request refused.
// The large-model check with RSS is `npm run models:fit-check` (it generates a 1.5 GiB model).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createHost } from "../../electron/host/host.js";
import { ModelLibrary } from "../../electron/models/index.js";
import { measureLoad } from "../../tools/models/measure-fit.js";
import { fixture, root } from "../helpers/fixtures.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "lynx-fit-"));
const library = ModelLibrary.open({ modelsDir: path.join(tmp, "models"), stateDir: null, settings: null });

afterAll(async () => {
  await library.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("fit estimates", () => {
  const files = [fixture("qwen3moe-tiny.gguf"), fixture("olmoe-tiny.gguf"), path.join(root, "resources/models/default.gguf")];
  for (const file of files) {
    it(`${path.basename(file)}: the estimate is within 20% of llama.cpp's allocations`, async () => {
      const request = { contextSize: 2048, maxChats: 4 };
      const fit = await library.estimate(file, request);
      const measured = await measureLoad(file, request.contextSize, request.maxChats);
      const ratio = fit.totalBytes / measured.allocatedBytes;
      console.log(`[fit] ${path.basename(file)}: estimate ${fit.totalBytes}, allocated ${measured.allocatedBytes} (x${ratio.toFixed(3)}), RSS growth ${measured.rssGrowthBytes}`);
      expect(measured.buffers.length).toBeGreaterThanOrEqual(3);
      expect(ratio).toBeGreaterThan(0.8);
      expect(ratio).toBeLessThan(1.2);
    });
  }

  it("refuses an over-large request with the numbers, and a load that cannot fit unless forced", async () => {
    const file = fixture("qwen3moe-tiny.gguf");
    const huge = { contextSize: 1 << 22, maxChats: 16 };
    await expect(library.checkFit(file, huge)).rejects.toMatchObject({ code: "MODEL_TOO_LARGE", message: expect.stringMatching(/needs .* available/) });
    await expect(library.checkFit(file, huge, { force: true })).resolves.toMatchObject({ fits: false });

    const dataDir = path.join(tmp, "host");
    const host = await createHost({ modelPath: fixture("olmoe-tiny.gguf"), dataDir, maxChats: 2 });
    try {
      const target = path.join(host.library!.modelsDir, "big-context.gguf");
      fs.copyFileSync(file, target);
      await host.updateModelSettings(target, { contextSize: 1 << 22 });
      const listed = (await host.listModels()).models.find((m) => m.path === target)!;
      expect(listed.fit?.fits).toBe(false);
      await expect(host.loadModel(target)).rejects.toMatchObject({ code: "MODEL_TOO_LARGE" });
      // the refusal left the current model loaded
      expect((await host.getModel()).path).toBe(fixture("olmoe-tiny.gguf"));
    } finally {
      await host.dispose();
    }
  });
});

// End-to-end: the model library in the browser (web mode as its own process). The library lists the bundled model
// and a fixture; a download from a local server shows its progress and ends in the library; a model whose settings
// cannot fit shows the fit badge and the warning when loaded. A model's default pruning is saved from its settings
// form and shown in its row; the models folder changes to another one (its files listed), a bad path is explained
// inline, and "Use default" returns.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { modelFingerprint, openModelSettingsStore } from "../../electron/store/model-settings.js";
import { ensureRendererBuilt, hasChromium, launchChromium, until } from "../helpers/browser.js";
import { root } from "../helpers/fixtures.js";
import { startModelServer, type ModelServer } from "../helpers/model-server.js";
import { startServer, stopServer, type Server } from "../helpers/web-mode.js";

describe.skipIf(!hasChromium)("model library in the browser", () => {
  let browser: Browser;
  let server: Server;
  let files: ModelServer;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "lynx-e2e-lib-"));
  const fixtures = path.join(root, "test", "fixtures", "models");

  beforeAll(async () => {
    ensureRendererBuilt();
    const models = path.join(dataDir, "models");
    mkdirSync(models, { recursive: true });
    copyFileSync(path.join(fixtures, "qwen3moe-tiny.gguf"), path.join(models, "qwen3moe-tiny.gguf"));
    // a copy whose remembered context (4M tokens x 4 chats) cannot fit any machine this runs on
    const big = path.join(models, "huge-context.gguf");
    copyFileSync(path.join(fixtures, "glm4moe-tiny.gguf"), big);
    openModelSettingsStore(dataDir).update(modelFingerprint(big), { contextSize: 1 << 22 }, { path: big, size: statSync(big).size });
    // 2 MiB/s per connection (ipull opens 3): a few seconds, long enough for the page to show progress
    files = await startModelServer([path.join(fixtures, "olmoe-tiny.gguf")], { throttle: 2 * 1024 * 1024 });
    server = await startServer(dataDir);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    if (server) await stopServer(server);
    await files?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("lists the bundled model and a fixture, and warns about a model that cannot fit", async () => {
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.click("[data-testid=library-toggle]");
    const listed = async () => page.$$eval("[data-testid=library-model]", (els) => els.map((e) => e.getAttribute("data-file")));
    await until("the bundled model and the fixture", async () => {
      const names = await listed();
      return names.includes("default.gguf") && names.includes("qwen3moe-tiny.gguf");
    }, 60_000);

    const badge = await page.$eval('[data-file="huge-context.gguf"] [data-testid=fit-badge]', (e) => e.textContent ?? "");
    expect(badge).toMatch(/does not fit/);
    await page.click('[data-file="huge-context.gguf"] [data-testid=library-load]');
    const warning = await until("the fit warning", async () => page.$eval("[data-testid=fit-warning]", (e) => e.textContent ?? "").catch(() => null), 30_000);
    expect(warning).toMatch(/needs .* available/);
    await page.close();
  });

  // The page must follow the download by the host's events alone: this build runs React's StrictMode checks (vitest's
  // NODE_ENV reaches vite), which once left the panel unsubscribed and frozen at the first list it fetched.
  it("downloads from a local server with progress, ending in the library", async () => {
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.click("[data-testid=library-toggle]");
    const listed = async () => page.$$eval("[data-testid=library-model]", (els) => els.map((e) => e.getAttribute("data-file")));
    await page.fill("[data-testid=download-uri]", `${files.origin}/plain/files/olmoe-tiny.gguf`);
    await page.click("[data-testid=download-start]");
    const percents: number[] = [];
    await until("the download to finish", async () => {
      const text = await page.$eval("[data-testid=download] [data-testid=download-percent]", (e) => e.textContent ?? "").catch(() => "");
      if (text) percents.push(Number(text.replace("%", "")));
      const status = await page.$eval("[data-testid=download]", (e) => e.getAttribute("data-status")).catch(() => null);
      return status === "done";
    }, 60_000);
    // several values between 0 and 100: the page followed the progress events (a frozen panel shows one)
    expect(new Set(percents.filter((p) => p > 0 && p < 100)).size, JSON.stringify(percents)).toBeGreaterThan(1);
    await until("the downloaded file in the library", async () => (await listed()).includes("olmoe-tiny.gguf"), 30_000);

    await page.close();
  });

  it("saves a model's default pruning from its settings form and shows it in the row", async () => {
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.click("[data-testid=library-toggle]");
    const row = '[data-file="qwen3moe-tiny.gguf"]';
    await page.waitForSelector(`${row} [data-testid=library-load]`, { timeout: 60_000 });
    await page.click(`${row} button:has-text("Settings")`);
    // never checked: Auto is not offered (it would prune nothing on this model)
    const options = await page.$$eval(`${row} [data-testid=settings-default-pruning] option`, (els) => els.map((e) => e.textContent ?? ""));
    expect(options).toEqual(["Keep the current setting", "Off", "Gentle", "Balanced", "Aggressive"]);
    await page.selectOption(`${row} [data-testid=settings-default-pruning]`, "balanced");
    await page.click(`${row} [data-testid=settings-save]`);
    const shown = await until("the saved default in the row", async () => page.$eval(`${row} [data-testid=default-pruning]`, (e) => e.textContent ?? "").catch(() => null), 30_000);
    expect(shown).toBe("default pruning: Balanced");
    await page.close();
  });

  it("changes the models folder: another folder's files are listed, a bad path is explained, Use default returns", async () => {
    const other = mkdtempSync(path.join(os.tmpdir(), "lynx-e2e-other-models-"));
    copyFileSync(path.join(fixtures, "qwen3moe-tiny.gguf"), path.join(other, "in-other-folder.gguf"));
    const page = await browser.newPage();
    try {
      await page.goto(server.url);
      await page.click("[data-testid=library-toggle]");
      const listed = async () => page.$$eval("[data-testid=library-model]", (els) => els.map((e) => e.getAttribute("data-file")));
      const folder = async () => page.$eval("[data-testid=models-dir]", (e) => e.textContent ?? "").catch(() => "");
      await until("the default folder", async () => (await folder()) === path.join(dataDir, "models"), 60_000);
      // web mode has no native picker: a path field
      await page.click("[data-testid=models-dir-change]");
      expect(await page.$("[data-testid=models-dir-choose]")).toBeNull();
      await page.fill("[data-testid=models-dir-input]", other);
      await page.click("[data-testid=models-dir-save]");
      await until("the other folder's file in the list", async () => {
        const names = await listed();
        return names.includes("in-other-folder.gguf") && !names.includes("qwen3moe-tiny.gguf");
      }, 30_000);
      expect(await folder()).toBe(other);
      expect(await page.$("[data-testid=models-dir-input]")).toBeNull();

      // refused paths: the host's reason beside the field, the typed text kept, the folder unchanged
      await page.click("[data-testid=models-dir-change]");
      const missing = path.join(other, "no-such-folder");
      await page.fill("[data-testid=models-dir-input]", missing);
      await page.click("[data-testid=models-dir-save]");
      const error = await until("the missing-folder error", async () => page.$eval("[data-testid=models-dir-error]", (e) => e.textContent ?? "").catch(() => null));
      expect(error).toMatch(/does not exist/);
      expect(await page.inputValue("[data-testid=models-dir-input]")).toBe(missing);
      await page.fill("[data-testid=models-dir-input]", "relative/models");
      await page.click("[data-testid=models-dir-save]");
      await until("the relative-path error", async () => /must be an absolute path/.test(await page.$eval("[data-testid=models-dir-error]", (e) => e.textContent ?? "")));
      expect(await page.inputValue("[data-testid=models-dir-input]")).toBe("relative/models");
      expect(await folder()).toBe(other);

      await page.click("[data-testid=models-dir-default]");
      await until("the default folder's files again", async () => {
        const names = await listed();
        return names.includes("qwen3moe-tiny.gguf") && !names.includes("in-other-folder.gguf");
      }, 30_000);
      expect(await folder()).toBe(path.join(dataDir, "models"));
      expect(await page.$("[data-testid=models-dir-error]")).toBeNull();
    } finally {
      await page.close();
      rmSync(other, { recursive: true, force: true });
    }
  });
});

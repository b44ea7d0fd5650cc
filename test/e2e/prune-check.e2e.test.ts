// End-to-end: "Check this model" in the pruning panel of the built renderer, on the real host with a fixture model:
// progress, the plot with Auto marked, the Auto setting; the profile and the Auto choice survive a restart.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHost, type LynxHost } from "../../electron/host/host.js";
import { startWebServer, type WebServer } from "../../electron/server/web-server.js";
import { ensureRendererBuilt, hasChromium, launchChromium, warnIfNoChromium } from "../helpers/browser.js";
import { fixture, root } from "../helpers/fixtures.js";

const modelPath = fixture("qwen3moe-tiny.gguf");
const artifacts = path.join(root, "test", "artifacts");
// a quick check, made smaller still: the e2e test checks the wiring, the engine test the measurements
const pruneCheckSize = { prompts: 4, maxTokens: 8 };
warnIfNoChromium("pruning check e2e test");

describe.skipIf(!hasChromium)("pruning check in the app (web mode, fixture model, headless Chromium)", () => {
  let dataDir: string;
  let host: LynxHost;
  let web: WebServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  const open = async () => {
    host = await createHost({ modelPath, maxChats: 4, threads: 1, dataDir, pruneCheckSize });
    web = await startWebServer({ host, port: 0 });
    page = await (await browser.newContext({ viewport: { width: 1440, height: 920 } })).newPage();
    page.on("pageerror", (e) => pageErrors.push(e.message));
    await page.goto(web.url);
    await page.getByRole("button", { name: /Check this model/ }).waitFor({ timeout: 30_000 });
  };
  const close = async () => {
    await page?.context().close().catch(() => {});
    await web?.close().catch(() => {});
    await host?.dispose().catch(() => {});
  };

  beforeAll(async () => {
    ensureRendererBuilt();
    dataDir = mkdtempSync(path.join(os.tmpdir(), "lynx-prune-e2e-"));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await close();
    await browser?.close().catch(() => {});
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("runs a quick check with progress, shows the plot with Auto marked, and Auto is picked and kept across a restart", async () => {
    await open();
    await expect.poll(() => page.getByTestId("auto-label").textContent()).toMatch(/not been checked/);
    await page.getByRole("button", { name: /Check this model/ }).click();
    // progress and the note about the user's chats appear while it runs (it may also be done already)
    await expect
      .poll(async () => (await page.getByTestId("prune-check-note").count()) > 0 || (await page.getByTestId("prune-plot").count()) > 0, { timeout: 30_000 })
      .toBe(true);
    await page.getByTestId("prune-plot").waitFor({ timeout: 120_000 });
    expect(await page.getByTestId("prune-plot-auto").count()).toBe(1);
    expect(await page.locator("[data-testid=prune-plot] circle").count()).toBeGreaterThanOrEqual(4);
    await expect.poll(() => page.getByTestId("auto-label").textContent()).toMatch(/^Auto on this model: /);
    mkdirSync(artifacts, { recursive: true });
    await page.getByTestId("prune-check").screenshot({ path: path.join(artifacts, "prune-check.png") });

    await page.getByRole("radio", { name: "Auto" }).click();
    await expect.poll(() => page.getByTestId("policy-description").textContent()).toMatch(/^auto: /);
    const profile = (await host.getPruneCheck()).profile;
    expect(profile?.auto).not.toBeNull();

    // a restart on the same data folder: the profile comes from the per-model settings, the setting from the app's
    await close();
    await open();
    expect((await host.getPolicy()).setting).toEqual({ mode: "auto" });
    expect((await host.getPruneCheck()).profile?.measuredAt).toBe(profile!.measuredAt);
    await page.getByTestId("prune-plot").waitFor({ timeout: 20_000 });
    await expect.poll(() => page.getByRole("radio", { name: "Auto" }).getAttribute("aria-checked")).toBe("true");
    expect(pageErrors).toEqual([]);
  }, 240_000);
});

// End-to-end: chats last. Web mode (`npm run serve`, a real child process, the bundled trained model) with a
// --data-dir; chat in two tabs, close one, stop the server, start it again on the same folder, and find both
// chats, one in its tab and one in the history, with their messages and per-message statistics.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureRendererBuilt, hasChromium, launchChromium, until } from "../helpers/browser.js";
import { startServer, stopServer, type Server } from "../helpers/web-mode.js";
import { root } from "../helpers/fixtures.js";


interface ShownMessage {
  role: string;
  text: string;
  tokens: number | null;
  tokensPerSecond: number | null;
  firstToken: string | null;
  stop: string | null;
  experts: string | null;
}

/** The messages of the chat on screen, with the statistics under each answer. */
async function shownMessages(page: Page): Promise<ShownMessage[]> {
  return page.$$eval("[data-testid=message-user], [data-testid=message-assistant]", (els) =>
    els.map((el) => {
      const stat = (name: string) => el.querySelector(`[data-stat=${name}]`)?.textContent ?? null;
      const text = el.querySelector(".message-text, .markdown")?.textContent ?? "";
      return {
        role: el.getAttribute("data-testid")!.slice("message-".length),
        text: text.trim(),
        tokens: stat("tokens") === null ? null : Number(stat("tokens")),
        tokensPerSecond: stat("tokens-per-second") === null ? null : Number(stat("tokens-per-second")),
        firstToken: stat("time-to-first-token"),
        stop: stat("stop-reason"),
        experts: stat("experts"),
      };
    }),
  );
}

async function sendAndWait(page: Page, text: string) {
  const before = (await shownMessages(page)).length;
  const box = page.getByRole("textbox", { name: "Message" });
  await box.fill(text);
  await box.press("Enter");
  // the answer is done when it shows its statistics
  return until(`an answer to ${JSON.stringify(text)}`, async () => {
    const messages = await shownMessages(page);
    return messages.length >= before + 2 && messages.at(-1)!.role === "assistant" && messages.at(-1)!.tokens !== null ? messages : null;
    // an answer may run to the 512-token limit: on a loaded 2-core machine that takes most of a minute
  }, 120_000);
}

describe.skipIf(!hasChromium)("chats last across a restart of web mode (--data-dir)", () => {
  let browser: Browser;
  let server: Server | null = null;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "lynx-e2e-data-"));

  beforeAll(async () => {
    ensureRendererBuilt();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close().catch(() => {});
    if (server) await stopServer(server);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("restores the open tab, keeps the closed chat in the history, with messages and statistics", async () => {
    server = await startServer(dataDir);
    let page = await browser.newPage({ viewport: { width: 1440, height: 920 } });
    await page.goto(server.url);
    await until("the first tab", async () => (await page.getByRole("tab").count()) === 1);

    const first = await sendAndWait(page, "What is 12+30?");
    await page.getByRole("button", { name: "New chat" }).click();
    await until("the second tab, selected", async () => (await page.getByRole("tab").nth(1).getAttribute("aria-selected")) === "true");
    const second = await sendAndWait(page, "In the beginning");
    for (const messages of [first, second]) {
      const answer = messages.at(-1)!;
      expect(answer.tokens).toBeGreaterThan(0);
      expect(answer.tokensPerSecond).toBeGreaterThanOrEqual(0);
      expect(answer.firstToken).toMatch(/^\d+\.\d\d s$/);
      expect(answer.stop).toBeTruthy();
      expect(answer.experts).toMatch(/^\d+\.\d → \d+\.\d$/);
    }
    const secondTitle = (await page.getByRole("tab").nth(1).textContent())!;
    await page.getByRole("button", { name: /^Close Chat 2/ }).click();
    await until("one tab left", async () => (await page.getByRole("tab").count()) === 1);
    await page.close();

    // stop web mode as a user would (Ctrl+C): it exits cleanly and releases the folder
    expect(await stopServer(server)).toBe(0);
    expect(existsSync(path.join(dataDir, "lock"))).toBe(false);

    server = await startServer(dataDir);
    page = await browser.newPage({ viewport: { width: 1440, height: 920 } });
    await page.goto(server.url);
    await until("the restored tab's messages", async () => (await shownMessages(page)).length === first.length);
    expect(await page.getByRole("tab").count()).toBe(1);
    expect(await shownMessages(page)).toEqual(first);

    await page.getByTestId("history-toggle").click();
    const items = page.getByTestId("history-item");
    await until("both chats in the history", async () => (await items.count()) === 2);
    const closed = items.filter({ hasNotText: "· open" });
    expect(await closed.count()).toBe(1);
    expect(secondTitle).toContain("Chat 2");
    await closed.locator(".history-open").click();
    await until("the reopened chat, selected", async () => (await page.getByRole("tab").nth(1).getAttribute("aria-selected")) === "true");
    await until("its messages", async () => (await shownMessages(page)).length === second.length);
    expect(await shownMessages(page)).toEqual(second);

    // a second web mode on the same folder refuses with a clear message
    const refused = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "electron", "server", "serve.ts"), "--data-dir", dataDir], { cwd: root, encoding: "utf8", timeout: 60_000 });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/STORE_LOCKED.*in use by another Lynx Chat \(pid \d+\)/);
    await page.close();
  }, 420_000);
});

// The 1-minute soak (tools/soak/soak.ts; `npm run soak -- --minutes 10` for the long run): 16 chats on the trained
// model with sends, stops, regenerates, edits, tab closes, policy changes and a model reload, in a child process so
// its RSS is its own.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { expect, it } from "vitest";
import { root } from "../helpers/fixtures.js";

it("16 chats for a minute: every stream settles, no leak, no error, the pool is whole, RSS flat", () => {
  const run = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", path.join(root, "tools", "soak", "soak.ts"), "--minutes", "1", "--chats", "16", "--json"], {
    cwd: root,
    encoding: "utf8",
    timeout: 240_000,
  });
  const last = run.stdout.trim().split("\n").at(-1) ?? "";
  expect(last, run.stderr).toMatch(/^\{/);
  const result = JSON.parse(last) as Record<string, number | string[]>;
  console.log(last);
  expect(result.failures, JSON.stringify(result.failures)).toEqual([]);
  expect(result.leaks).toBe(0);
  expect(result.errors).toBe(0);
  expect(result.unsettled).toBe(0);
  expect(result.comparisons as number).toBeGreaterThan(0);
  // flatness is judged by the soak itself (its failures, above): in a 1-minute run RSS may grow at most 25%
  expect(result.rssGrowth as number).toBeLessThan(0.25);
  expect(run.status).toBe(0);
}, 300_000);

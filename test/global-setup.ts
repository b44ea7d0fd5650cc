// Generates the fixture models (deterministic, skipped when up to date) before any test runs.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

export default function setup() {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const result = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "tools/fixtures/generate.ts")], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
  });
  if (result.status !== 0) throw new Error("fixture generation failed (npm run fixtures)");
}

// @ts-check
// `node --import ./tools/dist/runtime/register-stand-in.mjs ...`: the `electron` module resolves to the recording
// stand-in (electron-stand-in.mjs), everything else as usual.
import { register } from "node:module";

register(new URL("./stand-in-hooks.mjs", import.meta.url));

// LYNX_STANDIN_RESOLVE_LOG=FILE: every module file resolved (ESM in the hooks, CommonJS here) is appended to FILE,
// so `npm run dist:check` can tell whether the packaged main found its modules inside the package
const log = process.env.LYNX_STANDIN_RESOLVE_LOG;
if (log) {
  const { appendFileSync } = await import("node:fs");
  const Module = /** @type {any} */ ((await import("node:module")).default);
  const original = Module._resolveFilename;
  Module._resolveFilename = function (/** @type {unknown[]} */ ...args) {
    const resolved = original.apply(this, args);
    if (typeof resolved === "string" && resolved.startsWith("/")) appendFileSync(log, `${resolved}\n`);
    return resolved;
  };
}

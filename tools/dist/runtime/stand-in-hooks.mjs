// @ts-check
// Module resolution hook (node:module register): `electron` -> the recording stand-in.
import { appendFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const log = process.env.LYNX_STANDIN_RESOLVE_LOG;
const standIn = new URL("./electron-stand-in.mjs", import.meta.url).href;

/**
 * @param {string} specifier
 * @param {unknown} context
 * @param {(specifier: string, context: unknown) => Promise<unknown>} next
 */
export async function resolve(specifier, context, next) {
  if (specifier === "electron") return { url: standIn, shortCircuit: true, format: "module" };
  const resolved = /** @type {{ url: string }} */ (await next(specifier, context));
  if (log && resolved.url.startsWith("file:")) appendFileSync(log, `${fileURLToPath(resolved.url)}\n`);
  return resolved;
}

// Builds the Electron main process and preload with esbuild:
//   dist/electron/main/main.js  (ESM, node_modules stay external)
//   dist/electron/preload.cjs   (CommonJS: sandboxed preloads cannot load ES modules; only `electron` is external)
// Modules that locate files through import.meta.url (the engine finds patches/ and node_modules/)
// keep their source-tree meaning: import.meta.url is rewritten to the module's original location
// relative to the output file, so the bundle works from dist/ and from an asar with the same layout.
// electron/main/* itself means the built location (it finds dist/renderer and the preload).

import path from "node:path";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const mainOut = path.join(root, "dist", "electron", "main", "main.js");

/** @type {import("esbuild").Plugin} */
const keepImportMetaUrl = {
  name: "keep-import-meta-url",
  setup(b) {
    b.onLoad({ filter: /\.[cm]?ts$/ }, async (args) => {
      let contents = await readFile(args.path, "utf8");
      const own = args.path.startsWith(path.join(root, "electron", "main") + path.sep);
      if (!own && contents.includes("import.meta.url") && !args.path.includes(`${path.sep}node_modules${path.sep}`)) {
        const rel = path.relative(path.dirname(mainOut), args.path).split(path.sep).join("/");
        contents = contents.replaceAll("import.meta.url", `new URL(${JSON.stringify(rel)}, import.meta.url).href`);
      }
      return { contents, loader: "ts" };
    });
  },
};

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  sourcemap: false,
  logLevel: "warning",
  legalComments: "none",
};

const started = Date.now();
await Promise.all([
  build({
    ...common,
    entryPoints: [path.join(root, "electron", "main", "main.ts")],
    outfile: mainOut,
    format: "esm",
    packages: "external",
    external: ["electron"],
    plugins: [keepImportMetaUrl],
    banner: { js: "// Lynx Chat main process (built by scripts/build-electron.mjs)" },
  }),
  build({
    ...common,
    entryPoints: [path.join(root, "electron", "main", "preload.ts")],
    outfile: path.join(root, "dist", "electron", "preload.cjs"),
    format: "cjs",
    external: ["electron"],
  }),
]);
console.log(`electron: built dist/electron/main/main.js and dist/electron/preload.cjs in ${Date.now() - started} ms`);

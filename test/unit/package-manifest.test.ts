// One source of truth for what is packaged: electron-builder.ts and forge.config.ts are generated from
// tools/dist/package-manifest.ts; this checks that, on the project's real files, electron-builder's own file matcher
// (app-builder-lib's FileMatcher), Forge's packager `ignore`, and our payload packer choose the same files, unpack
// the same ones, and set the same fuses. (electron-builder also drops some files by its built-in defaults, e.g.
// package READMEs: those only shrink its payload and are not compared.)
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { FuseV1Options } from "@electron/fuses";
import { describe, expect, it } from "vitest";
import builderConfig from "../../electron-builder.js";
import forgeConfig from "../../forge.config.js";
import { electronBuilderFuses, fuses, isPackaged, isUnpacked } from "../../tools/dist/package-manifest.js";
import { packagedEngine, payloadFiles, payloadRules, productionPackageDirs } from "../../tools/dist/payload-files.js";

const root = path.resolve(import.meta.dirname, "../..");
const require = createRequire(import.meta.url);
const builderRequire = createRequire(require.resolve("app-builder-lib/package.json"));
const { FileMatcher } = builderRequire("./out/fileMatcher.js") as {
  FileMatcher: new (from: string, to: string, expand: (s: string) => string, patterns: string[]) => { createFilter(): (file: string, stat: fs.Stats) => boolean };
};
const asarMinimatch = createRequire(require.resolve("@electron/asar/package.json"))("minimatch") as (p: string, g: string, o: object) => boolean;

const rules = payloadRules(root, packagedEngine(root).folder);

function walk(rel: string, out: string[]) {
  const abs = path.join(root, rel);
  if (!fs.existsSync(abs)) return;
  if (fs.lstatSync(abs).isDirectory()) for (const name of fs.readdirSync(abs)) walk(`${rel}/${name}`, out);
  else out.push(rel);
}

/** Real candidate files: the app's own, sources that must stay out, and the production packages (node-llama-cpp whole). */
function candidates(): string[] {
  const out = ["package.json", "README.md", "tsconfig.json"];
  for (const dir of ["dist", "patches", "electron/main", "resources", "test/unit", "tools/dist", "node_modules/node-llama-cpp"]) walk(dir, out);
  for (const dir of productionPackageDirs(root)) if (!dir.startsWith("node_modules/node-llama-cpp")) walk(dir, out);
  return [...new Set(out)];
}

const ancestors = (rel: string) => rel.split("/").slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join("/"));

describe("package manifest: electron-builder, Forge and the payload packer agree", () => {
  const files = candidates();

  it("choose the same files", () => {
    const builderFilter = new FileMatcher(root, "", (s) => s, builderConfig.files as string[]).createFilter();
    // electron-builder collects node_modules itself (production dependencies) and filters the files inside
    const builder = (rel: string) =>
      ancestors(rel).filter((dir) => dir !== "node_modules").every((dir) => builderFilter(path.join(root, dir), fs.statSync(path.join(root, dir)))) && builderFilter(path.join(root, rel), fs.statSync(path.join(root, rel)));
    const ignore = forgeConfig.packagerConfig!.ignore as (p: string) => boolean;
    const forge = (rel: string) => [...ancestors(rel), rel].every((p) => !ignore(`/${p}`));
    const packed = new Set(payloadFiles(root, rules));
    const disagree = files.filter((rel) => {
      const ours = isPackaged(rules, rel);
      return builder(rel) !== ours || forge(rel) !== ours || (packed.has(rel) !== ours && !rel.startsWith("node_modules/"));
    });
    expect(disagree.slice(0, 20)).toEqual([]);
    // the sample covers both sides of the rules
    expect(files.filter((rel) => isPackaged(rules, rel)).length).toBeGreaterThan(500);
    expect(files.filter((rel) => !isPackaged(rules, rel)).length).toBeGreaterThan(500);
    for (const out of ["electron/main/main.ts", "node_modules/node-llama-cpp/llama/gitRelease.bundle", "test/unit/package-manifest.test.ts"]) {
      if (files.includes(out)) expect(isPackaged(rules, out), out).toBe(false);
    }
    for (const rel of packed) expect(isPackaged(rules, rel), rel).toBe(true);
  });

  it("unpack the same files", () => {
    const builderUnpack = new FileMatcher(root, "", (s) => s, builderConfig.asarUnpack as string[]).createFilter();
    const forgeGlob = (forgeConfig.packagerConfig!.asar as { unpack: string }).unpack;
    const packaged = files.filter((rel) => isPackaged(rules, rel));
    const disagree = packaged.filter((rel) => {
      const ours = isUnpacked(rules, rel);
      const builder = builderUnpack(path.join(root, rel), fs.statSync(path.join(root, rel)));
      // @electron/asar matches the absolute path without dot: files under dot-names are left to the packer's own rule
      const forge = rel.split("/").some((part) => part.startsWith(".")) ? ours : asarMinimatch(path.join(root, rel), forgeGlob, { matchBase: true });
      return builder !== ours || forge !== ours;
    });
    expect(disagree.slice(0, 20)).toEqual([]);
    expect(packaged.some((rel) => rel.endsWith(".node") && isUnpacked(rules, rel))).toBe(true);
    for (const rel of packaged) if (/\.(node|so|dylib|dll)$/.test(rel)) expect(isUnpacked(rules, rel), rel).toBe(true);
  });

  it("set the same fuses and bundle the same model folder", () => {
    expect(builderConfig.electronFuses).toEqual(electronBuilderFuses());
    const forgeFuses = forgeConfig.plugins!.find((p) => p.name === "fuses") as unknown as { fusesConfig: Record<number, boolean> };
    const enumNames = Object.keys(FuseV1Options).filter((k) => Number.isNaN(Number(k))) as Array<keyof typeof FuseV1Options>;
    expect(Object.keys(fuses).sort()).toEqual([...enumNames].sort());
    for (const name of enumNames) {
      expect(forgeFuses.fusesConfig[FuseV1Options[name]], name).toBe(fuses[name]);
      expect((builderConfig.electronFuses as Record<string, boolean>)[name[0]!.toLowerCase() + name.slice(1)], name).toBe(fuses[name]);
    }
    expect(fuses.RunAsNode).toBe(false);
    expect(fuses.OnlyLoadAppFromAsar).toBe(true);
    const extra = builderConfig.extraResources as Array<{ from: string; to: string }>;
    expect(forgeConfig.packagerConfig!.extraResource).toEqual(extra.map((e) => e.from));
    expect(extra).toEqual([{ from: "resources/models", to: "models", filter: ["*.gguf"] }]);
  });
});

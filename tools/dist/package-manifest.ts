// What a Lynx Chat package contains: the one source of truth for electron-builder (electron-builder.ts), Electron
// Forge (forge.config.ts) and our own payload packer (pack-payload.ts, used when Electron's runtime is missing).
// Rules are path prefixes relative to the project root ("dir/" for a folder): a file is packaged when an include
// rule covers it and no exclude rule does. Production node_modules are chosen by each tool the same way (npm's
// dependency tree without devDependencies); the rules below then trim them.
import fs from "node:fs";
import path from "node:path";
import { FuseV1Options } from "@electron/fuses";

export const appIdentity = {
  appId: "dev.lynxchat.app",
  productName: "Lynx Chat",
  executableName: "lynx-chat",
  copyright: "Copyright © Lynx Chat contributors",
} as const;

/** Inside app.asar: the built app, the engine's patch (its hash names the engine build) and production modules. */
export const includeRules: readonly string[] = ["package.json", "dist/electron/", "dist/renderer/", "patches/llama-moe-select.diff", "node_modules/"];

/** Never packaged: sources, maps, and what node-llama-cpp carries for building (not for running). */
export const excludeRules: readonly string[] = [
  // llama.cpp source, its git bundle, build tool chains: only `npm run build:engine` uses them
  "node_modules/node-llama-cpp/llama/llama.cpp/",
  "node_modules/node-llama-cpp/llama/gitRelease.bundle",
  "node_modules/node-llama-cpp/llama/xpack/",
  "node_modules/node-llama-cpp/llama/toolchains/",
  "node_modules/node-llama-cpp/llama/addon/",
  "node_modules/node-llama-cpp/templates/",
  // unpatched prebuilt binaries (hundreds of MB): the engine never loads them (usePrebuiltBinaries: false)
  "node_modules/@node-llama-cpp/",
  "node_modules/node-llama-cpp/bins/",
  // renderer libraries: vite bundles them into dist/renderer
  "node_modules/react/",
  "node_modules/react-dom/",
  "node_modules/scheduler/",
  "node_modules/zustand/",
];

/** File endings never packaged (source maps, TypeScript sources and declarations). */
export const excludeEndings: readonly string[] = [".map", ".ts", ".mts", ".cts"];

/**
 * Outside the archive (app.asar.unpacked): native libraries cannot be loaded from inside an asar, and the patched
 * llama.cpp libraries load each other from their own folder. koffi's native module lives in @koromix/koffi-<platform>;
 * @reflink/reflink (node-llama-cpp's model downloader) has one too.
 */
export const unpackRules: readonly string[] = ["node_modules/node-llama-cpp/llama/localBuilds/", "node_modules/koffi/", "node_modules/@koromix/", "node_modules/@reflink/"];

/** Copied beside app.asar: <resources>/models/default.gguf is where the app looks for its bundled model. */
export const extraResources = [{ from: "resources/models", to: "models", filter: ["*.gguf"] }] as const;

/** Electron fuses, by @electron/fuses' names (electron-builder uses the same names with a lower-case first letter). */
export const fuses: Readonly<Record<keyof typeof FuseV1Options, boolean>> = {
  RunAsNode: false,
  EnableCookieEncryption: true,
  EnableNodeOptionsEnvironmentVariable: false,
  EnableNodeCliInspectArguments: false,
  EnableEmbeddedAsarIntegrityValidation: true,
  OnlyLoadAppFromAsar: true,
  LoadBrowserProcessSpecificV8Snapshot: false,
  GrantFileProtocolExtraPrivileges: false,
};

/** Rule covers path: equal to a file rule, or inside a folder rule. */
function covers(rule: string, rel: string): boolean {
  return rule.endsWith("/") ? rel.startsWith(rule) : rel === rule;
}

/** What node-llama-cpp loads from a local build folder (Release/ with the addon and its metadata, buildDone.status). */
export const engineRuntimeEntries: readonly string[] = ["Release", "buildDone.status", ".lynx-key"];

/**
 * The engine builds a package must not carry: every localBuilds folder except the one named (the portable build),
 * the lock files beside them, and that build's cmake tree and static libraries.
 */
export function engineExcludeRules(root: string, keepFolder: string): string[] {
  const dir = path.join(root, "node_modules", "node-llama-cpp", "llama", "localBuilds");
  if (!fs.existsSync(dir)) return [];
  const rule = (rel: string) => `node_modules/node-llama-cpp/llama/localBuilds/${rel}${fs.statSync(path.join(dir, rel)).isDirectory() ? "/" : ""}`;
  const rules = fs.readdirSync(dir).filter((name) => name !== keepFolder).map(rule);
  if (keepFolder && fs.existsSync(path.join(dir, keepFolder))) {
    for (const name of fs.readdirSync(path.join(dir, keepFolder))) {
      if (!engineRuntimeEntries.includes(name)) rules.push(rule(`${keepFolder}/${name}`));
    }
  }
  return rules;
}

export interface PackageRules {
  include: readonly string[];
  exclude: readonly string[];
  excludeEndings: readonly string[];
  unpack: readonly string[];
}

export function packageRules(extraExclude: readonly string[] = []): PackageRules {
  return { include: includeRules, exclude: [...excludeRules, ...extraExclude], excludeEndings, unpack: unpackRules };
}

/** Whether a file (path relative to the project root, forward slashes) goes into the package. */
export function isPackaged(rules: PackageRules, rel: string): boolean {
  if (!rules.include.some((rule) => covers(rule, rel))) return false;
  if (rules.exclude.some((rule) => covers(rule, rel))) return false;
  return !rules.excludeEndings.some((ending) => rel.endsWith(ending));
}

/** Whether a packaged file is stored outside the archive. */
export function isUnpacked(rules: PackageRules, rel: string): boolean {
  return rules.unpack.some((rule) => covers(rule, rel));
}

const toGlob = (rule: string) => (rule.endsWith("/") ? `${rule}**` : rule);

/** The rules as electron-builder `files` globs (positive, then "!"-negated). */
export function electronBuilderFiles(rules: PackageRules): string[] {
  return [...rules.include.map(toGlob), ...rules.exclude.map((r) => `!${toGlob(r)}`), ...rules.excludeEndings.map((e) => `!**/*${e}`)];
}

/** The unpack rules as electron-builder `asarUnpack` globs. */
export function electronBuilderAsarUnpack(rules: PackageRules): string[] {
  return rules.unpack.map(toGlob);
}

/**
 * @electron/packager's `ignore` (Forge): called with "/rel/path" (relative to the project) for folders and files
 * alike; a folder is kept while any include rule lies inside it or it lies inside one and is not excluded.
 */
export function forgeIgnore(rules: PackageRules, root: string): (file: string) => boolean {
  return (file: string) => {
    const rel = file.replace(/\\/g, "/").replace(/^\/+/, "");
    if (rel === "") return false;
    let folder = false;
    try {
      folder = fs.statSync(path.join(root, rel)).isDirectory();
    } catch {
      // not in the project: judged as a file
    }
    if (!folder) return !isPackaged(rules, rel);
    if (rules.include.some((rule) => rule.startsWith(rel + "/"))) return false;
    const asFolder = rel + "/";
    return !(rules.include.some((rule) => rule.endsWith("/") && asFolder.startsWith(rule)) && !rules.exclude.some((rule) => covers(rule, asFolder)));
  };
}

/** @electron/asar's `unpack` option (Forge's packagerConfig.asar.unpack): one minimatch glob over absolute paths. */
export function asarUnpackGlob(rules: PackageRules): string {
  const parts = rules.unpack.map((rule) => rule.replace(/\/$/, ""));
  return `**/{${parts.join(",")}}/**`;
}

/** Fuses as electron-builder's `electronFuses`. */
export function electronBuilderFuses(): Record<string, boolean> {
  return Object.fromEntries(Object.entries(fuses).map(([name, value]) => [name[0]!.toLowerCase() + name.slice(1), value]));
}

/** Fuses as @electron/fuses' FuseV1Config entries (Forge's FusesPlugin). */
export function fuseV1Entries(): Array<[FuseV1Options, boolean]> {
  return (Object.keys(fuses) as Array<keyof typeof FuseV1Options>).map((name) => [FuseV1Options[name], fuses[name]]);
}

/** The localBuilds folder holding the build with this cache key (the .lynx-key file build-engine.ts writes). */
export function engineFolderForKey(root: string, key: string): string | null {
  const dir = path.join(root, "node_modules", "node-llama-cpp", "llama", "localBuilds");
  if (!fs.existsSync(dir)) return null;
  for (const name of fs.readdirSync(dir)) {
    const keyFile = path.join(dir, name, ".lynx-key");
    if (fs.existsSync(keyFile) && fs.readFileSync(keyFile, "utf8") === key) return name;
  }
  return null;
}

// electron-builder configuration (https://www.electron.build), generated from tools/dist/package-manifest.ts, the
// one description of what a package holds (forge.config.ts reads the same). `npm run dist` runs electron-builder
// after building the renderer, the Electron main and preload and the portable engine.
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Configuration } from "electron-builder";
import { appIdentity, electronBuilderAsarUnpack, electronBuilderFiles, electronBuilderFuses, extraResources } from "./tools/dist/package-manifest.js";
import { packagedEngine, payloadRules } from "./tools/dist/payload-files.js";

const root = path.dirname(fileURLToPath(import.meta.url));
const rules = payloadRules(root, packagedEngine(root).folder);

const config: Configuration = {
  appId: appIdentity.appId,
  productName: appIdentity.productName,
  executableName: appIdentity.executableName,
  copyright: appIdentity.copyright,
  directories: { output: "release", buildResources: "resources/build" },
  files: electronBuilderFiles(rules),
  extraResources: extraResources.map((r) => ({ from: r.from, to: r.to, filter: [...r.filter] })),
  // exactly the manifest's unpack rules (they cover every native library; dist:check fails on one left inside),
  // not electron-builder's guess of whole packages holding native files: both packagers and our packer then agree
  asar: { smartUnpack: false },
  // node-llama-cpp and koffi ship N-API binaries (no rebuild per Electron version); the engine is our own build
  npmRebuild: false,
  asarUnpack: electronBuilderAsarUnpack(rules),
  electronFuses: electronBuilderFuses(),
  mac: { category: "public.app-category.developer-tools", target: ["dmg", "zip"], hardenedRuntime: true },
  win: { target: ["nsis"] },
  linux: { category: "Development", target: ["AppImage", "deb"], maintainer: "Lynx Chat contributors" },
  nsis: { oneClick: false, allowToChangeInstallationDirectory: true },
};

export default config;

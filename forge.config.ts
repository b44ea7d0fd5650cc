// Electron Forge configuration (an alternative to electron-builder.ts: `npm run make`), generated from
// tools/dist/package-manifest.ts like electron-builder's, so both package the same files, unpack the same native
// libraries and set the same fuses (test/unit/package-manifest.test.ts checks that they agree).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { MakerDeb } from "@electron-forge/maker-deb";
import { MakerSquirrel } from "@electron-forge/maker-squirrel";
import { MakerZIP } from "@electron-forge/maker-zip";
import { AutoUnpackNativesPlugin } from "@electron-forge/plugin-auto-unpack-natives";
import { FusesPlugin } from "@electron-forge/plugin-fuses";
import type { ForgeConfig } from "@electron-forge/shared-types";
import { FuseVersion } from "@electron/fuses";
import { appIdentity, asarUnpackGlob, extraResources, forgeIgnore, fuseV1Entries } from "./tools/dist/package-manifest.js";
import { packagedEngine, payloadRules } from "./tools/dist/payload-files.js";

const root = path.dirname(fileURLToPath(import.meta.url));
const rules = payloadRules(root, packagedEngine(root).folder);

const config: ForgeConfig = {
  packagerConfig: {
    name: appIdentity.productName,
    executableName: appIdentity.executableName,
    appBundleId: appIdentity.appId,
    appCopyright: appIdentity.copyright,
    asar: { unpack: asarUnpackGlob(rules) },
    ignore: forgeIgnore(rules, root),
    // packager copies a folder whole: the filter is applied after packaging (postPackage)
    extraResource: extraResources.map((r) => r.from),
    prune: true,
  },
  rebuildConfig: { onlyModules: [] },
  makers: [new MakerSquirrel({}, ["win32"]), new MakerZIP({}, ["darwin", "linux"]), new MakerDeb({ options: { categories: ["Development"] } }, ["linux"])],
  plugins: [
    new AutoUnpackNativesPlugin({}),
    new FusesPlugin({ version: FuseVersion.V1, ...Object.fromEntries(fuseV1Entries()) }),
  ],
  hooks: {
    // extraResource copies resources/models whole: keep what electron-builder's filter keeps
    async postPackage(_config, { outputPaths }) {
      for (const out of outputPaths) {
        for (const r of extraResources) {
          const resources = fs.existsSync(path.join(out, "resources")) ? path.join(out, "resources") : path.join(out, `${appIdentity.productName}.app`, "Contents", "Resources");
          const dir = path.join(resources, path.basename(r.from));
          const target = path.join(resources, r.to);
          if (!fs.existsSync(dir)) continue;
          for (const name of fs.readdirSync(dir)) if (!r.filter.some((f) => name.endsWith(f.slice(1)))) fs.rmSync(path.join(dir, name), { recursive: true });
          if (dir !== target) fs.renameSync(dir, target);
        }
      }
    },
  },
};

export default config;

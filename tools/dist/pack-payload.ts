// Packs the app payload without Electron's runtime: <out>/resources/app.asar (+ app.asar.unpacked) and
// <out>/resources/models, the layout electron-builder's --dir output has under resources/, from the same manifest.
import fs from "node:fs";
import path from "node:path";
import { createPackageFromStreams, type AsarStreamType } from "@electron/asar";
import { isUnpacked, type PackageRules } from "./package-manifest.js";
import { extraResourceFiles, payloadFiles } from "./payload-files.js";

export interface PackedPayload {
  resourcesDir: string;
  files: number;
}

export async function packPayload(root: string, outDir: string, rules: PackageRules): Promise<PackedPayload> {
  const resourcesDir = path.join(outDir, "resources");
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(resourcesDir, { recursive: true });
  const files = payloadFiles(root, rules);
  // one entry per file with the manifest's own unpack decision (a glob would skip dot files such as .lynx-key);
  // a symbolic link is stored as the file it points to
  const streams: AsarStreamType[] = files.map((rel) => {
    const abs = path.join(root, ...rel.split("/"));
    return { type: "file", path: rel, unpacked: isUnpacked(rules, rel), stat: fs.statSync(abs), streamGenerator: () => fs.createReadStream(abs) };
  });
  const out = await createPackageFromStreams(path.join(resourcesDir, "app.asar"), streams);
  // it returns the archive's stream once ended, before the data is flushed
  await new Promise<void>((resolve, reject) => {
    if (out.closed) return resolve();
    out.once("close", () => resolve());
    out.once("error", reject);
  });
  for (const [from, to] of extraResourceFiles(root)) {
    fs.mkdirSync(path.dirname(path.join(resourcesDir, to)), { recursive: true });
    fs.copyFileSync(from, path.join(resourcesDir, to));
  }
  return { resourcesDir, files: files.length };
}

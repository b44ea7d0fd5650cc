// Sizes of a payload's resources folder (app.asar, app.asar.unpacked, the bundled models).
import fs from "node:fs";
import path from "node:path";

function treeBytes(dir: string): { bytes: number; files: number } {
  if (!fs.existsSync(dir)) return { bytes: 0, files: 0 };
  let bytes = 0;
  let files = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    bytes += fs.statSync(path.join(entry.parentPath, entry.name)).size;
    files += 1;
  }
  return { bytes, files };
}

export interface PayloadSizes {
  appAsarBytes: number;
  unpackedBytes: number;
  unpackedFiles: number;
  modelsBytes: number;
  totalBytes: number;
}

export function payloadSizes(resourcesDir: string): PayloadSizes {
  const asar = path.join(resourcesDir, "app.asar");
  const appAsarBytes = fs.existsSync(asar) ? fs.statSync(asar).size : 0;
  const unpacked = treeBytes(path.join(resourcesDir, "app.asar.unpacked"));
  const models = treeBytes(path.join(resourcesDir, "models"));
  return {
    appAsarBytes,
    unpackedBytes: unpacked.bytes,
    unpackedFiles: unpacked.files,
    modelsBytes: models.bytes,
    totalBytes: appAsarBytes + unpacked.bytes + models.bytes,
  };
}

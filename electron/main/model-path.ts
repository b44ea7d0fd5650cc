// Validates a model path that came from the renderer (drag and drop) or a dialog before the host sees it.

import { open, stat } from "node:fs/promises";
import path from "node:path";
import { ApiCallError } from "../api/api-error.js";

export async function validateModelPath(raw: unknown): Promise<string> {
  if (typeof raw !== "string" || raw.length === 0 || raw.length > 4096 || raw.includes("\0")) {
    throw new ApiCallError("INVALID_INPUT", "not a file path");
  }
  if (!path.isAbsolute(raw)) throw new ApiCallError("INVALID_INPUT", "the model path must be absolute");
  const file = path.normalize(raw);
  if (path.extname(file).toLowerCase() !== ".gguf") throw new ApiCallError("NOT_GGUF", `${path.basename(file)} is not a .gguf file`);
  let size: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new Error("not a regular file");
    size = st.size;
  } catch {
    throw new ApiCallError("MODEL_NOT_FOUND", `model not found: ${file}`);
  }
  if (size < 8) throw new ApiCallError("TRUNCATED_GGUF", `${path.basename(file)} is too small to be a model`);
  const fh = await open(file, "r");
  try {
    const magic = Buffer.alloc(4);
    await fh.read(magic, 0, 4, 0);
    if (magic.toString("latin1") !== "GGUF") throw new ApiCallError("NOT_GGUF", `${path.basename(file)} is not a GGUF file`);
  } finally {
    await fh.close();
  }
  return file;
}

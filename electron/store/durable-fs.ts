// The few file operations the store's promises rest on: an append that is on disk when it returns,
// and a replace that is all-or-nothing (write a temporary file, fsync it, rename it over, fsync the folder).
import fs from "node:fs";
import path from "node:path";

/** Makes a created, renamed or removed entry of a folder durable (a no-op where folders cannot be opened). */
export function fsyncDir(dir: string) {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // Windows cannot open a folder; its rename is already durable enough for NTFS's journal
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/** Replaces `file` with `content` atomically: a crash leaves either the old or the new file, never a mix. */
export function writeFileAtomic(file: string, content: string | Uint8Array, slowDisk: SlowDisk | null = null) {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, "w");
  try {
    writeSlowly(fd, typeof content === "string" ? Buffer.from(content, "utf8") : content, slowDisk);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

export function writeAll(fd: number, bytes: Uint8Array, position?: number) {
  let offset = 0;
  while (offset < bytes.length) {
    const written = fs.writeSync(fd, bytes, offset, bytes.length - offset, position === undefined ? null : position + offset);
    offset += written;
  }
}

/**
 * The kill test's stand-in for a slow disk: each append reaches the file in pieces with pauses between them,
 * so a kill can land in the middle of a record, as a power cut would.
 */
export interface SlowDisk {
  chunkBytes: number;
  pauseMs: number;
}

const pauseCell = new Int32Array(new SharedArrayBuffer(4));

function writeSlowly(fd: number, bytes: Uint8Array, slowDisk: SlowDisk | null) {
  if (!slowDisk) return writeAll(fd, bytes);
  for (let at = 0; at < bytes.length; at += slowDisk.chunkBytes) {
    writeAll(fd, bytes.subarray(at, Math.min(bytes.length, at + slowDisk.chunkBytes)));
    if (at + slowDisk.chunkBytes < bytes.length) Atomics.wait(pauseCell, 0, 0, slowDisk.pauseMs);
  }
}

/** An append-only file: every `append` is written and fsync'd before it returns. */
export class AppendFile {
  private fd: number;
  size: number;

  constructor(
    readonly file: string,
    private readonly slowDisk: SlowDisk | null = null,
  ) {
    this.fd = fs.openSync(file, "a");
    this.size = fs.fstatSync(this.fd).size;
  }

  append(text: string, sync = true) {
    const bytes = Buffer.from(text, "utf8");
    writeSlowly(this.fd, bytes, this.slowDisk);
    this.size += bytes.length;
    if (sync) fs.fsyncSync(this.fd);
  }

  sync() {
    fs.fsyncSync(this.fd);
  }

  close() {
    if (this.fd < 0) return;
    fs.closeSync(this.fd);
    this.fd = -1;
  }
}

export function readJsonFile(file: string): { ok: true; value: unknown } | { ok: false; missing: boolean; error: string } {
  let raw: string;
  try {
    raw = fs.readFileSync(file, "utf8");
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
    return { ok: false, missing, error: (err as Error).message };
  }
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch (err) {
    return { ok: false, missing: false, error: `not valid JSON: ${(err as Error).message}` };
  }
}

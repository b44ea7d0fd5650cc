// One process per data folder: a lock file holding the owner's pid. A second process refuses with a clear
// message; a lock left by a process that no longer runs (a crash, a kill) is taken over.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { StoreError } from "./store-error.js";

interface LockOwner {
  pid: number;
  hostname?: string;
  startedAt?: number;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, under another user
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readOwner(file: string): LockOwner | null {
  try {
    const value = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<LockOwner>;
    return typeof value.pid === "number" && Number.isInteger(value.pid) && value.pid > 0 ? (value as LockOwner) : null;
  } catch {
    return null;
  }
}

export interface FolderLock {
  readonly file: string;
  /** The pid of a dead owner whose lock was taken over, if any. */
  readonly tookOverFrom: number | null;
  release(): void;
}

/** Folders this process holds: a second open in the same process is refused too. */
const heldHere = new Set<string>();

export function lockFolder(dir: string): FolderLock {
  const file = path.join(dir, "lock");
  if (heldHere.has(file)) throw new StoreError("STORE_LOCKED", `the data folder ${dir} is already open in this process`);
  const mine: LockOwner = { pid: process.pid, hostname: os.hostname(), startedAt: Date.now() };
  let tookOverFrom: number | null = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      // "wx": created only if absent, so two processes racing cannot both succeed
      fs.writeFileSync(file, JSON.stringify(mine) + "\n", { flag: "wx" });
      let released = false;
      heldHere.add(file);
      return {
        file,
        tookOverFrom,
        release() {
          if (released) return;
          released = true;
          heldHere.delete(file);
          if (readOwner(file)?.pid === process.pid) fs.rmSync(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new StoreError("STORE_IO", `cannot create the lock file ${file}: ${(err as Error).message}`);
      }
    }
    const owner = readOwner(file);
    const sameHost = !owner?.hostname || owner.hostname === os.hostname();
    if (owner && owner.pid !== process.pid && sameHost && isRunning(owner.pid)) {
      throw new StoreError(
        "STORE_LOCKED",
        `the data folder ${dir} is in use by another Lynx Chat (pid ${owner.pid}). Close it first, or start this one with --data-dir pointing at another folder.`,
      );
    }
    if (owner && !sameHost) {
      throw new StoreError(
        "STORE_LOCKED",
        `the data folder ${dir} is locked by pid ${owner.pid} on ${owner.hostname}; if that machine no longer uses it, delete ${file}.`,
      );
    }
    // a dead owner's (or an unreadable, half-written) lock: remove it and try again
    tookOverFrom = owner?.pid ?? null;
    fs.rmSync(file, { force: true });
  }
  throw new StoreError("STORE_LOCKED", `cannot take the lock ${file}: another process keeps taking it`);
}

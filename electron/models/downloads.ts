// Model downloads on node-llama-cpp's downloader (createModelDownloader: URL and hf: URI resolution, ipull's chunked,
// resumable transfer). What this module adds around it: a staging folder per download inside the models folder (so
// the final rename is atomic and a partial file is never listed), a persisted list so a download survives a restart,
// pause (ipull keeps its progress in the partial file) and cancel (the staging folder goes), a free-disk check
// before starting, throttled progress, a stall watchdog, and verification before a file is moved into the folder:
// its size, its sha256 where the source gives one, and our GGUF preflight.
import { createHash, randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { createModelDownloader, type ModelDownloader } from "node-llama-cpp";
import type { DownloadState, EngineErrorCode } from "../api/contract.js";
import { EngineError, toEngineError } from "../engine/errors.js";
import { readJsonFile, writeFileAtomic, fsyncDir } from "../store/durable-fs.js";

/** Partial downloads live here, inside the models folder (same file system: the final move is a rename). */
export const stagingFolderName = ".downloads";
const maxUriLength = 2048;
const maxDownloadsKept = 100;
const interruptedMessage = "interrupted when the app stopped; resume to continue";

export interface DownloadManagerOptions {
  modelsDir: () => string;
  /** downloads.json; null: the list lives in memory only. */
  stateFile: string | null;
  /** Throws a typed error when a finished file is not a usable GGUF (our preflight). */
  verifyFile: (file: string) => Promise<void>;
  onChange: (state: DownloadState) => void;
  /** Called once a file was moved into the models folder. */
  onFinished?: (state: DownloadState) => void;
  /** Where hf: URIs resolve (node-llama-cpp's endpoints option); default Hugging Face. */
  huggingFaceEndpoint?: string;
  /** Least time between two progress events of one download (default 250 ms). */
  progressIntervalMs?: number;
  /** A download with no new bytes for this long fails (resumable) (default 60 s). */
  stallTimeoutMs?: number;
  /** Free bytes on the models folder's disk (default: statfs). */
  freeDiskBytes?: (dir: string) => number;
  now?: () => number;
}

const recordSchema = z.object({
  id: z.string().regex(/^[0-9a-f-]{36}$/),
  uri: z.string().min(1).max(maxUriLength),
  fileName: z.string().max(255).nullable(),
  stagingDir: z.string().max(4096),
  status: z.enum(["starting", "downloading", "paused", "verifying", "done", "failed", "cancelled"]),
  downloadedBytes: z.number().min(0),
  totalBytes: z.number().min(0),
  expectedSha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
  expectedSize: z.number().min(0).nullable(),
  path: z.string().max(4096).nullable(),
  error: z.object({ code: z.string(), message: z.string().max(2000) }).nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
});
type DownloadRecord = z.infer<typeof recordSchema>;
const stateFileSchema = z.object({ version: z.literal(1), downloads: z.array(z.unknown()).max(1000) });

interface Live {
  downloader: ModelDownloader | null;
  /** Set when the user (or dispose) stopped it: what to do once ipull has let go. */
  stopping: "pause" | "quit" | "cancel" | "stall" | null;
  lastEmit: number;
  lastBytes: number;
  lastBytesAt: number;
  samples: Array<{ t: number; bytes: number }>;
  watchdog: ReturnType<typeof setInterval> | null;
  /**
   * Settles once this attempt is over (it failed to start, or ipull's transfer ended and nothing writes the partial
   * file any more). Created with the attempt, so whoever waits on it before the transfer is under way really waits.
   */
  run: Promise<void>;
  ended: () => void;
}

/** What the user may type: an http(s) URL or one of node-llama-cpp's hf: forms. */
export function checkDownloadUri(uri: string): string {
  const trimmed = uri.trim();
  if (trimmed.length === 0 || trimmed.length > maxUriLength) throw new EngineError("INVALID_INPUT", "the download URI is empty or too long");
  if (/^hf:[^/\s:]+\/[^/\s:]+(\/[^\s#]+\.gguf(#[\w.-]+)?|:[\w.-]+)?$/i.test(trimmed)) return trimmed;
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new EngineError("INVALID_INPUT", `not a URL nor an hf: URI: ${JSON.stringify(trimmed.slice(0, 200))} (try hf:user/repo:Q4_K_M)`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new EngineError("INVALID_INPUT", `only http(s) URLs and hf: URIs can be downloaded, not ${url.protocol}`);
  if (url.username || url.password) throw new EngineError("INVALID_INPUT", "credentials in the URL are not accepted");
  return url.href;
}

export class DownloadManager {
  private readonly records = new Map<string, DownloadRecord>();
  private readonly live = new Map<string, Live>();
  private readonly now: () => number;
  private disposed = false;
  private lastSave = 0;

  constructor(private readonly options: DownloadManagerOptions) {
    this.now = options.now ?? Date.now;
    this.load();
  }

  list(): DownloadState[] {
    return [...this.records.values()].sort((a, b) => b.createdAt - a.createdAt).map((r) => this.stateOf(r));
  }

  get(id: string): DownloadState {
    return this.stateOf(this.record(id));
  }

  /** Starts a download; resolves once it is under way (the source answered and the disk has room). */
  async start(rawUri: string): Promise<DownloadState> {
    this.assertAlive();
    const uri = checkDownloadUri(rawUri);
    const id = randomUUID();
    const stagingDir = path.join(this.options.modelsDir(), stagingFolderName, id);
    const record: DownloadRecord = {
      id, uri, fileName: null, stagingDir, status: "starting", downloadedBytes: 0, totalBytes: 0,
      expectedSha256: null, expectedSize: null, path: null, error: null, createdAt: this.now(), updatedAt: this.now(),
    };
    this.records.set(id, record);
    this.prune();
    await this.begin(record);
    return this.stateOf(record);
  }

  async pause(id: string): Promise<DownloadState> {
    const record = this.record(id);
    const live = this.live.get(id);
    if (live && (record.status === "downloading" || record.status === "starting")) await this.stopTransfer(record, live, "pause");
    return this.stateOf(record);
  }

  async resume(id: string): Promise<DownloadState> {
    this.assertAlive();
    const record = this.record(id);
    if (record.status !== "paused" && record.status !== "failed") return this.stateOf(record);
    if (this.live.has(id)) await this.live.get(id)!.run;
    record.error = null;
    record.status = "starting";
    this.changed(record, true);
    await this.begin(record);
    return this.stateOf(record);
  }

  async cancel(id: string): Promise<DownloadState> {
    const record = this.record(id);
    const live = this.live.get(id);
    if (record.status === "done" || record.status === "cancelled") return this.stateOf(record);
    if (live) await this.stopTransfer(record, live, "cancel");
    this.removeStaging(record);
    record.status = "cancelled";
    record.error = null;
    this.changed(record, true);
    return this.stateOf(record);
  }

  /** Waits until a download is no longer moving (done, failed, paused or cancelled). */
  async settled(id: string): Promise<DownloadState> {
    // loops because a resume may start a new attempt meanwhile; every turn waits on a pending attempt's promise
    for (let live = this.live.get(id); live; live = this.live.get(id)) await live.run;
    return this.get(id);
  }

  /** Downloads that were running when the app last stopped (marked paused when the list was read). */
  interrupted(): string[] {
    return [...this.records.values()].filter((r) => r.status === "paused" && r.error?.code === "DOWNLOAD_FAILED" && r.error.message === interruptedMessage).map((r) => r.id);
  }

  /** Stops every transfer, keeping partial files: they resume after a restart. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.all([...this.live.entries()].map(([id, live]) => this.stopTransfer(this.records.get(id)!, live, "quit")));
    this.save(true);
  }

  // internals

  /**
   * Asks ipull to let go and waits for it, bounded: a transfer closed while it waits between retries may never
   * settle its promise, and a pause must not hang on that (the state is set here then).
   */
  private async stopTransfer(record: DownloadRecord, live: Live, mode: "pause" | "quit" | "cancel" | "stall") {
    live.stopping = mode;
    const gaveUp = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 5000).unref());
    // a transfer still being set up (no downloader yet) sees `stopping` in begin() and lets go there
    await Promise.race([live.downloader?.cancel({ deleteTempFile: mode === "cancel" }).catch(() => {}), gaveUp]);
    const outcome = await Promise.race([live.run.then(() => "settled" as const), gaveUp]);
    if (outcome === "timeout") {
      if (live.watchdog) clearInterval(live.watchdog);
      if (this.live.get(record.id) === live) this.live.delete(record.id);
      this.stopped(record, live, null);
      live.ended();
    }
  }

  private async begin(record: DownloadRecord): Promise<void> {
    const resuming = record.fileName !== null;
    let ended!: () => void;
    const run = new Promise<void>((resolve) => (ended = resolve));
    const live: Live = { downloader: null, stopping: null, lastEmit: 0, lastBytes: record.downloadedBytes, lastBytesAt: this.now(), samples: [], watchdog: null, run, ended };
    this.live.set(record.id, live);
    const letGo = () => {
      if (live.watchdog) clearInterval(live.watchdog);
      if (this.live.get(record.id) === live) this.live.delete(record.id);
      live.ended();
    };
    let downloader: ModelDownloader;
    try {
      fs.mkdirSync(record.stagingDir, { recursive: true });
      downloader = await createModelDownloader({
        modelUri: record.uri,
        dirPath: record.stagingDir,
        ...(record.fileName ? { fileName: record.fileName } : {}),
        showCliProgress: false,
        // a paused download keeps its partial file; ipull resumes from the progress it saved in it
        deleteTempFileOnCancel: false,
        skipExisting: false,
        onProgress: (status) => this.progress(record, live, status.downloadedSize, status.totalSize),
        ...(this.options.huggingFaceEndpoint ? { endpoints: { huggingFace: this.options.huggingFaceEndpoint } } : {}),
      });
    } catch (err) {
      this.fail(record, downloadError(err, record.uri));
      letGo();
      throw new EngineError(record.error!.code as EngineErrorCode, record.error!.message, { cause: err });
    }
    live.downloader = downloader;
    if (live.stopping) {
      // paused, cancelled or quit while the source was being asked: nothing was transferred yet
      await downloader.cancel({ deleteTempFile: live.stopping === "cancel" }).catch(() => {});
      this.stopped(record, live, null);
      letGo();
      return;
    }
    record.fileName = downloader.entrypointFilename;
    record.totalBytes = downloader.totalSize;
    record.downloadedBytes = downloader.downloadedSize;
    try {
      if (downloader.totalFiles !== 1) throw new EngineError("INVALID_INPUT", `${record.uri} is split into ${downloader.totalFiles} files; the library takes single-file GGUFs`);
      // asked once; a resume keeps what the source said the first time
      if (!resuming) {
        const probe = await probeSource(resolvedUrlOf(downloader));
        record.expectedSha256 = probe.sha256;
        record.expectedSize = probe.size;
      }
      if (record.expectedSize !== null && record.totalBytes > 0 && record.expectedSize !== record.totalBytes) {
        throw new EngineError("DOWNLOAD_VERIFY_FAILED", `the source says ${record.expectedSize} bytes but sends a Content-Length of ${record.totalBytes}`);
      }
      this.checkDisk(record);
    } catch (err) {
      await downloader.cancel({ deleteTempFile: true }).catch(() => {});
      this.removeStaging(record);
      this.fail(record, toEngineError(err));
      letGo();
      throw err;
    }
    record.status = "downloading";
    this.changed(record, true);
    live.watchdog = setInterval(() => this.checkStall(record, live), Math.min(1000, this.stallTimeoutMs()));
    void this.transfer(record, live, downloader).finally(letGo);
  }

  private async transfer(record: DownloadRecord, live: Live, downloader: ModelDownloader): Promise<void> {
    let staged: string;
    // a stop that gave up waiting on ipull (stopTransfer) already settled the record; a later attempt may own it now
    const superseded = () => this.live.get(record.id) !== live;
    try {
      staged = await downloader.download();
    } catch (err) {
      await this.drain(record);
      if (!superseded()) this.stopped(record, live, err);
      return;
    }
    if (superseded()) return;
    if (live.stopping) {
      await this.drain(record);
      this.stopped(record, live, null);
      return;
    }
    record.status = "verifying";
    record.downloadedBytes = record.totalBytes;
    this.changed(record, true);
    try {
      await this.verify(record, staged);
      const target = uniqueTarget(this.options.modelsDir(), record.fileName ?? path.basename(staged));
      fs.renameSync(staged, target);
      fsyncDir(path.dirname(target));
      this.removeStaging(record);
      record.path = target;
      record.status = "done";
      this.changed(record, true);
      this.options.onFinished?.(this.stateOf(record));
    } catch (err) {
      // a file that failed verification is not kept: downloading it again is the only fix
      this.removeStaging(record);
      this.fail(record, toEngineError(err));
    }
  }

  /**
   * ipull's download() settles once its close() returned, but a stopped transfer can still write the partial file:
   * close() neither waits for the chunk writes of the streams it aborted nor for a progress save queued behind its
   * lock (that save reopens the file after close, seen with ipull 3.9.5). Until those land, a new downloader on the
   * same file would read a progress record that is about to change, and a late save after the next attempt finished
   * would grow the finished file. So a stopped attempt ends only when the partial file is quiet.
   */
  private async drain(record: DownloadRecord) {
    await waitUntilQuiet(record.stagingDir);
  }

  private async verify(record: DownloadRecord, file: string) {
    const size = fs.statSync(file).size;
    const expected = record.expectedSize ?? (record.totalBytes > 0 ? record.totalBytes : null);
    if (expected !== null && size !== expected) {
      throw new EngineError("DOWNLOAD_VERIFY_FAILED", `${record.fileName}: got ${size} bytes, the source announced ${expected}`);
    }
    if (record.expectedSha256) {
      const actual = await sha256File(file);
      if (actual !== record.expectedSha256) throw new EngineError("DOWNLOAD_VERIFY_FAILED", `${record.fileName}: sha256 ${actual} differs from the source's ${record.expectedSha256}`);
    }
    // a GGUF that our preflight refuses is never listed as usable
    await this.options.verifyFile(file);
  }

  /** ipull let go of the transfer: paused, cancelled, stalled or failed. */
  private stopped(record: DownloadRecord, live: Live, err: unknown) {
    if (live.stopping === "cancel") return; // cancel() finishes the bookkeeping
    if (live.stopping === "pause" || live.stopping === "quit") {
      record.status = "paused";
      // a download the app stopped on its way out resumes at the next start
      if (live.stopping === "quit") record.error = { code: "DOWNLOAD_FAILED", message: interruptedMessage };
      this.changed(record, true);
      return;
    }
    if (live.stopping === "stall") {
      this.fail(record, new EngineError("DOWNLOAD_FAILED", `no data for ${Math.round(this.stallTimeoutMs() / 1000)} s from ${record.uri}; resume to try again`));
      return;
    }
    const error = downloadError(err, record.uri);
    // an HTTP refusal will not change on a resume: nothing partial is worth keeping
    if (error.code === "DOWNLOAD_HTTP_ERROR") this.removeStaging(record);
    this.fail(record, error);
  }

  private progress(record: DownloadRecord, live: Live, downloaded: number, total: number) {
    const t = this.now();
    if (downloaded > live.lastBytes) {
      live.lastBytes = downloaded;
      live.lastBytesAt = t;
    }
    record.downloadedBytes = downloaded;
    if (total > 0) record.totalBytes = total;
    live.samples.push({ t, bytes: downloaded });
    while (live.samples.length > 2 && t - live.samples[0]!.t > 3000) live.samples.shift();
    if (t - live.lastEmit >= (this.options.progressIntervalMs ?? 250)) {
      live.lastEmit = t;
      this.changed(record, false);
    }
  }

  private checkStall(record: DownloadRecord, live: Live) {
    if (live.stopping || record.status !== "downloading") return;
    if (this.now() - live.lastBytesAt < this.stallTimeoutMs()) return;
    void this.stopTransfer(record, live, "stall");
  }

  private stallTimeoutMs() {
    return this.options.stallTimeoutMs ?? 60_000;
  }

  private checkDisk(record: DownloadRecord) {
    const needed = Math.max(0, record.totalBytes - record.downloadedBytes);
    if (needed === 0) return;
    const free = (this.options.freeDiskBytes ?? freeDiskBytes)(this.options.modelsDir());
    // ipull keeps its progress at the end of the partial file: a little more than the file itself
    if (free < needed + 16 * 1024 * 1024) {
      throw new EngineError("DISK_FULL", `${record.fileName ?? record.uri} needs ${mib(needed)} more; ${mib(free)} free on the models folder's disk`);
    }
  }

  private fail(record: DownloadRecord, error: EngineError) {
    record.status = "failed";
    record.error = { code: error.code, message: error.message };
    this.changed(record, true);
  }

  private changed(record: DownloadRecord, statusChange: boolean) {
    record.updatedAt = this.now();
    this.save(statusChange);
    try {
      this.options.onChange(this.stateOf(record));
    } catch {
      // a listener's failure must not stop a download
    }
  }

  private stateOf(r: DownloadRecord): DownloadState {
    const live = this.live.get(r.id);
    let speed = 0;
    if (live && live.samples.length >= 2 && r.status === "downloading") {
      const first = live.samples[0]!;
      const last = live.samples[live.samples.length - 1]!;
      speed = last.t > first.t ? ((last.bytes - first.bytes) * 1000) / (last.t - first.t) : 0;
    }
    const remaining = Math.max(0, r.totalBytes - r.downloadedBytes);
    return {
      id: r.id,
      uri: r.uri,
      fileName: r.fileName,
      status: r.status,
      downloadedBytes: r.downloadedBytes,
      totalBytes: r.totalBytes,
      percent: r.totalBytes > 0 ? Math.min(100, (r.downloadedBytes / r.totalBytes) * 100) : 0,
      bytesPerSecond: Math.max(0, speed),
      etaSeconds: speed > 0 ? remaining / speed : null,
      expectedSha256: r.expectedSha256,
      path: r.path,
      error: r.error ? { code: r.error.code as EngineErrorCode, message: r.error.message } : null,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
    };
  }

  private record(id: string): DownloadRecord {
    const record = this.records.get(id);
    if (!record) throw new EngineError("DOWNLOAD_NOT_FOUND", `no download with id ${id}`);
    return record;
  }

  private removeStaging(record: DownloadRecord) {
    try {
      fs.rmSync(record.stagingDir, { recursive: true, force: true });
    } catch {
      // best effort: a leftover staging folder is hidden and cleaned at the next start
    }
  }

  /** Keeps the list bounded: the oldest finished entries go first. */
  private prune() {
    const finished = [...this.records.values()].filter((r) => r.status === "done" || r.status === "cancelled" || r.status === "failed").sort((a, b) => a.updatedAt - b.updatedAt);
    while (this.records.size > maxDownloadsKept && finished.length > 0) this.records.delete(finished.shift()!.id);
  }

  private load() {
    const file = this.options.stateFile;
    if (!file) return;
    const raw = readJsonFile(file);
    if (!raw.ok) return;
    const parsed = stateFileSchema.safeParse(raw.value);
    if (!parsed.success) return;
    for (const item of parsed.data.downloads) {
      const entry = recordSchema.safeParse(item);
      if (!entry.success) continue;
      const record = entry.data;
      if (record.status === "starting" || record.status === "downloading" || record.status === "verifying") {
        // the app stopped while it ran: its partial file is still in the staging folder
        record.status = "paused";
        record.error = { code: "DOWNLOAD_FAILED", message: interruptedMessage };
      }
      this.records.set(record.id, record);
    }
    this.cleanOrphans();
  }

  /** Staging folders no download refers to (a crash between the move and the save) are removed. */
  private cleanOrphans() {
    const staging = path.join(this.options.modelsDir(), stagingFolderName);
    let entries: string[] = [];
    try {
      entries = fs.readdirSync(staging);
    } catch {
      return;
    }
    const known = new Set([...this.records.values()].filter((r) => r.status === "paused" || r.status === "failed").map((r) => path.basename(r.stagingDir)));
    for (const name of entries) if (!known.has(name)) fs.rmSync(path.join(staging, name), { recursive: true, force: true });
  }

  private save(force: boolean) {
    const file = this.options.stateFile;
    if (!file) return;
    const t = this.now();
    if (!force && t - this.lastSave < 2000) return;
    this.lastSave = t;
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      writeFileAtomic(file, JSON.stringify({ version: 1, downloads: [...this.records.values()] }, null, 1) + "\n");
    } catch {
      // the list is a convenience: a download goes on even when it cannot be saved
    }
  }

  private assertAlive() {
    if (this.disposed) throw new EngineError("INTERNAL", "the download manager was closed");
  }
}

/** node-llama-cpp 3.21.1 keeps the URL it resolved (an hf: URI's file URL) in a private field; null when absent. */
function resolvedUrlOf(downloader: ModelDownloader): string | null {
  const url = (downloader as unknown as { _modelUrl?: unknown })._modelUrl;
  return typeof url === "string" && /^https?:\/\//.test(url) ? url : null;
}

/**
 * What the source says about the file besides its Content-Length: Hugging Face answers a resolve URL with a redirect
 * carrying X-Linked-Size and X-Linked-Etag (the LFS object's sha256); other servers may send Repr-Digest or an ETag
 * that is a sha256.
 */
export async function probeSource(url: string | null): Promise<{ size: number | null; sha256: string | null }> {
  const none = { size: null, sha256: null };
  if (!url) return none;
  try {
    let res = await fetch(url, { method: "HEAD", redirect: "manual", signal: AbortSignal.timeout(15_000) });
    const linked = fromHeaders(res.headers);
    if (linked.sha256 || linked.size !== null) return linked;
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location) {
      res = await fetch(new URL(location, url), { method: "HEAD", signal: AbortSignal.timeout(15_000) });
      return fromHeaders(res.headers);
    }
    return linked;
  } catch {
    return none;
  }
}

function fromHeaders(headers: Headers): { size: number | null; sha256: string | null } {
  const sizeText = headers.get("x-linked-size");
  const size = sizeText && /^\d+$/.test(sizeText) ? Number(sizeText) : null;
  const candidates = [headers.get("x-linked-etag"), headers.get("etag")].map((v) => v?.replace(/^W\//, "").replace(/"/g, "").trim().toLowerCase() ?? "");
  let sha256 = candidates.find((v) => /^[0-9a-f]{64}$/.test(v)) ?? null;
  const digest = headers.get("repr-digest") ?? headers.get("digest");
  const m = digest ? /sha-256=:?([A-Za-z0-9+/=]+):?/i.exec(digest) : null;
  if (!sha256 && m) {
    const hex = Buffer.from(m[1]!, "base64").toString("hex");
    if (hex.length === 64) sha256 = hex;
  }
  return { size, sha256 };
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Waits until no file in `dir` changed size or mtime for 400 ms (at most 5 s). */
async function waitUntilQuiet(dir: string) {
  const snapshot = () => {
    try {
      return fs.readdirSync(dir).map((n) => { const st = fs.statSync(path.join(dir, n)); return `${n}:${st.size}:${st.mtimeMs}`; }).join("|");
    } catch {
      return "";
    }
  };
  const until = Date.now() + 5000;
  let last = snapshot();
  let quietSince = Date.now();
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    const now = snapshot();
    if (now !== last) {
      last = now;
      quietSince = Date.now();
    } else if (Date.now() - quietSince >= 400) return;
  }
}

function freeDiskBytes(dir: string): number {
  fs.mkdirSync(dir, { recursive: true });
  const stats = fs.statfsSync(dir);
  return Number(stats.bavail) * Number(stats.bsize);
}

/** model.gguf, else model (2).gguf, ...: a download never replaces a file already in the folder. */
function uniqueTarget(dir: string, fileName: string): string {
  const safe = path.basename(fileName);
  const ext = path.extname(safe);
  const stem = safe.slice(0, safe.length - ext.length);
  for (let i = 1; ; i++) {
    const candidate = path.join(dir, i === 1 ? safe : `${stem} (${i})${ext}`);
    if (!fs.existsSync(candidate)) return candidate;
  }
}

/** ipull's and node-llama-cpp's failures as typed errors. */
function downloadError(err: unknown, uri: string): EngineError {
  if (err instanceof EngineError) return err;
  const e = err as { statusCode?: unknown; message?: unknown; name?: unknown } | null;
  const message = typeof e?.message === "string" ? e.message : String(err);
  if (typeof e?.statusCode === "number") return new EngineError("DOWNLOAD_HTTP_ERROR", `HTTP ${e.statusCode} from ${uri}`, { cause: err });
  if (/Cannot get quantization|does not exist|manifest/i.test(message)) return new EngineError("DOWNLOAD_HTTP_ERROR", message, { cause: err });
  if (/ENOSPC/.test(message)) return new EngineError("DISK_FULL", `the disk is full: ${message}`, { cause: err });
  return new EngineError("DOWNLOAD_FAILED", `download of ${uri} failed: ${message}`, { cause: err });
}

function mib(bytes: number) {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

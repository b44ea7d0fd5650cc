// Downloads through the model library against a local server (test/helpers/model-server.ts) serving a generated MoE
// fixture: byte-identical results, hf: URIs, a connection that dies half way, pause/resume and a restart (the bytes
// fetched again are counted), cancel, HTTP and verification failures as typed errors, several at once, and the
// downloaded model loading and chatting through the host.
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DownloadState, HostEvent } from "../../electron/api/contract.js";
import { createHost } from "../../electron/host/host.js";
import { ModelLibrary } from "../../electron/models/index.js";
import { DownloadManager } from "../../electron/models/downloads.js";
import { inspectModelFile } from "../../electron/engine/model-file.js";
import { startModelServer, type ModelServer } from "../helpers/model-server.js";
import { fixture as fixtureFile } from "../helpers/fixtures.js";
const fixturePath = (n: string) => fixtureFile(`${n}.gguf`);

const fixture = fixturePath("qwen3moe-tiny");
const fixtureBytes = fs.readFileSync(fixture);
const fixtureSha = createHash("sha256").update(fixtureBytes).digest("hex");
const name = path.basename(fixture);

let server: ModelServer;
const tmp: string[] = [];
const libraries: ModelLibrary[] = [];

function tempDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lynx-dl-"));
  tmp.push(dir);
  return dir;
}

function openLibrary(dataDir = tempDir(), events: HostEvent[] = []) {
  const library = ModelLibrary.open({
    modelsDir: path.join(dataDir, "models"),
    stateDir: dataDir,
    settings: null,
    events: (e) => events.push(e),
    huggingFaceEndpoint: `${server.origin}/`,
    progressIntervalMs: 100,
    stallTimeoutMs: 10_000,
  });
  libraries.push(library);
  return { library, dataDir, events };
}

const sha256 = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");
const gguf = (dir: string) => fs.readdirSync(dir).filter((n) => n.endsWith(".gguf"));
const staging = (dir: string) => (fs.existsSync(path.join(dir, ".downloads")) ? fs.readdirSync(path.join(dir, ".downloads")) : []);

async function waitFor(check: () => boolean, what: string, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  server = await startModelServer([fixture]);
});

afterAll(async () => {
  for (const library of libraries) await library.dispose().catch(() => {});
  await server.close();
  for (const dir of tmp) fs.rmSync(dir, { recursive: true, force: true });
});

describe("model downloads", () => {
  it("downloads a URL and two hf: URIs at once, byte-identical, with throttled progress, into the models folder", async () => {
    server.throttle = 20 * 1024 * 1024;
    const { library, events } = openLibrary();
    const started = await Promise.all([
      library.downloads.start(`${server.origin}/plain/files/${name}`),
      library.downloads.start(`hf:lynx-test/tiny-GGUF/${name}`),
      library.downloads.start("hf:lynx-test/tiny-GGUF:Q8_0"),
    ]);
    const done = await Promise.all(started.map((s) => library.downloads.settled(s.id)));
    server.throttle = 0;
    for (const d of done) {
      expect(d.status, JSON.stringify(d.error)).toBe("done");
      expect(path.dirname(d.path!)).toBe(library.modelsDir);
      expect(sha256(d.path!)).toBe(fixtureSha);
    }
    // the hf: ones carried the source's sha256 (X-Linked-Etag) and were checked against it
    expect(done[1]!.expectedSha256).toBe(fixtureSha);
    expect(done[2]!.expectedSha256).toBe(fixtureSha);
    expect(gguf(library.modelsDir)).toHaveLength(3);
    expect(staging(library.modelsDir)).toEqual([]);
    const progress = events.filter((e): e is { type: "download.progress"; download: DownloadState } => e.type === "download.progress").map((e) => e.download);
    const first = progress.filter((p) => p.id === done[0]!.id && p.status === "downloading");
    expect(first.length).toBeGreaterThan(2);
    // at most one progress event per 100 ms per download (plus the status changes)
    expect(first.length).toBeLessThan(2 + (done[0]!.updatedAt - done[0]!.createdAt) / 100 + 2);
    expect(first.some((p) => p.bytesPerSecond > 0 && p.etaSeconds !== null && p.percent > 0 && p.percent < 100)).toBe(true);
    expect(events.some((e) => e.type === "library.changed")).toBe(true);
    // the library lists them as usable
    const state = await library.list();
    expect(state.models.filter((m) => m.details?.isMoE)).toHaveLength(3);
  });

  it("resumes after the connection dies half way: only the unfinished chunk is fetched again", async () => {
    const { library } = openLibrary();
    const before = server.rangedBytes();
    const started = await library.downloads.start(`${server.origin}/plain/die-once/${name}`);
    const done = await library.downloads.settled(started.id);
    expect(done.status, JSON.stringify(done.error)).toBe("done");
    expect(sha256(done.path!)).toBe(fixtureSha);
    const refetched = server.rangedBytes() - before - fixtureBytes.length;
    console.log(`[downloads] connection cut at 50%: ${refetched} of ${fixtureBytes.length} bytes fetched again`);
    expect(refetched).toBeGreaterThanOrEqual(0);
    expect(refetched).toBeLessThan(fixtureBytes.length / 4);
  });

  it("pauses and resumes, and resumes after an app restart from the saved list", async () => {
    server.throttle = 6 * 1024 * 1024;
    const { library, dataDir } = openLibrary();
    const started = await library.downloads.start(`${server.origin}/plain/files/${name}`);
    await waitFor(() => library.downloads.get(started.id).downloadedBytes > 6 * 1024 * 1024, "a third of the file");
    const paused = await library.downloads.pause(started.id);
    expect(paused.status).toBe("paused");
    const atPause = server.rangedBytes();
    await library.downloads.resume(started.id);
    // ipull keeps only whole 5 MiB chunks (3 streams at a time): past 20 MB most chunks are complete and saved
    await waitFor(() => library.downloads.get(started.id).downloadedBytes > 20 * 1024 * 1024, "most of the file");

    // "quit" the app: the transfer stops, the partial file and the list stay
    await library.dispose();
    const afterQuit = server.rangedBytes();
    expect(staging(library.modelsDir)).toEqual([started.id]);
    const saved = JSON.parse(fs.readFileSync(path.join(dataDir, "downloads.json"), "utf8")) as { downloads: Array<{ id: string; status: string }> };
    expect(saved.downloads.find((d) => d.id === started.id)?.status).toBe("paused");

    // start again: the download resumes by itself
    const { library: again } = openLibrary(dataDir);
    await waitFor(() => again.downloads.get(started.id).status !== "paused", "the resume after the restart");
    const done = await again.downloads.settled(started.id);
    server.throttle = 0;
    expect(done.status, JSON.stringify(done.error)).toBe("done");
    expect(sha256(done.path!)).toBe(fixtureSha);
    const total = server.rangedBytes();
    const servedAfterRestart = total - afterQuit;
    const servedAfterPause = afterQuit - atPause;
    console.log(`[downloads] after pause: ${servedAfterPause} bytes; after restart: ${servedAfterRestart} of ${fixtureBytes.length}`);
    // ipull saves its progress per 5 MiB chunk: a resume fetches the unfinished chunk again, never the whole file
    expect(servedAfterRestart).toBeLessThan(fixtureBytes.length * 0.75);
  });

  it("cancels: no partial file is left in the models folder", async () => {
    server.throttle = 4 * 1024 * 1024;
    const { library } = openLibrary();
    const started = await library.downloads.start(`${server.origin}/plain/files/${name}`);
    await waitFor(() => library.downloads.get(started.id).downloadedBytes > 2 * 1024 * 1024, "some bytes");
    const cancelled = await library.downloads.cancel(started.id);
    server.throttle = 0;
    expect(cancelled.status).toBe("cancelled");
    expect(gguf(library.modelsDir)).toEqual([]);
    expect(staging(library.modelsDir)).toEqual([]);
    expect(fs.readdirSync(library.modelsDir).filter((n) => n !== ".downloads")).toEqual([]);
  });

  it("gives typed errors: 404, a truncated transfer, a size the source contradicts, a full disk, a bad URI", async () => {
    const { library } = openLibrary();
    // a failure shows either when the source first answers (start rejects) or during the transfer
    const outcome = async (uri: string) => {
      const started = await library.downloads.start(uri).catch((e: { code: string }) => e);
      if ("code" in started && !("status" in started)) return started.code;
      const end = await library.downloads.settled((started as DownloadState).id);
      return end.status === "failed" ? end.error!.code : end.status;
    };
    expect(await outcome(`${server.origin}/plain/missing/${name}`)).toBe("DOWNLOAD_HTTP_ERROR");
    expect(await outcome(`${server.origin}/plain/short/${name}`)).toBe("TRUNCATED_GGUF");
    expect(await outcome(`${server.origin}/plain/short-linked/${name}`)).toBe("DOWNLOAD_VERIFY_FAILED");
    await expect(library.downloads.start("ftp://example.com/model.gguf")).rejects.toMatchObject({ code: "INVALID_INPUT" });
    expect(gguf(library.modelsDir)).toEqual([]);
    expect(staging(library.modelsDir)).toEqual([]);
    const failed = library.downloads.list().filter((d) => d.status === "failed").map((d) => d.error?.code);
    expect(failed).toEqual(expect.arrayContaining(["DOWNLOAD_HTTP_ERROR", "TRUNCATED_GGUF", "DOWNLOAD_VERIFY_FAILED"]));

    const dir = tempDir();
    const manager = new DownloadManager({
      modelsDir: () => dir,
      stateFile: null,
      verifyFile: async (f) => void (await inspectModelFile(f)),
      onChange: () => {},
      freeDiskBytes: () => 1024 * 1024,
    });
    await expect(manager.start(`${server.origin}/plain/files/${name}`)).rejects.toMatchObject({ code: "DISK_FULL" });
    expect(fs.readdirSync(dir).filter((n) => n !== ".downloads")).toEqual([]);
  });

  it("takes a models folder only as an existing absolute path: a page cannot make folders where it likes", () => {
    const { library, dataDir } = openLibrary();
    const before = library.modelsDir;
    const cwdBefore = fs.readdirSync(process.cwd());
    expect(() => library.setModelsDir("fuzz relative dir")).toThrow(/absolute path/);
    expect(() => library.setModelsDir(path.join(dataDir, "no", "such"))).toThrow(/does not exist/);
    expect(() => library.setModelsDir(fixture)).toThrow(/not a folder/);
    expect(library.modelsDir).toBe(before);
    expect(fs.existsSync(path.join(dataDir, "no"))).toBe(false);
    expect(fs.readdirSync(process.cwd())).toEqual(cwdBefore);
    const picked = fs.mkdtempSync(path.join(dataDir, "picked-"));
    library.setModelsDir(picked);
    expect(library.modelsDir).toBe(picked);
    library.setModelsDir(path.join(dataDir, "default-models"), { create: true });
    expect(fs.statSync(path.join(dataDir, "default-models")).isDirectory()).toBe(true);
  });

  it("a downloaded model loads and chats through the host, from an empty models folder", async () => {
    const dataDir = tempDir();
    const host = await createHost({ modelPath: fixturePath("olmoe-tiny"), dataDir, maxChats: 2, huggingFaceEndpoint: `${server.origin}/` });
    try {
      const empty = await host.listModels();
      expect(empty.models.filter((m) => m.origin === "folder")).toEqual([]);
      const started = await host.startDownload(`hf:lynx-test/tiny-GGUF/${name}`);
      const done = await host.library!.downloads.settled(started.id);
      expect(done.status).toBe("done");
      const listed = await host.listModels();
      const entry = listed.models.find((m) => m.path === done.path);
      expect(entry?.details?.architecture).toBe("qwen3moe");
      expect(entry?.fit?.fits).toBe(true);
      const info = await host.loadModel(done.path!);
      expect(info.path).toBe(done.path);
      const chat = await host.openChat({ sampling: { temperature: 0, topK: 1, topP: 1, minP: 0, repeatPenalty: 1, maxTokens: 8 } });
      const finished = new Promise<string>((resolve) => {
        const off = host.subscribe(
          (e) => {
            if (e.type === "chat.done" && e.chatId === chat.id) {
              off();
              resolve(e.message.text);
            }
          },
          () => {},
        );
      });
      await host.send(chat.id, "Hello");
      const text = await finished;
      expect(typeof text).toBe("string");
      const snapshot = (await host.listChats()).find((c) => c.id === chat.id)!;
      expect(snapshot.messages.at(-1)?.stats?.tokens ?? 0).toBeGreaterThan(0);
    } finally {
      await host.dispose();
    }
  });
});

// The renderer's library store: it follows download events while attached, survives an attach / detach / attach
// (what React's StrictMode does to an effect), and a list fetched while events arrived never undoes them.
import { describe, expect, it } from "vitest";
import type { DownloadState, HostEvent, LynxApi, ModelLibraryState } from "../../electron/api/contract.js";
import { createLibraryStore } from "../../renderer/src/store/library.js";

function download(percent: number, updatedAt: number, status: DownloadState["status"] = "downloading"): DownloadState {
  return {
    id: "00000000-0000-4000-8000-000000000001", uri: "http://127.0.0.1/m.gguf", fileName: "m.gguf", status,
    downloadedBytes: percent * 1000, totalBytes: 100_000, percent, bytesPerSecond: 0, etaSeconds: null,
    expectedSha256: null, path: null, error: null, createdAt: 1, updatedAt,
  };
}

/** Only what the store calls: listModels (answered when the test says) and subscribe. */
function fakeApi() {
  const listeners = new Set<(e: HostEvent) => void>();
  const pending: Array<(s: ModelLibraryState) => void> = [];
  const api = {
    listModels: () => new Promise<ModelLibraryState>((resolve) => pending.push(resolve)),
    subscribe: (onEvent: (e: HostEvent) => void) => {
      listeners.add(onEvent);
      return () => listeners.delete(onEvent);
    },
  } as unknown as LynxApi;
  const list = (downloads: DownloadState[]): ModelLibraryState => ({ modelsDir: "/m", models: [], downloads, curated: [], memory: { machineBytes: 1, availableBytes: 1 }, gpu: false });
  return {
    api,
    listeners,
    answer: (downloads: DownloadState[]) => pending.shift()!(list(downloads)),
    emit: (d: DownloadState) => listeners.forEach((l) => l({ type: "download.progress", download: d })),
  };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe("library store", () => {
  it("stays subscribed after attach, detach, attach", async () => {
    const fake = fakeApi();
    const store = createLibraryStore(fake.api);
    store.getState().attach()();
    const detach = store.getState().attach();
    expect(fake.listeners.size).toBe(1);
    fake.answer([]);
    fake.answer([]);
    await settle();
    fake.emit(download(40, 10));
    expect(store.getState().state?.downloads[0]?.percent).toBe(40);
    detach();
    expect(fake.listeners.size).toBe(0);
  });

  it("keeps events newer than a list fetched before them", async () => {
    const fake = fakeApi();
    const store = createLibraryStore(fake.api);
    store.getState().attach();
    fake.answer([download(0, 1)]);
    await settle();
    void store.getState().refresh(); // its answer is a snapshot taken at 41%
    fake.emit(download(60, 30));
    fake.emit(download(100, 40, "done"));
    fake.answer([download(41, 20)]);
    await settle();
    expect(store.getState().state?.downloads[0]).toMatchObject({ percent: 100, status: "done" });
    // a list newer than every event wins
    void store.getState().refresh();
    fake.answer([{ ...download(100, 50, "done"), path: "/m/m.gguf" }]);
    await settle();
    expect(store.getState().state?.downloads[0]?.path).toBe("/m/m.gguf");
  });
});

describe("library store: the models folder", () => {
  const state: ModelLibraryState = { modelsDir: "/m", models: [], downloads: [], curated: [], memory: { machineBytes: 1, availableBytes: 1 }, gpu: false };
  function folderApi(choose: () => Promise<unknown>, update: (patch: unknown) => Promise<unknown>) {
    const calls = { lists: 0, updates: [] as unknown[] };
    const api = {
      listModels: async () => (calls.lists++, state),
      subscribe: () => () => {},
      updateAppSettings: async (patch: unknown) => (calls.updates.push(patch), update(patch)),
      chooseModelsDir: choose,
    } as unknown as LynxApi;
    return { api, calls };
  }

  it("a refused folder gives the host's reason and false; a good one clears it and refreshes the list", async () => {
    let refuse = true;
    const { api, calls } = folderApi(async () => null, async () => {
      if (refuse) throw Object.assign(new Error("the models folder /nope does not exist"), { code: "INVALID_INPUT" });
      return {};
    });
    const store = createLibraryStore(api);
    expect(await store.getState().setModelsDir("/nope")).toBe(false);
    expect(store.getState().folderError).toBe("the models folder /nope does not exist");
    expect(calls.lists).toBe(0);
    refuse = false;
    expect(await store.getState().setModelsDir(null)).toBe(true);
    expect(calls.updates).toEqual([{ modelsDir: "/nope" }, { modelsDir: null }]);
    expect(store.getState().folderError).toBeNull();
    expect(calls.lists).toBe(1);
  });

  it("the desktop picker: a pick refreshes, a cancel changes nothing, a failure is shown", async () => {
    let answer: () => Promise<unknown> = async () => ({ modelsDir: "/picked" });
    const { api, calls } = folderApi(() => answer(), async () => ({}));
    const store = createLibraryStore(api);
    await store.getState().chooseModelsDir();
    expect(calls.lists).toBe(1);
    answer = async () => null;
    await store.getState().chooseModelsDir();
    expect(calls.lists).toBe(1);
    answer = async () => {
      throw Object.assign(new Error("/picked is not a folder"), { code: "INVALID_INPUT" });
    };
    await store.getState().chooseModelsDir();
    expect(store.getState().folderError).toBe("/picked is not a folder");
  });
});

// The Local API switch without a model: settings validation, the service's start / restart / stop on a real
// socket (an engine-less server answers /health with 503), errors kept in the state, and the renderer's labels.
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { defaultLocalApiSettings, type LocalApiSettings } from "../../electron/api/contract.js";
import { localApiSettingsSchema, validateApiArgs } from "../../electron/api/schemas.js";
import { createLocalApiService, type LocalApiService } from "../../electron/host/local-api.js";
import { appSettingsSchema } from "../../electron/store/format.js";
import { apiGenerationLabel, apiRequestIdOf } from "../../renderer/src/store/local-api.js";

const services: LocalApiService[] = [];
function service(initial: Partial<LocalApiSettings> = {}) {
  const saved: LocalApiSettings[] = [];
  let current = { ...defaultLocalApiSettings, ...initial };
  const s = createLocalApiService({
    engine: () => null,
    load: () => current,
    save: (settings) => {
      saved.push(settings);
      current = settings;
    },
  });
  services.push(s);
  return { s, saved };
}
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

const health = async (url: string) => (await fetch(url.replace(/\/v1$/, "/health"))).status;
const refused = (url: string) =>
  fetch(url.replace(/\/v1$/, "/health")).then(
    () => false,
    () => true,
  );

describe("local API settings", () => {
  it("accepts addresses and keys within bounds, and refuses the rest", () => {
    const ok = (v: unknown) => localApiSettingsSchema.partial().safeParse(v).success;
    expect(ok({ host: "127.0.0.1", port: 1234, apiKey: null, enabled: true })).toBe(true);
    expect(ok({ host: "::1" })).toBe(true);
    expect(ok({ host: "0.0.0.0", apiKey: "k".repeat(8) })).toBe(true);
    expect(ok({ host: "localhost" })).toBe(true);
    expect(ok({ host: "example.com" })).toBe(false);
    expect(ok({ host: "127.0.0.1:80" })).toBe(false);
    expect(ok({ port: 65536 })).toBe(false);
    expect(ok({ port: 1.5 })).toBe(false);
    expect(ok({ apiKey: "short" })).toBe(false);
    expect(ok({ apiKey: "has a space in it" })).toBe(false);
    expect(ok({ apiKey: "x".repeat(257) })).toBe(false);
    expect(ok({ extra: 1 })).toBe(false);
    expect(validateApiArgs("setLocalApi", [{ enabled: true }]).ok).toBe(true);
    expect(validateApiArgs("setLocalApi", [{ enabled: "yes" }]).ok).toBe(false);
    expect(validateApiArgs("getLocalApi", [1]).ok).toBe(false);
  });

  it("is optional in a stored state file (stores written before it parse)", () => {
    const settings = { pruning: { mode: "preset", preset: "off" }, maxChats: null, threads: null, theme: "system", lastModel: null, recentModels: [] };
    expect(appSettingsSchema.safeParse(settings).success).toBe(true);
    expect(appSettingsSchema.safeParse({ ...settings, localApi: defaultLocalApiSettings }).success).toBe(true);
    expect(appSettingsSchema.safeParse({ ...settings, localApi: { ...defaultLocalApiSettings, port: -1 } }).success).toBe(false);
  });
});

describe("local API service", () => {
  it("starts, restarts on a new port, and stops, saving each change", async () => {
    const { s, saved } = service();
    expect(s.state()).toMatchObject({ running: false, url: null, requests: [] });
    const on = await s.configure({ enabled: true, port: 0 });
    expect(on.running).toBe(true);
    expect(on.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    // no engine behind it: it answers, with 503
    expect(await health(on.url!)).toBe(503);
    const moved = await s.configure({ port: 0, apiKey: "secret-key-123" });
    expect(moved.running).toBe(true);
    expect(moved.url).not.toBe(on.url);
    expect(await refused(on.url!)).toBe(true);
    // the key is required on /v1 and /metrics (not /health)
    expect((await fetch(`${moved.url}/models`)).status).toBe(401);
    expect((await fetch(`${moved.url}/models`, { headers: { authorization: "Bearer secret-key-123" } })).status).toBe(503);
    const off = await s.configure({ enabled: false });
    expect(off).toMatchObject({ running: false, url: null, error: null });
    expect(await refused(moved.url!)).toBe(true);
    expect(saved.map((x) => x.enabled)).toEqual([true, true, false]);
    expect(saved[1]!.apiKey).toBe("secret-key-123");
  });

  it("refuses a non-loopback address without a key, and an invalid setting, changing nothing", async () => {
    const { s, saved } = service();
    await expect(s.configure({ enabled: true, host: "0.0.0.0" })).rejects.toThrow(/requires an API key/);
    await expect(s.configure({ port: 70000 })).rejects.toThrow(/local API/);
    expect(saved).toEqual([]);
    expect(s.state().running).toBe(false);
  });

  it("keeps a start failure (port in use) in the state, and starts once the port is free", async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as net.AddressInfo).port;
    const { s } = service();
    const failed = await s.configure({ enabled: true, port });
    expect(failed.running).toBe(false);
    expect(failed.error).toMatch(new RegExp(`port ${port} .* in use`));
    await new Promise<void>((r) => blocker.close(() => r()));
    const retried = await s.configure({ enabled: true, port });
    expect(retried).toMatchObject({ running: true, error: null, url: `http://127.0.0.1:${port}/v1` });
  });

  it("restores a saved enabled setting at launch", async () => {
    const { s } = service({ enabled: true, port: 0 });
    expect(s.state().running).toBe(false);
    const restored = await s.restore();
    expect(restored.running).toBe(true);
    expect(await health(restored.url!)).toBe(503);
  });

  it("runs changes one after another (a burst of toggles ends in the last state)", async () => {
    const { s } = service();
    const states = await Promise.all([s.configure({ enabled: true, port: 0 }), s.configure({ enabled: false }), s.configure({ enabled: true, port: 0 })]);
    expect(states.map((x) => x.running)).toEqual([true, false, true]);
    expect(s.state().running).toBe(true);
  });
});

describe("API generations in the renderer", () => {
  it("maps telemetry ids to their request and labels them", () => {
    expect(apiRequestIdOf("api-1b2c-0")).toBe("1b2c");
    expect(apiRequestIdOf("0f9e4c1a-uuid-of-a-tab")).toBeNull();
    const requests = [{ id: "1b2c", endpoint: "chat.completions", client: "127.0.0.1 OpenAI/JS 6.49.0", state: "generating" as const, startedAt: 0, tokens: 3, tokensPerSecond: 1 }];
    expect(apiGenerationLabel("api-1b2c-0", requests)).toBe("API request · 127.0.0.1 OpenAI/JS 6.49.0");
    expect(apiGenerationLabel("api-1b2c-2", requests)).toBe("API request (choice 2) · 127.0.0.1 OpenAI/JS 6.49.0");
    expect(apiGenerationLabel("api-gone-0", [])).toBe("API request");
  });
});

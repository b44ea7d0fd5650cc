// The app's "Local API" switch: runs the OpenAI-compatible server (electron/openai) on the host's current engine,
// with the settings saved in the chat store. The host composes it: the server asks for the engine on every request,
// so after a model switch it serves the new one; while the switch runs it answers 503 and the requests in flight
// end with a 503 error (their sequences belong to the engine being disposed).
import { defaultLocalApiSettings, type LocalApiSettings, type LocalApiState } from "../api/contract.js";
import { localApiSettingsSchema } from "../api/schemas.js";
import type { LynxEngine } from "../engine/engine.js";
import { EngineError } from "../engine/errors.js";
import { OpenAiError } from "../openai/errors.js";
import type { ApiServer } from "../openai/server.js";

export interface LocalApiOptions {
  /** The engine to serve now; null while none can take requests (a model switch). */
  engine(): LynxEngine | null;
  /** The saved settings (defaults when nothing is saved). */
  load(): LocalApiSettings;
  /** Saves the settings; throws when they cannot be saved (the change is then not applied). */
  save(settings: LocalApiSettings): void;
}

export interface LocalApiService {
  state(): LocalApiState;
  /** Validates, saves and applies a change: starts, restarts (address or key changed) or stops the server. */
  configure(patch: Partial<LocalApiSettings>): Promise<LocalApiState>;
  /** Starts the server if the saved settings say so (at launch); a failure is kept in the state, not thrown. */
  restore(): Promise<LocalApiState>;
  /** Ends the requests in flight before the engine under them is disposed. */
  endRequests(message: string): Promise<void>;
  close(): Promise<void>;
}

const loopback = new Set(["127.0.0.1", "::1", "localhost"]);

function sameServer(a: LocalApiSettings, b: LocalApiSettings) {
  return a.host === b.host && a.port === b.port && a.apiKey === b.apiKey;
}

function startError(err: unknown, settings: LocalApiSettings): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === "EADDRINUSE") return `port ${settings.port} on ${settings.host} is in use by another program`;
  if (code === "EADDRNOTAVAIL") return `${settings.host} is not an address of this machine`;
  if (code === "EACCES") return `not allowed to listen on ${settings.host}:${settings.port} (ports below 1024 need privileges)`;
  return (err as Error)?.message ?? String(err);
}

export function createLocalApiService(options: LocalApiOptions): LocalApiService {
  let settings: LocalApiSettings = { ...defaultLocalApiSettings, ...options.load() };
  let server: ApiServer | null = null;
  let error: string | null = null;
  // configure calls run one after another: a restart must not race a stop
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(run: () => Promise<T>): Promise<T> => {
    const next = queue.then(run, run);
    queue = next.catch(() => {});
    return next;
  };

  const state = (): LocalApiState => ({
    settings: { ...settings },
    running: server !== null,
    url: server?.url ?? null,
    error,
    requests: server?.requests() ?? [],
  });

  async function stop() {
    const running = server;
    server = null;
    await running?.close();
  }

  async function apply(): Promise<void> {
    error = null;
    if (!settings.enabled) return stop();
    // the OpenAI server module is loaded only when the API is switched on
    const { startApiServer } = await import("../openai/server.js");
    try {
      server = await startApiServer(options.engine, {
        host: settings.host,
        port: settings.port,
        ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
      });
    } catch (err) {
      server = null;
      error = startError(err, settings);
    }
  }

  return {
    state,
    configure(patch) {
      return serial(async () => {
        const parsed = localApiSettingsSchema.safeParse({ ...settings, ...patch });
        if (!parsed.success) throw new EngineError("INVALID_INPUT", `local API: ${parsed.error.issues[0]?.message ?? "invalid settings"}`);
        const next = parsed.data;
        if (next.enabled && !loopback.has(next.host) && !next.apiKey) {
          throw new EngineError("INVALID_INPUT", `local API: listening on ${next.host} (not a loopback address) requires an API key`);
        }
        options.save(next);
        const previous = settings;
        settings = next;
        const restart = server !== null && (!next.enabled || !sameServer(previous, next));
        if (restart) await stop();
        if (next.enabled && server === null) await apply();
        else if (!next.enabled) error = null;
        return state();
      });
    },
    restore() {
      return serial(async () => {
        if (settings.enabled && server === null) await apply();
        return state();
      });
    },
    async endRequests(message) {
      await server?.abortRequests(new OpenAiError(503, message, "server_error", "model_unloaded", null, { "Retry-After": "5" }));
    },
    close() {
      return serial(stop);
    },
  };
}

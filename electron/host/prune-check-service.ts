// The host's side of the pruning check: runs one check at a time on the loaded engine, reports its progress as
// pruneCheck.changed events (a few per second), stores the result as the model's pruneProfile in the per-model
// settings (keyed by the file's fingerprint, so it survives restarts and is measured again only for a changed file)
// and tells the engine what Auto stands for on this model.
import type { HostEvent, PruneCheckOptions, PruneCheckState, PruneProfile } from "../api/contract.js";
import type { LynxEngine } from "../engine/engine.js";
import { EngineError } from "../engine/errors.js";
import { autoLabel, runPruneCheck } from "../prune-check/index.js";
import { modelFingerprint, type ModelSettingsStore } from "../store/model-settings.js";

export interface PruneCheckService {
  /** A model was loaded: its stored profile (if any) becomes the engine's Auto. Call before restoring the setting. */
  attach(engine: LynxEngine): void;
  state(): PruneCheckState;
  /** Starts a check on the attached engine; refuses while one runs. */
  start(options?: PruneCheckOptions): PruneCheckState;
  /** Stops a running check and waits until the engine serves chats again. */
  cancel(): Promise<void>;
}

const progressIntervalMs = 200;

export interface PruneCheckServiceDeps {
  modelSettings: ModelSettingsStore | null;
  emit: (event: HostEvent) => void;
  /** Overrides the probe's size (tests). */
  size?: { prompts?: number; maxTokens?: number };
  log?: (message: string) => void;
}

export function createPruneCheckService(deps: PruneCheckServiceDeps): PruneCheckService {
  const log = deps.log ?? ((m: string) => console.warn(`[prune check] ${m}`));
  let engine: LynxEngine | null = null;
  let fingerprint: string | null = null;
  let current: PruneCheckState = { applicable: false, status: "idle", progress: null, error: null, profile: null };
  let running: { abort: AbortController; done: Promise<void> } | null = null;
  let lastProgressAt = 0;

  const publish = (patch: Partial<PruneCheckState>) => {
    current = { ...current, ...patch };
    deps.emit({ type: "pruneCheck.changed", state: current });
  };

  const useProfile = (target: LynxEngine, profile: PruneProfile | null) => {
    const auto = profile?.auto;
    target.setAutoChoice(auto && auto.setting.mode !== "auto" ? { setting: auto.setting, label: autoLabel(auto) } : null);
  };

  return {
    attach(next) {
      engine = next;
      fingerprint = null;
      let profile: PruneProfile | null = null;
      if (deps.modelSettings) {
        try {
          fingerprint = modelFingerprint(next.info.path);
          profile = deps.modelSettings.get(fingerprint).pruneProfile;
        } catch (err) {
          log(`cannot read the stored pruning check of ${next.info.name}: ${(err as Error).message}`);
        }
      }
      useProfile(next, profile);
      const applicable = next.info.isMoE && next.info.experts > next.info.expertsPerToken;
      current = { applicable, status: "idle", progress: null, error: null, profile };
    },
    state: () => current,
    start(options = {}) {
      const target = engine;
      if (!target) throw new EngineError("INTERNAL", "no model is loaded");
      if (running) throw new EngineError("CHAT_BUSY", "a pruning check is already running");
      if (!current.applicable) {
        publish({ status: "done", progress: null, error: null });
        return current;
      }
      if (target.info.maxChats < 2) throw new EngineError("INVALID_INPUT", `the check needs at least 2 concurrent chats to batch decode steps; this model was loaded with ${target.info.maxChats}`);
      const abort = new AbortController();
      const done = (async () => {
        try {
          const outcome = await runPruneCheck(target, {
            quick: options.quick ?? false,
            ...deps.size,
            signal: abort.signal,
            onProgress: (progress) => {
              const now = performance.now();
              if (now - lastProgressAt < progressIntervalMs && progress.phase === current.progress?.phase) return;
              lastProgressAt = now;
              publish({ progress });
            },
          });
          if (engine !== target) return;
          if (!outcome.applicable) {
            publish({ status: "done", progress: null, applicable: false });
            return;
          }
          if (deps.modelSettings && fingerprint) {
            try {
              deps.modelSettings.update(fingerprint, { pruneProfile: outcome.profile }, { path: target.info.path, size: target.info.sizeBytes });
            } catch (err) {
              log(`the pruning check's result was not saved: ${(err as Error).message}`);
            }
          }
          useProfile(target, outcome.profile);
          publish({ status: "done", progress: null, error: null, profile: outcome.profile });
        } catch (err) {
          if (abort.signal.aborted) publish({ status: "cancelled", progress: null, error: null });
          else publish({ status: "failed", progress: null, error: (err as Error).message });
        } finally {
          running = null;
        }
      })();
      running = { abort, done };
      publish({ status: "running", progress: { phase: "waiting", fraction: 0, message: "waiting for the answers being written to finish" }, error: null });
      return current;
    },
    async cancel() {
      const run = running;
      if (!run) return;
      run.abort.abort(new EngineError("INTERNAL", "the pruning check was cancelled"));
      await run.done;
    },
  };
}

// The model library: files of the models folder and the recent list with their facts and fit badges, broken files
// with their errors, the download box with progress, pause and cancel, the curated MoE list, per-model settings,
// and the "does not fit" warning before a load (with a way to insist); the models folder and how to change it.
import { useEffect, useMemo, useState } from "react";
import { useStore } from "zustand";
import type { AggressivenessSetting, LibraryModel, LynxApi, ModelSettingsUpdate } from "../../../electron/api/contract.js";
import { createLibraryStore } from "../store/library.js";
import { DefaultPruningSelect, pruningLabel } from "./DefaultPruningSelect.js";
import { ModelsFolderControl } from "./ModelsFolderControl.js";

const gib = (b: number) => (b >= 1024 ** 3 ? `${(b / 1024 ** 3).toFixed(2)} GiB` : `${(b / 1024 ** 2).toFixed(0)} MiB`);

function SettingsForm({ model, onSave }: { model: LibraryModel; onSave: (patch: ModelSettingsUpdate) => void }) {
  const s = model.settings;
  const [contextSize, setContext] = useState(s?.contextSize?.toString() ?? "");
  const [maxChats, setChats] = useState(s?.maxChats?.toString() ?? "");
  const [threads, setThreads] = useState(s?.threads?.toString() ?? "");
  const [defaultPruning, setDefaultPruning] = useState<AggressivenessSetting | null>(s?.defaultPruning ?? null);
  const num = (v: string) => (v.trim() === "" ? null : Math.floor(Number(v)));
  return (
    <form
      className="model-settings"
      data-testid="model-settings"
      onSubmit={(e) => {
        e.preventDefault();
        onSave({ contextSize: num(contextSize), maxChats: num(maxChats), threads: num(threads), defaultPruning });
      }}
    >
      <label>
        Context <input type="number" min={64} value={contextSize} placeholder="default" onChange={(e) => setContext(e.target.value)} data-testid="settings-context" />
      </label>
      <label>
        Chats <input type="number" min={1} max={16} value={maxChats} placeholder="default" onChange={(e) => setChats(e.target.value)} />
      </label>
      <label>
        Threads <input type="number" min={1} value={threads} placeholder="default" onChange={(e) => setThreads(e.target.value)} />
      </label>
      {/* dense models have nothing to prune: their (unused) default is left as it is */}
      {model.details?.pruningApplies && <DefaultPruningSelect model={model} value={defaultPruning} onChange={setDefaultPruning} />}
      <button type="submit" data-testid="settings-save">
        Save
      </button>
    </form>
  );
}

export function LibraryPanel({ api }: { api: LynxApi }) {
  const store = useMemo(() => createLibraryStore(api), [api]);
  useEffect(() => store.getState().attach(), [store]);
  const { state, error, refused, loading, folderError } = useStore(store);
  const actions = store.getState();
  const [uri, setUri] = useState("");
  const [editing, setEditing] = useState<string | null>(null);

  return (
    <section className="library-panel" aria-label="Model library" data-testid="library">
      <h2>Models</h2>
      {state?.modelsDir && (
        <div className="library-dir">
          <ModelsFolderControl
            current={state.modelsDir}
            canChoose={typeof api.chooseModelsDir === "function"}
            error={folderError}
            onSave={(dir) => actions.setModelsDir(dir)}
            onChoose={() => actions.chooseModelsDir()}
          />
          <span>
            {gib(state.memory.availableBytes)} of {gib(state.memory.machineBytes)} free
          </span>
        </div>
      )}
      {error && (
        <p className="library-error" role="alert">
          {error}
        </p>
      )}
      {refused && (
        <div className="fit-warning" role="alert" data-testid="fit-warning">
          <p>{refused.message}</p>
          <button type="button" onClick={() => void actions.load(refused.path, true)}>
            Load anyway
          </button>
          <button type="button" onClick={() => actions.dismissRefusal()}>
            Cancel
          </button>
        </div>
      )}
      <ul className="library-models">
        {state?.models.map((m) => (
          <li key={m.path} className={m.error ? "broken" : ""} data-testid="library-model" data-file={m.fileName}>
            <div className="library-row">
              <strong>{m.fileName}</strong>
              {m.loaded && <span className="badge loaded">loaded</span>}
              {m.settings?.defaultPruning && (
                <span className="badge" data-testid="default-pruning">
                  default pruning: {pruningLabel(m.settings.defaultPruning)}
                </span>
              )}
              {m.fit && (
                <span className={`badge ${m.fit.fits ? "fits" : "no-fit"}`} title={m.fit.summary} data-testid="fit-badge">
                  {m.fit.fits ? `fits · ${gib(m.fit.totalBytes)}` : `does not fit · ${gib(m.fit.totalBytes)}`}
                </span>
              )}
            </div>
            {m.details ? (
              <p className="library-facts">
                {m.details.architecture} · {(m.details.parameters / 1e9).toFixed(2)}B · {m.details.quantization} · {gib(m.sizeBytes)} · ctx {m.details.contextLength} ·{" "}
                {m.details.isMoE ? `MoE ${m.details.experts}×${m.details.expertsPerToken}, pruning applies` : "dense, no pruning"}
              </p>
            ) : (
              <p className="library-facts error">
                {m.error?.code}: {m.error?.message}
              </p>
            )}
            {m.details && (
              <div className="library-actions">
                {!m.loaded && (
                  <button type="button" onClick={() => void actions.load(m.path)} data-testid="library-load">
                    Load
                  </button>
                )}
                <button type="button" onClick={() => setEditing(editing === m.path ? null : m.path)}>
                  Settings
                </button>
                {m.origin === "folder" && !m.loaded && (
                  <button type="button" onClick={() => void actions.remove(m.path)}>
                    Delete
                  </button>
                )}
              </div>
            )}
            {editing === m.path && m.details && <SettingsForm model={m} onSave={(patch) => void actions.saveSettings(m.path, patch)} />}
          </li>
        ))}
      </ul>
      {loading && !state && <p>Reading the models folder…</p>}

      <form
        className="download-box"
        onSubmit={(e) => {
          e.preventDefault();
          if (uri.trim()) void actions.download(uri.trim());
          setUri("");
        }}
      >
        <input type="text" value={uri} onChange={(e) => setUri(e.target.value)} placeholder="https://… or hf:user/repo:Q4_K_M" aria-label="Model URL or hf: URI" data-testid="download-uri" />
        <button type="submit" data-testid="download-start">
          Download
        </button>
      </form>
      <ul className="downloads">
        {state?.downloads
          .filter((d) => d.status !== "cancelled")
          .map((d) => (
            <li key={d.id} data-testid="download" data-status={d.status}>
              <span>{d.fileName ?? d.uri}</span>{" "}
              <progress max={100} value={d.percent} aria-label={`Download ${d.fileName ?? d.uri}`} />{" "}
              <span data-testid="download-percent">{d.percent.toFixed(0)}%</span> · {gib(d.downloadedBytes)} / {gib(d.totalBytes)}
              {d.status === "downloading" && ` · ${(d.bytesPerSecond / 1024 / 1024).toFixed(1)} MiB/s${d.etaSeconds !== null ? ` · ${Math.round(d.etaSeconds)} s left` : ""}`} · {d.status}
              {d.error && <span className="error"> {d.error.message}</span>}
              {d.status === "downloading" && (
                <button type="button" onClick={() => void actions.pause(d.id)}>
                  Pause
                </button>
              )}
              {(d.status === "paused" || d.status === "failed") && (
                <button type="button" onClick={() => void actions.resume(d.id)}>
                  Resume
                </button>
              )}
              {d.status !== "done" && (
                <button type="button" onClick={() => void actions.cancel(d.id)}>
                  Cancel
                </button>
              )}
            </li>
          ))}
      </ul>

      <details className="curated">
        <summary>MoE models people run locally</summary>
        <ul>
          {state?.curated.map((c) => (
            <li key={c.id} title={c.verified}>
              <strong>{c.name}</strong> · {c.totalParams} total, {c.activeParams} active · {c.experts} experts, top-{c.expertsPerToken} · {c.quantization}
              {c.sizeBytes > 0 && ` · ${gib(c.sizeBytes)} · needs ~${gib(c.memoryEstimateBytes)} ${c.fits ? "(fits)" : "(does not fit)"}`}{" "}
              {c.uri && (
                <button type="button" onClick={() => void actions.download(c.uri!)}>
                  Download
                </button>
              )}
            </li>
          ))}
        </ul>
      </details>
    </section>
  );
}

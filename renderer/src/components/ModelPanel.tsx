import { formatBytes } from "../lib/format.js";
import { isDesktop, type AppApi } from "../api/index.js";
import { useActions, useApp } from "../store/react.js";

export function ModelPanel({ api }: { api: AppApi }) {
  const model = useApp((s) => s.model);
  const actions = useActions();
  const info = model.info;
  return (
    <section className="panel" aria-labelledby="model-title">
      <header className="panel-header">
        <h2 id="model-title">Model</h2>
        {isDesktop(api) && (
          <button type="button" onClick={() => void actions.openModelDialog()}>
            Open model…
          </button>
        )}
      </header>
      {model.loading && !info && <p className="hint">Loading model…</p>}
      {model.error && (
        <p className="chat-error" role="alert">
          {model.error.code}: {model.error.message}
        </p>
      )}
      {info && (
        <>
          <dl className="model-grid" data-testid="model-info">
            <dt>Name</dt>
            <dd title={info.path}>{info.name}</dd>
            <dt>Architecture</dt>
            <dd>{info.architecture}</dd>
            <dt>Layers</dt>
            <dd>
              {info.layers}
              {info.isMoE && info.moeLayers !== info.layers ? ` (${info.moeLayers} with experts)` : ""}
            </dd>
            <dt>Experts</dt>
            <dd>{info.isMoE ? info.experts : "none (dense)"}</dd>
            <dt>Experts per token</dt>
            <dd>{info.isMoE ? info.expertsPerToken : "–"}</dd>
            <dt>Size</dt>
            <dd>{formatBytes(info.sizeBytes)}</dd>
            <dt>Context</dt>
            <dd>
              {info.contextLength.toLocaleString()} tokens (trained {info.trainContextLength.toLocaleString()})
            </dd>
            <dt>Expert size</dt>
            <dd>{info.isMoE ? `${formatBytes(info.expertBytes)} per expert per layer` : "–"}</dd>
            <dt>Parallel chats</dt>
            <dd>{info.maxChats}</dd>
            <dt>Threads</dt>
            <dd>{info.threads}</dd>
            {info.engineBuild && (
              <>
                <dt>CPU backend</dt>
                <dd data-testid="cpu-backend" title={info.engineBuild.cpuFeatures.join(" ")}>
                  {info.engineBuild.flavor === "portable" ? `${info.engineBuild.cpuVariant} (portable build)` : "native build"}
                </dd>
              </>
            )}
          </dl>
          {!info.isMoE && (
            <p className="notice info" data-testid="dense-notice">
              This is a dense model: every token uses all weights, so batch-aware expert pruning does not apply.
            </p>
          )}
          {!isDesktop(api) && <p className="hint">Web mode: choose another model with npm run serve -- --model PATH.</p>}
        </>
      )}
    </section>
  );
}

import { apiGenerationPrefix, type TelemetryFrame } from "../../../electron/api/contract.js";
import { formatBytes, formatNumber, formatPercent } from "../lib/format.js";
import { useThrottledSelector } from "../lib/hooks.js";
import { apiGenerationLabel } from "../store/local-api.js";
import { useApp } from "../store/react.js";

interface LayerStat {
  layer: number;
  before: number;
  after: number;
}

function perLayer(frame: TelemetryFrame): LayerStat[] {
  const out: LayerStat[] = [];
  const n = frame.batches.length;
  if (n === 0) return out;
  for (let l = 0; l < frame.nLayers; l++) {
    if (frame.moeLayers[l] === 0) continue;
    let b = 0;
    let a = 0;
    for (const batch of frame.batches) {
      b += batch.before[l] ?? 0;
      a += batch.after[l] ?? 0;
    }
    out.push({ layer: l, before: b / n, after: a / n });
  }
  return out;
}

export function StatsPanel() {
  // Telemetry arrives up to ~20/s; the text panel re-renders at most 4 times a second.
  const frame = useThrottledSelector((s) => s.telemetry.frame, 250);
  const titles = useApp((s) => s.chats.chats);
  const order = useApp((s) => s.chats.order);
  const apiRequests = useApp((s) => s.localApi.state?.requests);
  if (!frame) {
    return (
      <section className="panel" aria-labelledby="stats-title">
        <h2 id="stats-title">Statistics</h2>
        <p className="hint">Waiting for telemetry…</p>
      </section>
    );
  }
  const o = frame.overall;
  const saving = o.expertBytesBefore > 0 ? 1 - o.expertBytesAfter / o.expertBytesBefore : 0;
  const layers = perLayer(frame);
  const chatRows = order
    .map((id) => ({ id, title: titles[id]?.title ?? id, t: frame.chats.find((c) => c.chatId === id) }))
    .filter((r) => r.t);
  // the local API's generations: sequences of the same engine, in the same batches, labelled as API requests
  const apiRows = frame.chats.filter((c) => c.chatId.startsWith(apiGenerationPrefix)).map((t) => ({ id: t.chatId, title: apiGenerationLabel(t.chatId, apiRequests), t }));
  return (
    <section className="panel" aria-labelledby="stats-title">
      <h2 id="stats-title">Statistics</h2>
      <dl className="stats-grid">
        <div>
          <dt>Overall</dt>
          <dd data-testid="stat-tps-overall">{formatNumber(o.tokensPerSecond)} tok/s</dd>
        </div>
        <div>
          <dt>Batch size</dt>
          <dd data-testid="stat-batch-size">{o.currentBatchSize}</dd>
        </div>
        <div>
          <dt>Generating / queued</dt>
          <dd data-testid="stat-chats">
            {o.generatingChats} / {o.queuedChats}
            {apiRows.length > 0 && <span data-testid="stat-api-generating"> ({apiRows.length} API)</span>}
          </dd>
        </div>
        <div>
          <dt>Distinct experts / layer</dt>
          <dd>
            <span data-testid="stat-distinct-before">{formatNumber(o.distinctBefore, 2)}</span> →{" "}
            <span data-testid="stat-distinct-after">{formatNumber(o.distinctAfter, 2)}</span>
          </dd>
        </div>
        <div>
          <dt>Expert bytes / step</dt>
          <dd data-testid="stat-bytes">
            {formatBytes(o.expertBytesBefore)} → {formatBytes(o.expertBytesAfter)}
          </dd>
        </div>
        <div>
          <dt>Saving</dt>
          <dd data-testid="stat-bytes-saving">{formatPercent(saving, 1)}</dd>
        </div>
        <div>
          <dt>Full batches</dt>
          <dd>{formatPercent(o.fullBatchShare)}</dd>
        </div>
        <div>
          <dt>Top-1 kept / mass kept</dt>
          <dd>
            {formatPercent(o.top1KeptShare, 1)} / {formatPercent(o.massRetained, 1)}
          </dd>
        </div>
        <div>
          <dt>Decode steps</dt>
          <dd>{o.decodeSteps}</dd>
        </div>
      </dl>
      {chatRows.length + apiRows.length > 0 && (
        <table className="stats-table" aria-label="Tokens per second by chat">
          <thead>
            <tr>
              <th scope="col">Chat</th>
              <th scope="col">tok/s</th>
              <th scope="col">tokens</th>
            </tr>
          </thead>
          <tbody>
            {chatRows.map((r) => (
              <tr key={r.id} data-testid="stat-chat-row">
                <th scope="row">{r.title}</th>
                <td>{formatNumber(r.t!.tokensPerSecond)}</td>
                <td>{r.t!.tokens}</td>
              </tr>
            ))}
            {apiRows.map((r) => (
              <tr key={r.id} data-testid="stat-api-row" className="api-row">
                <th scope="row">{r.title}</th>
                <td>{formatNumber(r.t.tokensPerSecond)}</td>
                <td>{r.t.tokens}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {layers.length > 0 && (
        <details className="per-layer">
          <summary>Distinct experts per layer (before → after)</summary>
          <table className="stats-table" aria-label="Distinct experts per layer before and after selection">
            <thead>
              <tr>
                <th scope="col">Layer</th>
                <th scope="col">before</th>
                <th scope="col">after</th>
              </tr>
            </thead>
            <tbody>
              {layers.map((l) => (
                <tr key={l.layer}>
                  <th scope="row">{l.layer}</th>
                  <td>{formatNumber(l.before, 1)}</td>
                  <td>{formatNumber(l.after, 1)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </section>
  );
}

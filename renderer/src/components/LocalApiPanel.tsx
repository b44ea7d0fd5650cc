// The "Local API" panel: a switch for the OpenAI-compatible server, its address and key, the base URL to copy and
// the requests in flight. API requests decode in the same batches as the chats (see the statistics and heatmaps).
import { useEffect, useId, useState, type FormEvent } from "react";
import { defaultLocalApiSettings, type LocalApiSettings } from "../../../electron/api/contract.js";
import { formatNumber } from "../lib/format.js";
import { useActions, useApp } from "../store/react.js";

const loopback = new Set(["127.0.0.1", "::1", "localhost"]);

/** 24 random bytes as hex: a key nobody guesses. */
function newKey(): string {
  const bytes = new Uint8Array(24);
  crypto.getRandomValues(bytes);
  return `lynx-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export function LocalApiPanel() {
  const data = useApp((s) => s.localApi);
  const actions = useActions();
  const titleId = useId();
  const saved = data.state?.settings ?? defaultLocalApiSettings;
  const [host, setHost] = useState(saved.host);
  const [port, setPort] = useState(String(saved.port));
  const [key, setKey] = useState(saved.apiKey ?? "");
  const [showKey, setShowKey] = useState(false);
  const [copied, setCopied] = useState(false);
  const running = data.state?.running ?? false;

  useEffect(() => {
    void actions.refreshLocalApi();
  }, [actions]);
  // the form follows what the host saved (at start and after each change)
  useEffect(() => {
    setHost(saved.host);
    setPort(String(saved.port));
    setKey(saved.apiKey ?? "");
  }, [saved.host, saved.port, saved.apiKey]);
  // the requests in flight change per token: refreshed once a second while the API runs
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => void actions.refreshLocalApi(), 1000);
    return () => clearInterval(timer);
  }, [running, actions]);

  const fields = (): Partial<LocalApiSettings> => ({
    host: host.trim(),
    port: Number(port),
    apiKey: key.trim() === "" ? null : key.trim(),
  });
  const apply = (e: FormEvent) => {
    e.preventDefault();
    void actions.setLocalApi(fields());
  };
  const copy = async () => {
    if (!data.state?.url) return;
    try {
      await navigator.clipboard.writeText(data.state.url);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      actions.notify("error", "Could not copy: select the address and copy it by hand.");
    }
  };
  const needsKey = !loopback.has(host.trim()) && key.trim() === "";
  const requests = data.state?.requests ?? [];

  return (
    <section className="panel local-api" aria-labelledby={titleId} data-testid="local-api">
      <header className="panel-header">
        <h2 id={titleId}>Local API</h2>
        <label className="toggle">
          <input
            type="checkbox"
            role="switch"
            checked={saved.enabled}
            disabled={data.pending || !data.state}
            aria-checked={saved.enabled}
            data-testid="local-api-switch"
            onChange={(e) => void actions.setLocalApi({ ...fields(), enabled: e.target.checked })}
          />
          {saved.enabled ? "On" : "Off"}
        </label>
      </header>
      {!data.state && <p className="hint">This host has no local API.</p>}
      <p className="hint">An OpenAI-compatible server for other programs; its requests share the chats' decode batches and pruning.</p>
      {running && data.state?.url && (
        <div className="local-api-url">
          <code data-testid="local-api-url">{data.state.url}</code>
          <button type="button" onClick={() => void copy()}>
            {copied ? "Copied" : "Copy"}
          </button>
        </div>
      )}
      {data.state?.error && (
        <p className="chat-error" role="alert" data-testid="local-api-error">
          {data.state.error}
        </p>
      )}
      {data.error && (
        <p className="chat-error" role="alert" data-testid="local-api-error">
          {data.error}
        </p>
      )}
      <form className="field-grid" onSubmit={apply}>
        <label className="field">
          <span>Host</span>
          <input value={host} maxLength={64} spellCheck={false} onChange={(e) => setHost(e.target.value)} data-testid="local-api-host" />
        </label>
        <label className="field">
          <span>Port</span>
          <input type="number" min={0} max={65535} value={port} onChange={(e) => setPort(e.target.value)} data-testid="local-api-port" />
        </label>
        <label className="field wide">
          <span>API key{loopback.has(host.trim()) ? " (optional on this machine)" : " (required)"}</span>
          <input
            type={showKey ? "text" : "password"}
            value={key}
            maxLength={256}
            autoComplete="off"
            spellCheck={false}
            onChange={(e) => setKey(e.target.value)}
            data-testid="local-api-key"
          />
        </label>
        <div className="local-api-actions">
          <label className="toggle small">
            <input type="checkbox" checked={showKey} onChange={(e) => setShowKey(e.target.checked)} />
            Show key
          </label>
          <button type="button" onClick={() => setKey(newKey())}>
            New key
          </button>
          <button type="submit" disabled={data.pending || needsKey} data-testid="local-api-apply">
            Apply
          </button>
        </div>
        {needsKey && <p className="hint">A non-loopback address needs an API key. The web page's token is not one.</p>}
      </form>
      {running && (
        <table className="stats-table" aria-label="API requests in flight" data-testid="local-api-requests">
          <thead>
            <tr>
              <th scope="col">Client</th>
              <th scope="col">State</th>
              <th scope="col">tokens</th>
              <th scope="col">tok/s</th>
            </tr>
          </thead>
          <tbody>
            {requests.length === 0 && (
              <tr>
                <td colSpan={4} className="hint">
                  No requests in flight.
                </td>
              </tr>
            )}
            {requests.map((r) => (
              <tr key={r.id} data-testid="local-api-request">
                <th scope="row" title={`${r.endpoint} · ${r.client}`}>
                  {r.client || "?"}
                </th>
                <td>{r.state}</td>
                <td data-testid="local-api-request-tokens">{r.tokens}</td>
                <td>{formatNumber(r.tokensPerSecond)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

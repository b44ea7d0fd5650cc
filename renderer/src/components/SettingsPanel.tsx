import { useEffect, useState, type FormEvent } from "react";
import type { ChatId, SamplingOptions } from "../../../electron/api/contract.js";
import { defaultSampling, maxMessageLength } from "../../../electron/api/contract.js";
import { useActions, useApp } from "../store/react.js";

interface FieldSpec {
  key: keyof SamplingOptions;
  label: string;
  min: number;
  max: number;
  step: number;
}

const fields: FieldSpec[] = [
  { key: "temperature", label: "Temperature", min: 0, max: 5, step: 0.05 },
  { key: "topK", label: "Top-k", min: 0, max: 1000, step: 1 },
  { key: "topP", label: "Top-p", min: 0, max: 1, step: 0.01 },
  { key: "minP", label: "Min-p", min: 0, max: 1, step: 0.01 },
  { key: "repeatPenalty", label: "Repeat penalty", min: 0.5, max: 3, step: 0.01 },
  { key: "maxTokens", label: "Max tokens", min: 1, max: 131072, step: 1 },
];

export function SettingsPanel({ chatId }: { chatId: ChatId }) {
  const settings = useApp((s) => s.chats.chats[chatId]?.settings);
  const busy = useApp((s) => s.chats.chats[chatId]?.status !== "idle");
  const actions = useActions();
  const [system, setSystem] = useState(settings?.systemPrompt ?? "");
  const [sampling, setSampling] = useState<Record<string, string>>({});
  const [seed, setSeed] = useState("");

  useEffect(() => {
    if (!settings) return;
    setSystem(settings.systemPrompt);
    setSampling(Object.fromEntries(fields.map((f) => [f.key, String(settings.sampling[f.key] ?? "")])));
    setSeed(settings.sampling.seed !== undefined ? String(settings.sampling.seed) : "");
  }, [settings]);

  if (!settings) return null;

  const apply = (e: FormEvent) => {
    e.preventDefault();
    const next: SamplingOptions = { ...settings.sampling };
    for (const f of fields) {
      const v = Number(sampling[f.key]);
      if (Number.isFinite(v)) (next[f.key] as number) = Math.min(f.max, Math.max(f.min, v));
    }
    if (seed.trim() === "") delete next.seed;
    else if (Number.isInteger(Number(seed))) next.seed = Number(seed);
    void actions.updateSettings(chatId, { systemPrompt: system, sampling: next });
  };

  return (
    <details className="settings-panel">
      <summary>Chat settings</summary>
      <form onSubmit={apply}>
        <label className="field wide">
          <span>System prompt</span>
          <textarea value={system} maxLength={maxMessageLength} rows={3} onChange={(e) => setSystem(e.target.value)} />
        </label>
        <div className="field-grid">
          {fields.map((f) => (
            <label className="field" key={f.key}>
              <span>{f.label}</span>
              <input
                type="number"
                min={f.min}
                max={f.max}
                step={f.step}
                value={sampling[f.key] ?? ""}
                onChange={(e) => setSampling((s) => ({ ...s, [f.key]: e.target.value }))}
              />
            </label>
          ))}
          <label className="field">
            <span>Seed</span>
            <input type="number" min={0} step={1} placeholder="random" value={seed} onChange={(e) => setSeed(e.target.value)} />
          </label>
        </div>
        <div className="settings-buttons">
          <button type="submit" className="primary">
            Apply settings
          </button>
          <button
            type="button"
            onClick={() => {
              setSampling(Object.fromEntries(fields.map((f) => [f.key, String(defaultSampling[f.key] ?? "")])));
              setSeed("");
            }}
          >
            Defaults
          </button>
          <button type="button" disabled={busy} onClick={() => void actions.resetChat(chatId)}>
            Clear conversation
          </button>
        </div>
        <p className="hint">Applies to the next generation in this chat.</p>
      </form>
    </details>
  );
}

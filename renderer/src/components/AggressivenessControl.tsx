import { useEffect, useId, useState } from "react";
import type { AggressivenessPreset, AggressivenessSetting, PolicySpec } from "../../../electron/api/contract.js";
import { shownSetting } from "../store/policy.js";
import { useActions, useApp } from "../store/react.js";
import { PruneCheckPanel } from "./PruneCheckPanel.js";

const presets: { id: AggressivenessPreset; label: string; value: number }[] = [
  { id: "off", label: "Off", value: 0 },
  { id: "gentle", label: "Gentle", value: 0.25 },
  { id: "balanced", label: "Balanced", value: 0.5 },
  { id: "aggressive", label: "Aggressive", value: 1 },
];

export function describeSpec(spec: PolicySpec): string {
  switch (spec.kind) {
    case "off":
      return "off: plain top-k routing, nothing pruned";
    case "affinity":
      return `affinity α=${spec.alpha.toFixed(2)} β=${spec.beta}`;
    case "budget":
      return `budget: at most ${spec.experts} experts per layer per step`;
  }
}

export function AggressivenessControl() {
  const policy = useApp((s) => s.policy.state);
  const setting = useApp((s) => shownSetting(s.policy));
  const pending = useApp((s) => s.policy.pending !== null);
  const experts = useApp((s) => s.model.info?.experts ?? 0);
  const expertsPerToken = useApp((s) => s.model.info?.expertsPerToken ?? 1);
  const actions = useActions();
  const [slider, setSlider] = useState(0.5);
  const [budget, setBudget] = useState(8);
  const groupId = useId();
  const sliderId = useId();
  const budgetId = useId();

  useEffect(() => {
    if (!setting) return;
    if (setting.mode === "slider") setSlider(setting.value);
    else if (setting.mode === "preset") setSlider(presets.find((p) => p.id === setting.preset)?.value ?? 0.5);
    else if (setting.mode === "budget") setBudget(setting.experts);
  }, [setting]);

  useEffect(() => {
    if (experts > 0 && budget > experts) setBudget(experts);
  }, [experts]); // eslint-disable-line react-hooks/exhaustive-deps

  const apply = (next: AggressivenessSetting) => void actions.setPolicy(next);
  const applicable = policy?.applicable !== false;
  const budgetMode = setting?.mode === "budget";
  const activePreset = setting?.mode === "preset" ? setting.preset : null;
  const autoMode = setting?.mode === "auto";
  const auto = useApp((s) => s.pruneCheck.state?.profile?.auto ?? null);
  const autoText = auto
    ? auto.setting.mode === "preset" && auto.setting.preset === "off"
      ? "Auto on this model: off (no pruned setting stayed within the thresholds)"
      : `Auto on this model: ${auto.name}: keeps ${(auto.agreement * 100).toFixed(1)}% of top-1 tokens, reads ${(auto.bytesSaved * 100).toFixed(0)}% fewer expert bytes per step`
    : "Auto: this model has not been checked yet (nothing is pruned under Auto until it is)";

  return (
    <section className="panel" aria-labelledby={`${groupId}-title`}>
      <header className="panel-header">
        <h2 id={`${groupId}-title`}>Expert pruning</h2>
        {pending && <span className="hint">applying…</span>}
      </header>
      {!applicable && <p className="hint">This model is dense (no experts): pruning does not apply.</p>}
      <div className="segmented" role="radiogroup" aria-label="Aggressiveness preset">
        {presets.map((p) => (
          <button
            key={p.id}
            type="button"
            role="radio"
            aria-checked={activePreset === p.id}
            className={activePreset === p.id ? "selected" : ""}
            disabled={!applicable}
            onClick={() => apply({ mode: "preset", preset: p.id })}
          >
            {p.label}
          </button>
        ))}
        <button
          type="button"
          role="radio"
          aria-label="Auto"
          aria-checked={autoMode}
          aria-describedby={`${groupId}-auto`}
          className={autoMode ? "selected" : ""}
          disabled={!applicable}
          title={autoText}
          onClick={() => apply({ mode: "auto" })}
        >
          Auto
        </button>
      </div>
      {applicable && (
        <p className="hint" id={`${groupId}-auto`} data-testid="auto-label">
          {autoText}
        </p>
      )}
      <div className="field inline">
        <label htmlFor={sliderId}>Aggressiveness</label>
        <input
          id={sliderId}
          type="range"
          min={0}
          max={1}
          step={0.01}
          value={slider}
          disabled={!applicable}
          aria-valuetext={`${Math.round(slider * 100)}%${slider === 0 ? " (off)" : slider === 0.5 ? " (balanced)" : ""}`}
          onChange={(e) => setSlider(Number(e.target.value))}
          onPointerUp={() => apply({ mode: "slider", value: slider })}
          onKeyUp={(e) => {
            if (["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End", "PageUp", "PageDown"].includes(e.key)) {
              apply({ mode: "slider", value: slider });
            }
          }}
        />
        <output htmlFor={sliderId} className="slider-value">
          {Math.round(slider * 100)}%
        </output>
      </div>
      <details className="advanced" open={budgetMode} hidden={!applicable}>
        <summary>Advanced: hard cap</summary>
        <div className="field inline">
          <label className="toggle">
            <input
              type="checkbox"
              checked={budgetMode}
              disabled={!applicable}
              onChange={(e) => apply(e.target.checked ? { mode: "budget", experts: budget } : { mode: "slider", value: slider })}
            />
            Hard cap (budget)
          </label>
        </div>
        <div className="field inline">
          <label htmlFor={budgetId}>Experts per layer cap</label>
          <input
            id={budgetId}
            type="number"
            min={1}
            max={Math.max(1, experts)}
            value={budget}
            disabled={!applicable}
            onChange={(e) => setBudget(Math.max(1, Math.round(Number(e.target.value) || 1)))}
            onBlur={() => budgetMode && apply({ mode: "budget", experts: budget })}
            onKeyDown={(e) => {
              if (e.key === "Enter" && budgetMode) apply({ mode: "budget", experts: budget });
            }}
          />
        </div>
        <p className="hint">
          At most this many distinct experts per layer in one decode step (the model asks {expertsPerToken} per token).
        </p>
      </details>
      {policy && (
        <dl className="policy-effective" aria-live="polite">
          <dt>Effective</dt>
          <dd data-testid="policy-effective">{describeSpec(policy.effective)}</dd>
          <dt>Details</dt>
          <dd data-testid="policy-description">{policy.description}</dd>
          <dt>Balanced point</dt>
          <dd>
            α={policy.familyDefault.alpha} β={policy.familyDefault.beta} ({policy.familyDefault.source})
          </dd>
        </dl>
      )}
      <p className="hint">Changes apply from the next generated token.</p>
      <PruneCheckPanel />
    </section>
  );
}

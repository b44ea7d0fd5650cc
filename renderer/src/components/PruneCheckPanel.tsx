import { useId, useState } from "react";
import type { PruneProfile } from "../../../electron/api/contract.js";
import { useActions, useApp } from "../store/react.js";

const pct = (x: number, digits = 0) => `${(x * 100).toFixed(digits)}%`;

/** "Check this model": runs the pruning check, shows its progress, and its result as a plot. */
export function PruneCheckPanel() {
  const state = useApp((s) => s.pruneCheck.state);
  const actions = useActions();
  const [thorough, setThorough] = useState(false);
  const noteId = useId();
  if (!state) return null;
  if (!state.applicable) {
    return (
      <p className="hint" data-testid="prune-check-dense">
        This model is dense (no experts): there is nothing to prune, so there is nothing to check.
      </p>
    );
  }
  const running = state.status === "running";
  return (
    <div className="prune-check" data-testid="prune-check">
      <div className="field inline">
        <button type="button" onClick={() => void actions.startPruneCheck(!thorough)} disabled={running} aria-describedby={noteId}>
          {state.profile ? "Check this model again" : "Check this model"}
        </button>
        <label className="toggle">
          <input type="checkbox" checked={thorough} disabled={running} onChange={(e) => setThorough(e.target.checked)} />
          Thorough (about 3x longer)
        </label>
      </div>
      <p className="hint" id={noteId}>
        Measures what each pruning setting changes in this model's next-token predictions against pruning off, on built-in prompts, and
        picks Auto.
      </p>
      {running && state.progress && (
        <div className="prune-check-progress" role="status" aria-live="polite">
          <progress max={1} value={state.progress.fraction} aria-label="Pruning check progress" />
          <span data-testid="prune-check-message">{state.progress.message}</span>
          <button type="button" onClick={() => void actions.cancelPruneCheck()}>
            Cancel
          </button>
          <p className="hint" data-testid="prune-check-note">
            While the check runs it needs the whole batch: messages you send wait in the queue and start, under your own pruning setting,
            as soon as it ends (or is cancelled). Answers already being written finish first.
          </p>
        </div>
      )}
      {state.status === "failed" && <p className="hint error">The check failed: {state.error}</p>}
      {state.status === "cancelled" && <p className="hint">The check was cancelled; nothing was changed.</p>}
      {state.profile && !running && <PruneProfileView profile={state.profile} />}
    </div>
  );
}

function PruneProfileView({ profile }: { profile: PruneProfile }) {
  const measured = new Date(profile.measuredAt).toLocaleString();
  return (
    <figure className="prune-plot" data-testid="prune-plot">
      <PrunePlot profile={profile} />
      <figcaption className="hint">
        {profile.settings.length} settings, {profile.positions} predictions each, {profile.chats} chats per decode step
        {profile.quick ? " (quick)" : ""}, {measured}, {profile.seconds.toFixed(0)} s. Green: presets and slider points; orange: hard caps;
        dashed: the agreement threshold (hover a point for its figures). Auto: the most saving setting with agreement ≥{" "}
        {pct(profile.thresholds.agreement)} and mean KL ≤ {profile.thresholds.klMean}.
      </figcaption>
    </figure>
  );
}

/** Agreement with off against expert bytes saved, one point per setting, Auto ringed. */
export function PrunePlot({ profile }: { profile: PruneProfile }) {
  const W = 300;
  const H = 190;
  const L = 40;
  const R = 10;
  const T = 12;
  const B = 34;
  const minAgreement = Math.min(0.9, ...profile.settings.map((s) => s.agreement));
  const yMin = Math.max(0, Math.floor(minAgreement * 20) / 20);
  const xMax = Math.max(0.1, Math.ceil(Math.max(...profile.settings.map((s) => s.bytesSaved)) * 10) / 10);
  const px = (x: number) => L + (Math.max(0, x) / xMax) * (W - L - R);
  const py = (y: number) => T + ((1 - y) / (1 - yMin || 1)) * (H - T - B);
  const xTicks = Array.from({ length: Math.round(xMax * 10) + 1 }, (_, i) => i / 10).filter((_, i, a) => a.length <= 6 || i % 2 === 0);
  const yTicks = [yMin, (1 + yMin) / 2, 1];
  const auto = profile.auto;
  return (
    <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-label="Agreement with pruning off against expert bytes saved, per setting">
      <rect x={L} y={T} width={W - L - R} height={H - T - B} className="plot-area" fill="none" stroke="currentColor" strokeOpacity={0.2} />
      {/* the agreement threshold */}
      {profile.thresholds.agreement > yMin && (
        <line x1={L} x2={W - R} y1={py(profile.thresholds.agreement)} y2={py(profile.thresholds.agreement)} stroke="currentColor" strokeOpacity={0.35} strokeDasharray="3 3" />
      )}
      {xTicks.map((x) => (
        <text key={`x${x}`} x={px(x)} y={H - B + 12} fontSize={9} textAnchor="middle" fill="currentColor">
          {pct(x)}
        </text>
      ))}
      {yTicks.map((y) => (
        <text key={`y${y}`} x={L - 4} y={py(y) + 3} fontSize={9} textAnchor="end" fill="currentColor">
          {pct(y, 1)}
        </text>
      ))}
      <text x={(L + W - R) / 2} y={H - 4} fontSize={9} textAnchor="middle" fill="currentColor">
        expert bytes saved per decode step
      </text>
      <text x={9} y={(T + H - B) / 2} fontSize={9} textAnchor="middle" fill="currentColor" transform={`rotate(-90 9 ${(T + H - B) / 2})`}>
        agreement with off
      </text>
      {profile.settings.map((s) => {
        const isAuto = auto?.name === s.name;
        return (
          <g key={s.name} data-testid={isAuto ? "prune-plot-auto" : undefined}>
            <title>{`${s.name}: agreement ${pct(s.agreement, 1)}, mean KL ${s.klMean.toFixed(3)}, ${pct(s.bytesSaved)} fewer expert bytes, ${s.speedup.toFixed(2)}x decode speed`}</title>
            <circle cx={px(s.bytesSaved)} cy={py(Math.max(yMin, s.agreement))} r={3} fill={s.setting.mode === "budget" ? "#d95f02" : "#1b9e77"} />
            {isAuto && (
              <>
                <circle cx={px(s.bytesSaved)} cy={py(Math.max(yMin, s.agreement))} r={7} fill="none" stroke="currentColor" strokeWidth={1.5} />
                <text x={px(s.bytesSaved) + 9} y={py(Math.max(yMin, s.agreement)) - 6} fontSize={10} fill="currentColor">
                  Auto
                </text>
              </>
            )}
          </g>
        );
      })}
    </svg>
  );
}

// A model's "Default pruning": the pruning setting the host applies whenever that model loads (null: keep the app's
// current setting). Auto is offered only once the pruning check has measured the model (its profile holds Auto's
// pick); before that Auto prunes nothing on it. A saved setting the menu does not list (a slider value, a budget)
// stays selectable, so opening the form and saving it loses nothing.
import type { AggressivenessPreset, AggressivenessSetting, LibraryModel } from "../../../electron/api/contract.js";

const presetLabels: Record<AggressivenessPreset, string> = { off: "Off", gentle: "Gentle", balanced: "Balanced", aggressive: "Aggressive" };
const presetOrder: AggressivenessPreset[] = ["off", "gentle", "balanced", "aggressive"];

export function pruningLabel(setting: AggressivenessSetting): string {
  switch (setting.mode) {
    case "preset":
      return presetLabels[setting.preset];
    case "auto":
      return "Auto";
    case "slider":
      return `slider ${setting.value.toFixed(2)}`;
    case "budget":
      return `budget ${setting.experts} experts`;
  }
}

/** The select's value for a setting: "keep", a preset, "auto", or "saved" (a setting outside the menu). */
function choiceOf(setting: AggressivenessSetting | null): string {
  if (!setting) return "keep";
  if (setting.mode === "preset") return setting.preset;
  if (setting.mode === "auto") return "auto";
  return "saved";
}

export function DefaultPruningSelect({ model, value, onChange }: { model: LibraryModel; value: AggressivenessSetting | null; onChange: (next: AggressivenessSetting | null) => void }) {
  const saved = model.settings?.defaultPruning ?? null;
  const profile = model.settings?.pruneProfile ?? null;
  const auto = profile?.auto ?? null;
  const autoText = auto ? `Auto (${auto.setting.mode === "preset" && auto.setting.preset === "off" ? "off" : auto.name} on this model)` : "Auto (not checked yet: prunes nothing)";
  // Auto means something once the model was checked; a saved Auto stays visible even without a profile
  const offerAuto = profile !== null || saved?.mode === "auto";
  const custom = saved && (saved.mode === "slider" || saved.mode === "budget") ? saved : null;
  const pick = (choice: string) => {
    if (choice === "keep") onChange(null);
    else if (choice === "auto") onChange({ mode: "auto" });
    else if (choice === "saved") onChange(custom);
    else onChange({ mode: "preset", preset: choice as AggressivenessPreset });
  };
  return (
    <label>
      Default pruning{" "}
      <select value={choiceOf(value)} onChange={(e) => pick(e.target.value)} data-testid="settings-default-pruning">
        <option value="keep">Keep the current setting</option>
        {presetOrder.map((p) => (
          <option key={p} value={p}>
            {presetLabels[p]}
          </option>
        ))}
        {offerAuto && <option value="auto">{autoText}</option>}
        {custom && <option value="saved">{pruningLabel(custom)}</option>}
      </select>
    </label>
  );
}

// The models folder and how to change it. Electron: the native folder picker (main shows it, the host checks the
// pick). Web mode: an absolute path typed in a field (the folder must exist on the machine the server runs on); a path
// the host refuses is explained beside the field, which keeps what was typed. "Use default" returns to
// <data folder>/models. The host announces library.changed after a change, so the list follows.
import { useState } from "react";

export interface ModelsFolderControlProps {
  current: string;
  /** Electron: a native picker exists (api.chooseModelsDir). */
  canChoose: boolean;
  error: string | null;
  /** Resolves false when the host refused the folder. */
  onSave(dir: string | null): Promise<boolean>;
  onChoose(): Promise<void>;
}

export function ModelsFolderControl({ current, canChoose, error, onSave, onChoose }: ModelsFolderControlProps) {
  const [editing, setEditing] = useState(false);
  const [dir, setDir] = useState("");
  const [busy, setBusy] = useState(false);
  const run = async (work: () => Promise<boolean>) => {
    setBusy(true);
    try {
      if (await work()) setEditing(false);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="models-folder">
      <span>
        Folder: <code data-testid="models-dir">{current}</code>
      </span>{" "}
      <button
        type="button"
        aria-expanded={editing}
        onClick={() => {
          setDir(current);
          setEditing(!editing);
        }}
        data-testid="models-dir-change"
      >
        Change folder…
      </button>
      {editing && (
        <form
          className="models-folder-form"
          onSubmit={(e) => {
            e.preventDefault();
            const typed = dir.trim();
            if (typed) void run(() => onSave(typed));
          }}
        >
          {canChoose ? (
            <button type="button" disabled={busy} onClick={() => void run(async () => (await onChoose(), true))} data-testid="models-dir-choose">
              Choose…
            </button>
          ) : (
            <>
              <input
                type="text"
                value={dir}
                onChange={(e) => setDir(e.target.value)}
                placeholder="/absolute/path/to/models"
                aria-label="Models folder (an absolute path that exists)"
                maxLength={4096}
                data-testid="models-dir-input"
              />
              <button type="submit" disabled={busy || dir.trim() === ""} data-testid="models-dir-save">
                Save
              </button>
            </>
          )}
          <button type="button" disabled={busy} onClick={() => void run(() => onSave(null))} data-testid="models-dir-default">
            Use default
          </button>
        </form>
      )}
      {error && (
        <p className="library-error" role="alert" data-testid="models-dir-error">
          {error}
        </p>
      )}
    </div>
  );
}

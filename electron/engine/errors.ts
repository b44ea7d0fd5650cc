import type { EngineErrorCode } from "../api/contract.js";

/** A failure the user can understand and act on; the engine stays usable after it. */
export class EngineError extends Error {
  override readonly name = "EngineError";
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function toEngineError(err: unknown, fallback: EngineErrorCode = "INTERNAL"): EngineError {
  if (err instanceof EngineError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new EngineError(fallback, message, { cause: err });
}

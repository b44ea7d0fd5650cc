// Errors of the chat store carry one of the contract's codes, so they cross IPC and HTTP typed.
import type { EngineErrorCode } from "../api/contract.js";

export class StoreError extends Error {
  constructor(
    readonly code: Extract<EngineErrorCode, "STORE_LOCKED" | "STORE_UNSUPPORTED_VERSION" | "STORE_IO" | "CHAT_NOT_FOUND" | "INVALID_INPUT">,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "StoreError";
  }
}

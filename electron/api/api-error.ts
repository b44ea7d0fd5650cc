// The error shape that crosses process and network boundaries. Pure: shared by host side and renderer.

import type { EngineErrorCode } from "./contract.js";

/** The error shape that crosses the wire (HTTP JSON body, IPC rejection). */
export interface ApiErrorBody {
  code: EngineErrorCode;
  message: string;
}

export const engineErrorCodes: readonly EngineErrorCode[] = [
  "MODEL_NOT_FOUND",
  "NOT_GGUF",
  "TRUNCATED_GGUF",
  "CORRUPT_GGUF",
  "UNSUPPORTED_ARCHITECTURE",
  "MODEL_LOAD_FAILED",
  "CONTEXT_FULL",
  "ENGINE_NOT_PATCHED",
  "CHAT_NOT_FOUND",
  "CHAT_BUSY",
  "INVALID_INPUT",
  "STORE_LOCKED",
  "STORE_UNSUPPORTED_VERSION",
  "STORE_IO",
  "MODEL_TOO_LARGE",
  "DOWNLOAD_HTTP_ERROR",
  "DOWNLOAD_FAILED",
  "DOWNLOAD_VERIFY_FAILED",
  "DISK_FULL",
  "DOWNLOAD_NOT_FOUND",
  "INTERNAL",
];

export class ApiCallError extends Error implements ApiErrorBody {
  readonly code: EngineErrorCode;
  constructor(code: EngineErrorCode, message: string) {
    super(message);
    this.name = "ApiCallError";
    this.code = code;
  }
}

/** Maps anything thrown by the host to the wire error shape. */
export function toApiError(error: unknown): ApiErrorBody {
  if (error && typeof error === "object") {
    const code = (error as { code?: unknown }).code;
    const message = (error as { message?: unknown }).message;
    if (typeof code === "string" && (engineErrorCodes as readonly string[]).includes(code)) {
      return { code: code as EngineErrorCode, message: typeof message === "string" ? message : code };
    }
    if (typeof message === "string") {
      // Errors that crossed Electron's contextBridge keep only their message: "[CODE] text".
      const m = /\[([A-Z_]+)\]\s*([\s\S]*)$/.exec(message);
      if (m && (engineErrorCodes as readonly string[]).includes(m[1]!)) return { code: m[1] as EngineErrorCode, message: m[2]! };
      return { code: "INTERNAL", message };
    }
  }
  return { code: "INTERNAL", message: String(error) };
}


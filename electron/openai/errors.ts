// Errors in OpenAI's shape ({"error": {"message", "type", "param", "code"}}) with the HTTP status OpenAI uses,
// so clients raise their typed errors (BadRequestError, AuthenticationError, NotFoundError, ...).
import type { z } from "zod";

export type OpenAiErrorType = "invalid_request_error" | "authentication_error" | "not_found_error" | "server_error" | "rate_limit_error";

export class OpenAiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: OpenAiErrorType,
    readonly code: string | null = null,
    readonly param: string | null = null,
    /** Extra response headers (Retry-After, WWW-Authenticate). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body() {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const badRequest = (message: string, param: string | null = null, code: string | null = null) => new OpenAiError(400, message, "invalid_request_error", code, param);

export function fromZod(error: z.ZodError): OpenAiError {
  const issue = error.issues[0];
  const param = issue && issue.path.length > 0 ? issue.path.map(String).join(".") : null;
  const message = issue ? `${param ? `${param}: ` : ""}${issue.message}` : "invalid request body";
  return badRequest(message, param, "invalid_value");
}

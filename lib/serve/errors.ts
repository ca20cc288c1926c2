// Errors in the OpenAI API's shape: an HTTP status and a body
// {"error": {"message", "type", "param", "code"}}, as the official clients expect to parse them.

export type ApiErrorType =
  'invalid_request_error' | 'authentication_error' | 'not_found_error' | 'rate_limit_error' | 'server_error';

export class ApiError extends Error {
  readonly status: number;
  readonly type: ApiErrorType;
  /** The request field at fault ("messages[1].content"), or null. */
  readonly param: string | null;
  readonly code: string | null;
  /** Extra response headers (Retry-After on 429, Allow on 405). */
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    type: ApiErrorType,
    message: string,
    opts: { param?: string | null; code?: string | null; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.type = type;
    this.param = opts.param ?? null;
    this.code = opts.code ?? null;
    this.headers = opts.headers ?? {};
  }

  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** 400: a field with the wrong type or value, naming it. */
export function badRequest(message: string, param: string | null = null, code: string | null = null): ApiError {
  return new ApiError(400, 'invalid_request_error', message, { param, code });
}

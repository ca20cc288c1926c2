// Errors in the OpenAI API's shape: an HTTP status and a body
// {"error": {"message", "type", "param", "code"}}, as the official clients expect to parse them.
import type { ServerResponse } from 'node:http';

import { QueueFullError } from './batcher.js';

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

/** A JSON reply with its length. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Any error as the API error it is answered with (a full queue is a 429 with Retry-After). */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof QueueFullError)
    return new ApiError(429, 'rate_limit_error', e.message, { code: 'queue_full', headers: { 'Retry-After': '1' } });
  return new ApiError(500, 'server_error', e instanceof Error ? e.message : String(e));
}

// A small client for OpenAI-compatible servers (vLLM, SGLang, Ollama, hosted APIs): JSON POSTs
// with a per-attempt time-out and retries. Retried: 408, 409, 429, every 5xx, network errors,
// time-outs and unreadable bodies. The wait before retry a (0, 1, 2, ...) is the server's
// `retry-after-ms` or `Retry-After` (seconds or an HTTP date) when it sends one, else exponential
// backoff with jitter: d = min(maxDelay, base·2^a), wait uniform in [d/2, d]. Other 4xx fail at
// once with the server's error message. Requests go through an undici Agent with no time-outs of its
// own, so the attempt's time-out is the only one (Node's built-in fetch gives up on headers after
// 300 s, whatever the caller asked), and a caller's AbortSignal ends a request or a wait at once,
// never retried.
import { createRequire } from 'node:module';

import type { Agent } from 'undici';

// undici is loaded with the first client, not with the package (~0.15 s).
const undici = (): typeof import('undici') => createRequire(import.meta.url)('undici') as typeof import('undici');

export interface ClientOptions {
  /** The OpenAI base URL (`http://host:8000/v1`); a bare `http://host:8000` gets `/v1` added. */
  endpoint: string;
  /** Sent as `Authorization: Bearer ...` when given. */
  apiKey?: string;
  /** Time-out of one attempt (connect, generate, read). Default 600 000 ms. */
  timeoutMs?: number;
  /** Retries after the first attempt. Default 8. */
  maxRetries?: number;
  /** Backoff base. Default 1000 ms. */
  baseDelayMs?: number;
  /** Backoff cap. Default 60 000 ms. */
  maxDelayMs?: number;
  /** Longest Retry-After honoured (longer ones are cut to this). Default 600 000 ms. */
  maxRetryAfterMs?: number;
  /** Called before each wait to retry. */
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
}

/** A request that failed for good: a non-retryable status, or the last retry. */
export class HttpError extends Error {
  /** HTTP status, or 0 for a network error or time-out. */
  readonly status: number;
  readonly retryable: boolean;
  constructor(message: string, status: number, retryable: boolean) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.retryable = retryable;
  }
}

/** The base URL without a trailing slash; a URL with no path gets `/v1`. */
export function baseUrl(endpoint: string): string {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    throw new RangeError(`endpoint: not a URL: ${JSON.stringify(endpoint)} (expected e.g. http://127.0.0.1:8000/v1)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new RangeError(`endpoint: expected an http(s) URL, got ${endpoint}`);
  const path = u.pathname.replace(/\/+$/, '');
  return `${u.origin}${path === '' ? '/v1' : path}`;
}

/** Milliseconds a response asks to wait, from retry-after-ms or Retry-After; undefined if none. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && Number.isFinite(Number(ms)) && Number(ms) >= 0) return Number(ms);
  const ra = headers.get('retry-after');
  if (ra === null) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(ra)) return Number(ra) * 1000;
  const date = Date.parse(ra);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function errorMessage(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown; detail?: unknown };
    if (typeof j.error === 'string') return j.error;
    if (typeof j.error?.message === 'string') return j.error.message;
    if (typeof j.message === 'string') return j.message;
    if (typeof j.detail === 'string') return j.detail;
  } catch {
    // not JSON: show the start of the text
  }
  return text.slice(0, 300);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class OpenAIClient {
  readonly baseUrl: string;
  private readonly o: Required<Omit<ClientOptions, 'apiKey' | 'onRetry'>> & Pick<ClientOptions, 'apiKey' | 'onRetry'>;
  private readonly agent: Agent;

  constructor(opts: ClientOptions) {
    this.baseUrl = baseUrl(opts.endpoint);
    this.o = {
      timeoutMs: 600_000,
      maxRetries: 8,
      baseDelayMs: 1000,
      maxDelayMs: 60_000,
      maxRetryAfterMs: 600_000,
      ...opts,
    };
    for (const k of ['timeoutMs', 'maxRetries', 'baseDelayMs', 'maxDelayMs', 'maxRetryAfterMs'] as const) {
      if (!Number.isFinite(this.o[k]) || this.o[k] < 0)
        throw new RangeError(`${k} must be a number >= 0, got ${this.o[k]}`);
    }
    // No time-out of undici's own (0): the attempt's timer below is the only one, as documented.
    this.agent = new (undici().Agent)({ headersTimeout: 0, bodyTimeout: 0 });
  }

  /** Closes the client's connections (a process that is done with it need not wait for keep-alive). */
  async close(): Promise<void> {
    await this.agent.close();
  }

  /**
   * POSTs `body` as JSON to `${baseUrl}${path}` and returns the parsed answer, retrying as above.
   * `signal` ends the request (or the wait before a retry) at once with its reason.
   */
  async post<T>(path: string, body: unknown, opts: { signal?: AbortSignal } = {}): Promise<T> {
    const url = `${this.baseUrl}${path}`;
    const payload = JSON.stringify(body);
    const { signal } = opts;
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw signal.reason as Error;
      let failure: HttpError;
      let wait: number | undefined;
      const ctl = new AbortController();
      const timer = setTimeout(() => ctl.abort(), this.o.timeoutMs);
      const onAbort = () => ctl.abort();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const res = await undici().fetch(url, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            Accept: 'application/json',
            ...(this.o.apiKey ? { Authorization: `Bearer ${this.o.apiKey}` } : {}),
          },
          body: payload,
          signal: ctl.signal,
          dispatcher: this.agent,
        });
        const text = await res.text();
        if (res.ok) {
          try {
            return JSON.parse(text) as T;
          } catch {
            failure = new HttpError(
              `${url}: status ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`,
              res.status,
              true,
            );
          }
        } else {
          const retryable = res.status === 408 || res.status === 409 || res.status === 429 || res.status >= 500;
          failure = new HttpError(`${url}: ${res.status} ${errorMessage(text)}`, res.status, retryable);
          wait = retryAfterMs(res.headers);
        }
      } catch (e) {
        if (signal?.aborted) throw signal.reason as Error;
        const timedOut = ctl.signal.aborted;
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        failure = new HttpError(
          timedOut
            ? `${url}: no answer within ${this.o.timeoutMs} ms`
            : `${url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`,
          0,
          true,
        );
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
      if (!failure.retryable || attempt >= this.o.maxRetries) {
        if (failure.retryable) failure.message += ` (gave up after ${attempt + 1} attempts)`;
        throw failure;
      }
      let delayMs: number;
      if (wait !== undefined) delayMs = Math.min(wait, this.o.maxRetryAfterMs);
      else {
        const d = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** attempt);
        delayMs = d / 2 + Math.random() * (d / 2);
      }
      this.o.onRetry?.({ attempt: attempt + 1, delayMs, reason: failure.message });
      await sleep(delayMs, signal);
    }
  }
}

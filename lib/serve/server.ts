// `warmstart serve`: an OpenAI-compatible HTTP server over one model (node:http, no framework).
//
//   GET  /health                 status, queue depth, batches run, memory (no API key needed)
//   GET  /v1/models[/ID]         the one model, under its served name
//   POST /v1/completions         prompt(s) as text or token ids; n, max_tokens, temperature,
//                                top_p, top_k, stop, seed, stream (+ stream_options.include_usage)
//   POST /v1/chat/completions    messages rendered with the model's chat template; same options
//
// Requests are batched into the engine's `generate` by lib/serve/batcher.ts; the two generation
// endpoints are completions.ts, their event-stream framing sse.ts. Errors have
// OpenAI's body {"error": {message, type, param, code}}: 400 for a bad body (naming the field),
// 401 without the API key when one is set, 404 for an unknown model or route, 405, 413 for a body
// over the limit, 429 when the queue is full (with Retry-After), 503 while shutting down. A
// stream sends its role chunk at once, then the text as the engine samples it (a chunk per
// decoded piece, a possible stop string held back until it is ruled out), a finish chunk per
// choice as it ends, then `data: [DONE]`. A completion ends at its stop string as soon as it is
// sampled, streamed or not; a client that goes away stops its completions.
import { timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';

import { Tokenizer } from '../data/tokenizer.js';
import { kvCacheBytesPerToken } from '../engine/memory.js';
import { loadModel, type Device, type Model } from '../engine/model.js';
import { AbortedError, Batcher } from './batcher.js';
import { checkModelName, completionsHandler } from './completions.js';
import { ApiError, badRequest, sendJson, toApiError } from './errors.js';
import { TokenizeWorker } from './tokenize-pool.js';
import { parseChatRequest, parseCompletionRequest, type Limits } from './requests.js';

export interface ServerOptions {
  /** Interface to listen on. Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Port; 0 picks a free one. Default 8000. */
  port?: number;
  /** The model's name in the API. Default: the model folder's name. */
  modelName?: string;
  /** When set, /v1/* needs `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Largest request body. Default 4 MiB. */
  maxBodyBytes?: number;
  /** Largest max_tokens a request may ask for. Default min(8192, context length). */
  maxTokens?: number;
  /** Requests that may wait for a batch; more are refused with 429. Default 256. */
  maxQueue?: number;
  /** Most sequences in one engine call. Default 32. */
  maxBatchSequences?: number;
  /** KV-cache budget of one engine call, in MiB. Default 2048. */
  maxBatchKvMiB?: number;
  /** Most completions per prompt (`n`). Default 16. */
  maxN?: number;
  /** Most prompts in one /v1/completions request. Default 32. */
  maxPrompts?: number;
}

export interface WarmstartServer {
  /** http://host:port (no trailing slash); the OpenAI base URL is `${url}/v1`. */
  readonly url: string;
  readonly port: number;
  readonly modelName: string;
  readonly batcher: Batcher;
  readonly http: Server;
  /**
   * Stops accepting requests (new ones on open connections get 503), lets the queued and running
   * ones finish for up to `graceMs` (default 30 s), then closes every connection.
   */
  close(opts?: { graceMs?: number }): Promise<void>;
}

const MiB = 1 << 20;

/** Bytes past the limit that a refused body is read for before its 413 (more: the connection is cut). */
const DISCARD_BYTES = 64 * MiB;

/**
 * The body, up to `limit` bytes. Past it, a 413, but only once the client has sent its whole body
 * (read and dropped, up to DISCARD_BYTES more): a server that answers and closes while the client
 * still uploads makes fetch, curl and the openai client fail with EPIPE instead of seeing the 413.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () =>
    new ApiError(413, 'invalid_request_error', `the request body is larger than the limit of ${limit} bytes`, {
      code: 'body_too_large',
      headers: { Connection: 'close' },
    });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    const refuse = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      reject(tooLarge());
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (!over && size <= limit) chunks.push(c);
      else if (!over) {
        over = true;
        chunks.length = 0;
      }
      if (size > limit + DISCARD_BYTES) refuse();
    };
    const onEnd = () => (over ? refuse() : resolve(Buffer.concat(chunks)));
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit + DISCARD_BYTES) {
      refuse();
      return;
    }
    over = Number.isFinite(declared) && declared > limit;
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', reject);
  });
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = req.headers['content-type'];
  if (type !== undefined && !/^application\/json\b/i.test(type) && !/\+json\b/i.test(type)) {
    throw badRequest(`Content-Type must be application/json, got ${type}`);
  }
  const raw = await readBody(req, limit);
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (e) {
    throw badRequest(`the request body is not valid JSON: ${(e as Error).message}`, null, 'invalid_json');
  }
}

function sameKey(given: string, key: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(key);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Starts serving `model` (whose tokenizer is `tokenizer`); resolves once it listens. */
export async function startServer(
  model: Model,
  tokenizer: Tokenizer,
  opts: ServerOptions = {},
): Promise<WarmstartServer> {
  const cfg = model.config;
  const context = cfg.maxPositionEmbeddings;
  const host = opts.host ?? '127.0.0.1';
  const modelName = opts.modelName ?? (model.dir ? basename(model.dir) : 'warmstart');
  const maxBodyBytes = opts.maxBodyBytes ?? 4 * MiB;
  const limits: Limits = {
    maxN: opts.maxN ?? 16,
    maxPrompts: opts.maxPrompts ?? 32,
    maxTokens: Math.min(opts.maxTokens ?? 8192, context - 1),
  };
  const maxQueue = opts.maxQueue ?? 256;
  const created = Math.floor(Date.now() / 1000);
  if (tokenizer.vocabSize > cfg.vocabSize)
    throw new RangeError(`the tokenizer has ${tokenizer.vocabSize} tokens, the model only ${cfg.vocabSize}`);
  for (const [k, v, lo] of [
    ['maxBodyBytes', maxBodyBytes, 1],
    ['maxTokens', limits.maxTokens, 1],
    ['maxQueue', maxQueue, 1],
    ['maxN', limits.maxN, 1],
    ['maxPrompts', limits.maxPrompts, 1],
  ] as const) {
    if (!Number.isInteger(v) || v < lo) throw new RangeError(`${k} must be an integer >= ${lo}, got ${v}`);
  }

  // ids past the tokenizer's (the embedding's padding rows) are never sampled
  const batcher = new Batcher((p, o) => model.generate(p, { ...o, vocabLimit: tokenizer.vocabSize }), {
    maxQueue,
    maxBatchSequences: opts.maxBatchSequences ?? 32,
    maxBatchKvBytes: (opts.maxBatchKvMiB ?? 2048) * MiB,
    kvBytesPerToken: kvCacheBytesPerToken(cfg, model.device),
  });

  // Prompts are encoded on a worker thread, so a long one never stalls other clients.
  const encoder = new TokenizeWorker(tokenizer);
  encoder.start();
  const generate = completionsHandler({
    model,
    tokenizer,
    batcher,
    limits,
    maxQueue,
    modelName,
    closeAfterReply: () => draining,
    encodePrefix: (text, limit) => encoder.encodePrefix(text, limit),
  });

  // ---- routing
  let draining = false;
  let inflight = 0;
  let onQuiet: (() => void) | null = null;

  function modelCard() {
    return {
      id: modelName,
      object: 'model',
      created,
      owned_by: 'warmstart',
      root: model.dir ?? modelName,
      max_model_len: context,
    };
  }

  async function route(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const allow = (m: string) => {
      if (method !== m)
        throw new ApiError(405, 'invalid_request_error', `${method} is not allowed on ${path}; use ${m}`, {
          headers: { Allow: m },
        });
    };
    if (path === '/health') {
      allow('GET');
      const mem = process.memoryUsage();
      sendJson(res, draining ? 503 : 200, {
        status: draining ? 'draining' : 'ok',
        model: modelName,
        queued: batcher.queued,
        running: batcher.running,
        batches: batcher.stats.batches,
        sequences: batcher.stats.sequences,
        generated_tokens: batcher.stats.tokens,
        memory: { rss_bytes: mem.rss, heap_used_bytes: mem.heapUsed },
      });
      return;
    }
    if (!path.startsWith('/v1/'))
      throw new ApiError(404, 'not_found_error', `no route ${method} ${path}`, { code: 'not_found' });
    if (draining)
      throw new ApiError(503, 'server_error', 'the server is shutting down', {
        code: 'shutting_down',
        headers: { Connection: 'close' },
      });
    if (opts.apiKey !== undefined) {
      const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
      if (!m || !sameKey(m[1].trim(), opts.apiKey))
        throw new ApiError(401, 'authentication_error', 'missing or wrong API key (send Authorization: Bearer <key>)', {
          code: 'invalid_api_key',
        });
    }
    if (path === '/v1/models') {
      allow('GET');
      sendJson(res, 200, { object: 'list', data: [modelCard()] });
      return;
    }
    if (path.startsWith('/v1/models/')) {
      allow('GET');
      checkModelName(decodeURIComponent(path.slice('/v1/models/'.length)), modelName);
      sendJson(res, 200, modelCard());
      return;
    }
    if (path === '/v1/completions') {
      allow('POST');
      await generate(parseCompletionRequest(await readJson(req, maxBodyBytes), limits), res, signal);
      return;
    }
    if (path === '/v1/chat/completions') {
      allow('POST');
      await generate(parseChatRequest(await readJson(req, maxBodyBytes), limits), res, signal);
      return;
    }
    throw new ApiError(404, 'not_found_error', `no route ${method} ${path}`, { code: 'not_found' });
  }

  const http = createServer(
    { requestTimeout: 120_000, headersTimeout: 30_000, keepAliveTimeout: 5_000 },
    (req, res) => {
      inflight++;
      const abort = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished) abort.abort();
        if (--inflight === 0 && onQuiet) onQuiet();
      });
      route(req, res, abort.signal).catch((e: unknown) => {
        if (e instanceof AbortedError || res.destroyed) return;
        if (res.headersSent) {
          res.end();
          return;
        }
        const err = toApiError(e);
        sendJson(res, err.status, err.body(), draining ? { ...err.headers, Connection: 'close' } : err.headers);
      });
    },
  );

  http.listen(opts.port ?? 8000, host);
  await Promise.race([
    once(http, 'listening'),
    once(http, 'error').then(([e]) => {
      throw e;
    }),
  ]);
  const port = (http.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | null = null;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    modelName,
    batcher,
    http,
    close({ graceMs = 30_000 } = {}) {
      closing ??= (async () => {
        draining = true;
        const closed = new Promise<void>((r) => http.close(() => r()));
        http.closeIdleConnections();
        // Let requests in flight (and batches whose clients left) finish, up to the grace time.
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<void>((r) => {
          timer = setTimeout(r, graceMs);
        });
        if (inflight > 0)
          await Promise.race([
            new Promise<void>((r) => {
              onQuiet = r;
            }),
            deadline,
          ]);
        await Promise.race([batcher.idle(), deadline]);
        clearTimeout(timer);
        http.closeAllConnections();
        await closed;
        await encoder.close();
      })();
      return closing;
    },
  };
}

/** Loads the model folder DIR (weights and tokenizer) on `device` (default cpu) and serves it. */
export async function serve(dir: string, opts: ServerOptions & { device?: Device } = {}): Promise<WarmstartServer> {
  const { device, ...serverOpts } = opts;
  const model = await loadModel(dir, { device });
  const tokenizer = Tokenizer.load(dir);
  return startServer(model, tokenizer, serverOpts);
}

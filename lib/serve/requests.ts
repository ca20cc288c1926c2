// Reads the bodies of /v1/completions and /v1/chat/completions into checked requests. Every
// wrong field is a 400 that names it (OpenAI's `param`); fields warmstart cannot honour (logprobs,
// echo, penalties, tools, ...) are refused rather than silently ignored; unknown fields are ignored
// as vLLM does, so clients that send newer options still work.
import { badRequest } from './errors.js';

export interface Limits {
  /** Most choices per prompt (`n`). */
  maxN: number;
  /** Most prompts in one /v1/completions request. */
  maxPrompts: number;
  /** Most new tokens a request may ask for. */
  maxTokens: number;
}

export interface SamplingParams {
  n: number;
  /** Undefined: the server picks (completions: 16; chat: what fits the context, up to the limit). */
  maxTokens: number | undefined;
  temperature: number;
  topP: number;
  /** 0 = no top-k cut (vLLM's -1 is read as 0). */
  topK: number;
  /** Generation stops before the first of these strings (which is not returned). */
  stop: string[];
  seed: number | undefined;
}

interface Common {
  model: string;
  params: SamplingParams;
  stream: boolean;
  /** stream_options.include_usage: a last chunk with the usage. */
  includeUsage: boolean;
}

export interface CompletionRequest extends Common {
  kind: 'completion';
  /** Texts or token-id arrays (ids are checked against the vocabulary later). */
  prompts: (string | number[])[];
}

export type ChatMessageIn = { role: string; content: string };

export interface ChatRequest extends Common {
  kind: 'chat';
  messages: ChatMessageIn[];
}

type Body = Record<string, unknown>;

const isObject = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);
const kindOf = (v: unknown) =>
  v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
const present = (b: Body, k: string) => b[k] !== undefined && b[k] !== null;

function num(b: Body, k: string, dflt: number, lo: number, hi: number, integer = false): number {
  if (!present(b, k)) return dflt;
  const v = b[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw badRequest(`${k} must be a number, got ${kindOf(v)}`, k);
  if (integer && !Number.isInteger(v)) throw badRequest(`${k} must be an integer, got ${v}`, k);
  if (v < lo || v > hi) throw badRequest(`${k} must be in [${lo}, ${hi}], got ${v}`, k);
  return v;
}

function bool(b: Body, k: string, dflt: boolean): boolean {
  if (!present(b, k)) return dflt;
  if (typeof b[k] !== 'boolean') throw badRequest(`${k} must be a boolean, got ${kindOf(b[k])}`, k);
  return b[k] as boolean;
}

/** Fields whose non-default values warmstart cannot honour. */
function refuseUnsupported(b: Body, fields: Record<string, (v: unknown) => boolean>): void {
  for (const [k, isDefault] of Object.entries(fields)) {
    if (present(b, k) && !isDefault(b[k]))
      throw badRequest(`${k} is not supported by warmstart serve`, k, 'unsupported_parameter');
  }
}

function sampling(b: Body, limits: Limits, maxTokensField: string): SamplingParams {
  const n = num(b, 'n', 1, 1, limits.maxN, true);
  let maxTokens: number | undefined;
  if (present(b, maxTokensField)) maxTokens = num(b, maxTokensField, 0, 1, limits.maxTokens, true);
  const temperature = num(b, 'temperature', 1, 0, 2);
  const topP = num(b, 'top_p', 1, Number.MIN_VALUE, 1);
  const topKRaw = num(b, 'top_k', 0, -1, 1e9, true);
  let stop: string[] = [];
  if (present(b, 'stop')) {
    const s = b.stop;
    if (typeof s === 'string') stop = [s];
    else if (Array.isArray(s) && s.every((x) => typeof x === 'string')) stop = s as string[];
    else throw badRequest(`stop must be a string or an array of strings, got ${kindOf(s)}`, 'stop');
    if (stop.length > 16) throw badRequest(`stop holds ${stop.length} strings; at most 16`, 'stop');
    if (stop.some((x) => x === '')) throw badRequest('stop strings must not be empty', 'stop');
  }
  let seed: number | undefined;
  if (present(b, 'seed')) {
    // the sampler takes a seed in [0, 2^53): negative seeds wrap around
    seed = num(b, 'seed', 0, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, true);
    if (seed < 0) seed += Number.MAX_SAFE_INTEGER + 1;
  }
  return { n, maxTokens, temperature, topP, topK: topKRaw < 0 ? 0 : topKRaw, stop, seed };
}

function common(b: Body, limits: Limits, maxTokensField: string): Common {
  if (typeof b.model !== 'string' || b.model === '')
    throw badRequest(`model must be a non-empty string, got ${kindOf(b.model)}`, 'model');
  const stream = bool(b, 'stream', false);
  let includeUsage = false;
  if (present(b, 'stream_options')) {
    const so = b.stream_options;
    if (!isObject(so)) throw badRequest(`stream_options must be an object, got ${kindOf(so)}`, 'stream_options');
    if (!stream) throw badRequest('stream_options is only allowed when stream is true', 'stream_options');
    includeUsage = bool(so, 'include_usage', false);
  }
  return { model: b.model, params: sampling(b, limits, maxTokensField), stream, includeUsage };
}

const isZero = (v: unknown) => v === 0;
const isFalse = (v: unknown) => v === false;
const isEmpty = (v: unknown) => (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);

/** A /v1/completions body. */
export function parseCompletionRequest(body: unknown, limits: Limits): CompletionRequest {
  if (!isObject(body)) throw badRequest(`the request body must be a JSON object, got ${kindOf(body)}`);
  refuseUnsupported(body, {
    logprobs: isZero,
    echo: isFalse,
    suffix: (v) => v === '',
    best_of: (v) => v === 1 || v === body.n,
    presence_penalty: isZero,
    frequency_penalty: isZero,
    logit_bias: isEmpty,
  });
  const c = common(body, limits, 'max_tokens');
  const p = body.prompt;
  let prompts: (string | number[])[];
  const isIds = (a: unknown): a is number[] =>
    Array.isArray(a) && a.length > 0 && a.every((x) => typeof x === 'number');
  if (typeof p === 'string') prompts = [p];
  else if (isIds(p)) prompts = [p];
  else if (Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'string' || isIds(x)))
    prompts = p as (string | number[])[];
  else
    throw badRequest(
      `prompt must be a string, an array of strings, an array of token ids or an array of those, got ${kindOf(p)}`,
      'prompt',
    );
  if (prompts.length > limits.maxPrompts)
    throw badRequest(`prompt holds ${prompts.length} prompts; at most ${limits.maxPrompts}`, 'prompt');
  prompts.forEach((q, i) => {
    if (Array.isArray(q))
      q.forEach((id, j) => {
        if (!Number.isInteger(id) || id < 0)
          throw badRequest(`prompt token ids must be non-negative integers, got ${id} at [${i}][${j}]`, 'prompt');
      });
  });
  return { kind: 'completion', ...c, prompts };
}

function messageContent(v: unknown, where: string): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    return v
      .map((part, j) => {
        if (!isObject(part) || part.type !== 'text' || typeof part.text !== 'string') {
          throw badRequest(
            `${where}[${j}] must be {"type": "text", "text": string} (only text content is supported)`,
            where,
          );
        }
        return part.text;
      })
      .join('');
  }
  throw badRequest(`${where} must be a string or an array of text parts, got ${kindOf(v)}`, where);
}

const ROLES = new Set(['system', 'developer', 'user', 'assistant']);

/** A /v1/chat/completions body. */
export function parseChatRequest(body: unknown, limits: Limits): ChatRequest {
  if (!isObject(body)) throw badRequest(`the request body must be a JSON object, got ${kindOf(body)}`);
  refuseUnsupported(body, {
    logprobs: isFalse,
    top_logprobs: isZero,
    presence_penalty: isZero,
    frequency_penalty: isZero,
    logit_bias: isEmpty,
    tools: isEmpty,
    functions: isEmpty,
    response_format: (v) => isObject(v) && v.type === 'text',
  });
  const maxField = present(body, 'max_completion_tokens') ? 'max_completion_tokens' : 'max_tokens';
  const c = common(body, limits, maxField);
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    throw badRequest(`messages must be a non-empty array, got ${kindOf(body.messages)}`, 'messages');
  const messages = body.messages.map((m, i): ChatMessageIn => {
    const where = `messages[${i}]`;
    if (!isObject(m)) throw badRequest(`${where} must be an object, got ${kindOf(m)}`, where);
    if (typeof m.role !== 'string' || !ROLES.has(m.role))
      throw badRequest(
        `${where}.role must be one of ${[...ROLES].join(', ')}, got ${JSON.stringify(m.role)}`,
        `${where}.role`,
      );
    return { role: m.role, content: messageContent(m.content, `${where}.content`) };
  });
  return { kind: 'chat', ...c, messages };
}

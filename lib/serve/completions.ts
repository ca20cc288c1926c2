// The two generation endpoints, /v1/completions and /v1/chat/completions: a parsed request
// (requests.ts) becomes prompt token ids and generation jobs for the batcher, and the finished
// (or, streaming, the growing) completions become OpenAI's reply objects.
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { ServerResponse } from 'node:http';

import { renderChat } from '../data/prompts.js';
import type { EncodedPrefix, Tokenizer } from '../data/tokenizer.js';
import type { Model } from '../engine/model.js';
import { QueueFullError, type Batcher, type GenJob, type JobResult } from './batcher.js';
import { finishText, TextStream, type FinishedText, type StopRules } from './detokenize.js';
import { ApiError, badRequest, sendJson, toApiError } from './errors.js';
import type { ChatRequest, CompletionRequest, Limits } from './requests.js';
import { endEventStream, sendEvent, startEventStream } from './sse.js';

export interface CompletionsContext {
  model: Model;
  tokenizer: Tokenizer;
  batcher: Batcher;
  limits: Limits;
  maxQueue: number;
  /** The model's name in the API. */
  modelName: string;
  /** True while the server drains: replies then close their connection. */
  closeAfterReply: () => boolean;
  /** Encodes prompt text up to a limit off the event loop (tokenize-pool.ts); default: on it. */
  encodePrefix?: (text: string, limit: number) => Promise<EncodedPrefix>;
}

/** A 404 naming the model asked for, unless it is the one served. */
export function checkModelName(name: string, modelName: string): void {
  if (name !== modelName)
    throw new ApiError(
      404,
      'not_found_error',
      `The model \`${name}\` does not exist; this server serves \`${modelName}\``,
      { param: 'model', code: 'model_not_found' },
    );
}

/** The handler of both endpoints: answers `req` on `res`; `signal` aborts when the client leaves. */
export function completionsHandler(
  ctx: CompletionsContext,
): (req: CompletionRequest | ChatRequest, res: ServerResponse, signal: AbortSignal) => Promise<void> {
  const { tokenizer, batcher, limits, maxQueue, modelName } = ctx;
  const encodePrefix = ctx.encodePrefix ?? (async (text: string, limit: number) => tokenizer.encodePrefix(text, limit));
  const cfg = ctx.model.config;
  const context = cfg.maxPositionEmbeddings;

  // Tokens that end every completion: the model's end-of-sequence tokens; chat also ends at the
  // ChatML end of turn when the tokenizer has one.
  const eos = new Set<number>(tokenizer.stopTokenIds);
  for (const id of [cfg.eosTokenId].flat()) if (typeof id === 'number') eos.add(id);
  const imEnd = tokenizer.tokenToId('<|im_end|>');

  function stopRules(stops: string[], chat: boolean): { rules: StopRules; ids: number[] } {
    const tokenStops = new Map<number, string>();
    for (const s of stops) {
      const { ids, more } = tokenizer.encodePrefix(s, 1); // one token or more: no need to encode it all
      if (ids.length === 1 && !more) tokenStops.set(ids[0], s);
    }
    const ids = new Set([...eos, ...tokenStops.keys()]);
    if (chat && imEnd !== undefined) ids.add(imEnd);
    return { rules: { strings: stops, tokenStops }, ids: [...ids] };
  }

  // A text prompt is encoded only up to the context length: past it the request is refused
  // anyway, so a prompt of megabytes costs what one of `context` tokens does.
  async function tokens(prompt: string | number[], where: string): Promise<number[]> {
    let ids: number[];
    if (typeof prompt === 'string') {
      const enc = await encodePrefix(prompt, context);
      if (enc.more)
        throw badRequest(
          `This model's maximum context length is ${context} tokens. However, ${where} holds more than ${context} tokens.`,
          where,
          'context_length_exceeded',
        );
      ids = Array.from(enc.ids);
    } else ids = prompt;
    if (ids.length === 0) throw badRequest(`${where} is empty`, where);
    const bad = ids.findIndex((id) => id >= cfg.vocabSize);
    if (bad >= 0)
      throw badRequest(
        `${where} token id ${ids[bad]} at [${bad}] is not below the vocabulary size ${cfg.vocabSize}`,
        where,
      );
    return ids;
  }

  function budget(promptLen: number, asked: number | undefined, dflt: number, where: string): number {
    const room = context - promptLen;
    if (room < 1 || (asked !== undefined && asked > room)) {
      throw badRequest(
        `This model's maximum context length is ${context} tokens. However, you requested ${promptLen + (asked ?? 1)} tokens (${promptLen} in ${where}, ${asked ?? 1} for the completion).`,
        asked !== undefined ? 'max_tokens' : where,
        'context_length_exceeded',
      );
    }
    return asked ?? Math.min(dflt, room, limits.maxTokens);
  }

  // The two generation endpoints.
  async function generate(
    req: CompletionRequest | ChatRequest,
    res: ServerResponse,
    signal: AbortSignal,
  ): Promise<void> {
    checkModelName(req.model, modelName);
    const chat = req.kind === 'chat';
    let prompts: number[][];
    if (req.kind === 'chat') {
      let text: string;
      try {
        text = renderChat(tokenizer, req.messages, { addGenerationPrompt: true });
      } catch (e) {
        throw badRequest(`the chat template cannot render these messages: ${(e as Error).message}`, 'messages');
      }
      prompts = [await tokens(text, 'messages')];
    } else {
      prompts = await Promise.all(
        req.prompts.map((p, i) => tokens(p, req.prompts.length > 1 ? `prompt[${i}]` : 'prompt')),
      );
    }
    const p = req.params;
    const { rules, ids } = stopRules(p.stop, chat);
    const jobs: GenJob[] = prompts.map((prompt, i) => ({
      prompt,
      n: p.n,
      maxTokens: budget(
        prompt.length,
        p.maxTokens,
        chat ? limits.maxTokens : 16,
        prompts.length > 1 ? `prompt[${i}]` : chat ? 'the messages' : 'the prompt',
      ),
      // top-k past the vocabulary cuts nothing; a top-p below the sampler's floor keeps the top token
      temperature: p.temperature,
      topP: Math.max(p.topP, 1e-9),
      topK: p.topK >= cfg.vocabSize ? 0 : p.topK,
      stopTokens: ids,
      seed: p.seed,
    }));
    if (batcher.queued + jobs.length > maxQueue) throw new QueueFullError(maxQueue);
    // The batcher listens on the request's signal twice per prompt (queued, then running): up to
    // 2 × maxPrompts listeners are expected, not a leak (Node warns past 10).
    setMaxListeners(2 * limits.maxPrompts + 2, signal);
    const id = `${chat ? 'chatcmpl' : 'cmpl'}-${randomUUID().replace(/-/g, '')}`;
    const now = Math.floor(Date.now() / 1000);
    const chunkObject = chat ? 'chat.completion.chunk' : 'text_completion';
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
      id,
      object: chunkObject,
      created: now,
      model: modelName,
      choices,
      ...extra,
    });
    const piece = (index: number, text: string) =>
      chunk([
        chat
          ? { index, delta: { content: text }, logprobs: null, finish_reason: null }
          : { index, text, logprobs: null, finish_reason: null },
      ]);
    if (req.stream) {
      startEventStream(res);
      if (chat)
        sendEvent(
          res,
          chunk(
            Array.from({ length: p.n }, (_, index) => ({
              index,
              delta: { role: 'assistant', content: '' },
              logprobs: null,
              finish_reason: null,
            })),
          ),
        );
    }
    // Each completion's text as it is sampled: streamed, and ended at its first stop string.
    const stopIds = new Set(ids);
    const streams = jobs.map(() => Array.from({ length: p.n }, () => new TextStream(tokenizer, rules, stopIds)));
    const watch = req.stream || rules.strings.length > 0;
    const results = jobs.map((j, pi) =>
      batcher.submit(j, {
        signal,
        onTokens: watch
          ? (i, toks) => {
              const ts = streams[pi][i];
              const text = ts.push(toks);
              if (req.stream && text !== '') sendEvent(res, piece(pi * p.n + i, text));
              return ts.ended;
            }
          : undefined,
      }),
    );
    results.forEach((r) => r.catch(() => undefined)); // a rejection is seen below; none goes unhandled

    const object = chat ? 'chat.completion' : 'text_completion';
    const usage = (done: FinishedText[][]) => {
      const promptTokens = prompts.reduce((a, q) => a + q.length, 0);
      const completionTokens = done.flat().reduce((a, f) => a + f.completionTokens, 0);
      return {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      };
    };
    const finish = (r: JobResult) => r.tokens.map((t, i) => finishText(tokenizer, t, r.finishReasons[i], rules));

    if (!req.stream) {
      const done = (await Promise.all(results)).map(finish);
      const choices = done.flatMap((fs, pi) =>
        fs.map((f, j) => {
          const index = pi * p.n + j;
          return chat
            ? {
                index,
                message: { role: 'assistant', content: f.text },
                logprobs: null,
                finish_reason: f.finishReason,
                stop_reason: f.stopReason,
              }
            : { index, text: f.text, logprobs: null, finish_reason: f.finishReason, stop_reason: f.stopReason };
        }),
      );
      sendJson(
        res,
        200,
        { id, object, created: now, model: modelName, choices, usage: usage(done) },
        ctx.closeAfterReply() ? { Connection: 'close' } : {},
      );
      return;
    }

    const done: FinishedText[][] = [];
    try {
      // Each prompt's choices finish as soon as its completions end.
      await Promise.all(
        results.map(async (r, pi) => {
          const fs = finish(await r);
          done[pi] = fs;
          fs.forEach((f, j) => {
            const index = pi * p.n + j;
            const rest = streams[pi][j].rest(f);
            if (rest !== '') sendEvent(res, piece(index, rest));
            sendEvent(
              res,
              chunk([
                chat
                  ? { index, delta: {}, logprobs: null, finish_reason: f.finishReason, stop_reason: f.stopReason }
                  : { index, text: '', logprobs: null, finish_reason: f.finishReason, stop_reason: f.stopReason },
              ]),
            );
          });
        }),
      );
      if (req.includeUsage) sendEvent(res, chunk([], { usage: usage(done) }));
    } catch (e) {
      // Headers are out: the error goes into the stream, as OpenAI's servers do.
      sendEvent(res, toApiError(e).body());
    }
    endEventStream(res);
  }

  return generate;
}

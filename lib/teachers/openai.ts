// The `openai` teacher: reasoning traces sampled from a model behind any OpenAI-compatible server
// (vLLM, SGLang, Ollama, a hosted API, or `warmstart serve`), as the paper sampled QwQ-32B with
// vLLM: n samples per puzzle, temperature 0.6, top-p 0.95, top-k 40, up to 8192 new tokens,
// stopping at `</answer>`, which is appended back (servers drop the stop string).
//
// `--style raw` sends the paper's raw prompt to /completions; `--style chat` sends the chat
// messages to /chat/completions (the server applies the model's chat template). Up to
// `concurrency` requests are in flight; each retries on 429, 5xx and time-outs (http-client.ts).
// Every finished sample is appended to the output at once, keyed by the puzzle's index and the
// sample number, so a re-run skips what is there and a killed run loses only the requests in
// flight (trace-log.ts). Each record keeps the prompt, the completion, the finish reason, the
// token usage and the paper's K&K reward; with `minReward`, records below it go to a second file
// (OUT.rejected.jsonl) instead, so the output holds only what passed and nothing is lost.
import path from 'node:path';

import { buildChatMessages, buildPrompt, KK_ASSISTANT_PREFIX } from '../kk/prompt.js';
import { toRecord, type KKPuzzle } from '../kk/puzzle.js';
import { kkRewardDetails } from '../kk/reward.js';
import { registerTeacher, type Teacher } from '../kk/teacher.js';
import { OpenAIClient, type ClientOptions } from './http-client.js';
import { openTraceLog, type TraceLog } from './trace-log.js';

/** The paper's sampling settings for the teacher (arXiv 2505.13718, QwQ-32B on vLLM). */
export const OPENAI_TEACHER_PAPER = {
  samples: 4,
  temperature: 0.6,
  topP: 0.95,
  topK: 40,
  maxTokens: 8192,
  stop: ['</answer>'],
} as const;

export interface OpenAITeacherOptions extends Omit<ClientOptions, 'onRetry'> {
  /** The model name the server knows. */
  model: string;
  /** Samples per puzzle. Default 4. */
  samples?: number;
  temperature?: number;
  topP?: number;
  /** 0 leaves top_k out of the request (for servers that reject it). Default 40. */
  topK?: number;
  maxTokens?: number;
  /** Stop strings; the one that ends a completion is appended back. Default ['</answer>']. */
  stop?: string[];
  /** Requests in flight at once. Default 16. */
  concurrency?: number;
  /** Sent as `seed` (sample k of puzzle i asks for seed + 1000003·i + k) when given. */
  seed?: number;
  /** Records whose K&K reward is below this go to OUT.rejected.jsonl. Default: keep all. */
  minReward?: number;
  /** Called on each retry (a line for the log). */
  onRetry?: ClientOptions['onRetry'];
}

/** One sampled completion as the server returned it, in the K&K convention (text after `<think>`). */
export interface TeacherSample {
  completion: string;
  finishReason: string | null;
  stopReason: string | number | null;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
}

export interface SampleRunResult {
  /** Records in all (puzzles × samples). */
  total: number;
  /** Found already written and skipped. */
  skipped: number;
  /** Written by this run (to the output or the rejected file). */
  written: number;
  /** Of those, written to the rejected file. */
  rejected: number;
  /** Bytes of a torn last line cut off the output on opening (a run killed mid-write). */
  repairedBytes: number;
}

interface CompletionChoice {
  text?: string;
  message?: { content?: string | null; reasoning_content?: string | null };
  finish_reason?: string | null;
  stop_reason?: string | number | null;
}

interface CompletionResponse {
  choices?: CompletionChoice[];
  usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number };
}

function check(name: string, v: number, lo: number, hi: number, integer = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (integer && !Number.isInteger(v))) {
    throw new RangeError(
      `${name}: expected ${integer ? 'an integer' : 'a number'} in [${lo}, ${hi}], got ${String(v)}`,
    );
  }
  return v;
}

/** The file that takes records below minReward: traces.jsonl → traces.rejected.jsonl. */
export function rejectedFile(out: string): string {
  const ext = path.extname(out);
  return `${ext ? out.slice(0, -ext.length) : out}.rejected${ext || '.jsonl'}`;
}

/** Samples K&K traces from an OpenAI-compatible server (see the top of this file). */
export class OpenAITeacher implements Teacher {
  readonly name = 'openai';
  readonly concurrency: number;
  readonly client: OpenAIClient;
  readonly settings: Required<
    Pick<OpenAITeacherOptions, 'model' | 'samples' | 'temperature' | 'topP' | 'topK' | 'maxTokens' | 'stop'>
  > &
    Pick<OpenAITeacherOptions, 'seed' | 'minReward'>;

  constructor(opts: OpenAITeacherOptions) {
    if (typeof opts?.model !== 'string' || opts.model === '')
      throw new TypeError('model: the model name the server serves is required (--model)');
    const P = OPENAI_TEACHER_PAPER;
    this.settings = {
      model: opts.model,
      samples: check('samples', opts.samples ?? P.samples, 1, 1e6, true),
      temperature: check('temperature', opts.temperature ?? P.temperature, 0, 2),
      topP: check('top-p', opts.topP ?? P.topP, Number.MIN_VALUE, 1),
      topK: check('top-k', opts.topK ?? P.topK, 0, 1e9, true),
      maxTokens: check('max-tokens', opts.maxTokens ?? P.maxTokens, 1, 1e7, true),
      stop: opts.stop ?? [...P.stop],
      seed: opts.seed === undefined ? undefined : check('seed', opts.seed, 0, 2 ** 40, true),
      minReward: opts.minReward === undefined ? undefined : check('min-reward', opts.minReward, -1e9, 1e9),
    };
    if (!Array.isArray(this.settings.stop) || this.settings.stop.some((s) => typeof s !== 'string' || s === ''))
      throw new RangeError('stop: expected non-empty strings');
    this.concurrency = check('concurrency', opts.concurrency ?? 16, 1, 4096, true);
    this.client = new OpenAIClient(opts);
  }

  /** One completion for a raw prompt (the Teacher interface, used by writeTraces). */
  async complete(_puzzle: KKPuzzle, prompt: string): Promise<string> {
    return (await this.sampleRaw(prompt, undefined)).completion;
  }

  private body(seed: number | undefined): Record<string, unknown> {
    const s = this.settings;
    return {
      model: s.model,
      max_tokens: s.maxTokens,
      temperature: s.temperature,
      top_p: s.topP,
      ...(s.topK > 0 ? { top_k: s.topK } : {}),
      ...(s.stop.length ? { stop: s.stop } : {}),
      ...(seed !== undefined ? { seed } : {}),
      n: 1,
    };
  }

  /** The text of a choice with the stop string that ended it appended back. */
  private finish(text: string, c: CompletionChoice): string {
    if (c.finish_reason !== 'stop') return text;
    if (typeof c.stop_reason === 'string')
      return this.settings.stop.includes(c.stop_reason) ? text + c.stop_reason : text;
    if (c.stop_reason === undefined) {
      // The server does not say which stop fired: a closing tag whose block is still open did.
      for (const s of this.settings.stop) {
        const m = /^<\/([^<>\s]+)>$/.exec(s);
        if (m && text.split(`<${m[1]}>`).length > text.split(s).length) return text + s;
      }
    }
    return text; // the end-of-sequence token (stop_reason null or a token id)
  }

  private sample(r: CompletionResponse, where: string, chat: boolean): TeacherSample {
    const c = r?.choices?.[0];
    if (!c) throw new Error(`${this.client.baseUrl}${where}: the answer has no choices`);
    let text: string;
    if (chat) {
      const m = c.message;
      if (typeof m?.content !== 'string' && typeof m?.reasoning_content !== 'string')
        throw new Error(`${this.client.baseUrl}${where}: choices[0].message.content is not a string`);
      const content = m?.content ?? '';
      // Servers with a reasoning parser split the thought off into reasoning_content.
      text =
        typeof m?.reasoning_content === 'string'
          ? `${m.reasoning_content}\n</think>\n${content}`
          : content.replace(/^\s*<think>/, '');
    } else {
      if (typeof c.text !== 'string')
        throw new Error(`${this.client.baseUrl}${where}: choices[0].text is not a string`);
      text = c.text;
    }
    const u = r.usage;
    const usage =
      u && typeof u.completion_tokens === 'number'
        ? {
            prompt_tokens: u.prompt_tokens ?? 0,
            completion_tokens: u.completion_tokens,
            total_tokens: u.total_tokens ?? (u.prompt_tokens ?? 0) + u.completion_tokens,
          }
        : null;
    return {
      completion: this.finish(text, c),
      finishReason: c.finish_reason ?? null,
      stopReason: c.stop_reason ?? null,
      usage,
    };
  }

  /** One sample of a raw prompt from /completions. */
  async sampleRaw(prompt: string, seed: number | undefined, signal?: AbortSignal): Promise<TeacherSample> {
    return this.sample(
      await this.client.post<CompletionResponse>('/completions', { ...this.body(seed), prompt }, { signal }),
      '/completions',
      false,
    );
  }

  /** One sample of chat messages from /chat/completions. */
  async sampleChat(
    messages: { role: string; content: string }[],
    seed: number | undefined,
    signal?: AbortSignal,
  ): Promise<TeacherSample> {
    return this.sample(
      await this.client.post<CompletionResponse>('/chat/completions', { ...this.body(seed), messages }, { signal }),
      '/chat/completions',
      true,
    );
  }

  /**
   * Samples `samples` traces for every puzzle into `out` (JSONL), resuming: records already in
   * `out` (or its rejected file) are skipped. On a request that fails for good, the requests in
   * flight finish and are written, then the error is thrown (re-running resumes). `signal` stops
   * it: no new request starts, those in flight are cancelled, what finished stays written, and the
   * signal's reason is thrown.
   */
  async writeFile(
    puzzles: readonly KKPuzzle[],
    out: string,
    opts: {
      style?: 'raw' | 'chat';
      onProgress?: (done: number, total: number) => void;
      signal?: AbortSignal;
    } = {},
  ): Promise<SampleRunResult> {
    const style = opts.style ?? 'raw';
    if (style !== 'raw' && style !== 'chat')
      throw new RangeError(`style: expected 'raw' or 'chat', got ${JSON.stringify(style)}`);
    const s = this.settings;
    const indexOf = (p: KKPuzzle, i: number) => p.index ?? i;
    const byIndex = new Map<number, KKPuzzle>();
    puzzles.forEach((p, i) => {
      if (byIndex.has(indexOf(p, i)))
        throw new RangeError(`puzzles: two puzzles have index ${indexOf(p, i)}; records are keyed by it`);
      byIndex.set(indexOf(p, i), p);
    });
    // A record's key is its puzzle index and sample number; it must be about the same puzzle.
    const keyOf = (row: Record<string, unknown>, where: string) => {
      const { index, sample, quiz } = row;
      if (!Number.isInteger(index) || !Number.isInteger(sample))
        throw new TypeError(`${where}: a trace record needs integer "index" and "sample" fields`);
      const p = byIndex.get(index as number);
      if (p && p.quiz !== quiz)
        throw new Error(
          `${where}: puzzle ${String(index)} has a different quiz than the input file; write to another --out`,
        );
      return `${String(index)}:${String(sample)}`;
    };
    const logs: TraceLog[] = [await openTraceLog(out, keyOf)];
    try {
      if (s.minReward !== undefined) logs.push(await openTraceLog(rejectedFile(out), keyOf));
      const done = new Set(logs.flatMap((l) => [...l.existing.keys()]));
      const jobs: { p: KKPuzzle; index: number; k: number }[] = [];
      puzzles.forEach((p, i) => {
        for (let k = 0; k < s.samples; k++)
          if (!done.has(`${indexOf(p, i)}:${k}`)) jobs.push({ p, index: indexOf(p, i), k });
      });
      const total = puzzles.length * s.samples;
      const result: SampleRunResult = {
        total,
        skipped: total - jobs.length,
        written: 0,
        rejected: 0,
        repairedBytes: logs[0].repairedBytes,
      };
      opts.onProgress?.(result.skipped, total);

      let next = 0;
      let failure: unknown;
      const worker = async () => {
        while (failure === undefined && !opts.signal?.aborted && next < jobs.length) {
          const { p, index, k } = jobs[next++];
          try {
            const seed = s.seed === undefined ? undefined : s.seed + 1000003 * index + k;
            const prompt = style === 'raw' ? buildPrompt(p) : buildChatMessages(p);
            const r =
              typeof prompt === 'string'
                ? await this.sampleRaw(prompt, seed, opts.signal)
                : await this.sampleChat(prompt, seed, opts.signal);
            const reward = kkRewardDetails(r.completion, p);
            const record = {
              ...toRecord(p),
              index,
              sample: k,
              teacher: this.name,
              model: s.model,
              prompt,
              completion:
                style === 'raw' ? r.completion : [{ role: 'assistant', content: KK_ASSISTANT_PREFIX + r.completion }],
              finish_reason: r.finishReason,
              stop_reason: r.stopReason,
              usage: r.usage,
              reward: reward.reward,
              reward_reason: reward.reason,
            };
            const reject = s.minReward !== undefined && reward.reward < s.minReward;
            await logs[reject ? 1 : 0].append(record);
            result.written++;
            if (reject) result.rejected++;
            opts.onProgress?.(result.skipped + result.written, total);
          } catch (e) {
            failure ??= e;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.concurrency, jobs.length) }, worker));
      if (opts.signal?.aborted) throw opts.signal.reason as Error;
      if (failure !== undefined) {
        const msg = failure instanceof Error ? failure.message : String(failure);
        throw new Error(
          `${msg}\n${result.skipped + result.written} of ${total} records are in ${out}; run the same command again to resume`,
        );
      }
      return result;
    } finally {
      for (const l of logs) await l.close();
    }
  }
}

/** A teacher over an OpenAI-compatible server. */
export function openaiTeacher(opts: OpenAITeacherOptions): OpenAITeacher {
  return new OpenAITeacher(opts);
}

function num(flag: string, v: unknown, integer = false): number {
  const s = String(v).trim();
  if (s === '' || !Number.isFinite(Number(s)) || (integer && !Number.isInteger(Number(s))))
    throw new RangeError(`${flag}: expected ${integer ? 'an integer' : 'a number'}, got "${String(v)}"`);
  return Number(s);
}

registerTeacher({
  name: 'openai',
  description:
    'a model behind any OpenAI-compatible server (vLLM, SGLang, Ollama, warmstart serve); n samples a puzzle, appended as they come, resumable',
  options: [
    { flags: '--endpoint <url>', description: "the server's OpenAI base URL, e.g. http://127.0.0.1:8000/v1" },
    { flags: '--model <name>', description: 'model name on the server' },
    { flags: '--samples <n>', description: 'samples per puzzle', default: String(OPENAI_TEACHER_PAPER.samples) },
    {
      flags: '--temperature <t>',
      description: 'sampling temperature',
      default: String(OPENAI_TEACHER_PAPER.temperature),
    },
    { flags: '--top-p <p>', description: 'nucleus mass', default: String(OPENAI_TEACHER_PAPER.topP) },
    {
      flags: '--top-k <k>',
      description: 'top-k (0: leave it out of requests)',
      default: String(OPENAI_TEACHER_PAPER.topK),
    },
    {
      flags: '--max-new-tokens <n>',
      description: 'most new tokens a sample (the max_tokens of each request)',
      default: String(OPENAI_TEACHER_PAPER.maxTokens),
    },
    { flags: '--max-tokens <n>', description: 'deprecated spelling of --max-new-tokens', hidden: true },
    {
      flags: '--stop <strings>',
      description: 'comma-separated stop strings (appended back)',
      default: OPENAI_TEACHER_PAPER.stop.join(','),
    },
    { flags: '--concurrency <n>', description: 'requests in flight', default: '16' },
    {
      flags: '--api-key-env <var>',
      description: 'environment variable holding the API key (sent when set)',
      default: 'OPENAI_API_KEY',
    },
    { flags: '--request-timeout <s>', description: 'seconds one attempt may take', default: '600' },
    { flags: '--retries <n>', description: 'retries of a request on 429, 5xx or time-out', default: '8' },
    { flags: '--seed <n>', description: 'send seeds (seed + 1000003·index + sample) for reproducible samples' },
    {
      flags: '--min-reward <r>',
      description: 'write records with a lower K&K reward to OUT.rejected.jsonl (default: keep all)',
    },
  ],
  create(o) {
    if (o.endpoint === undefined)
      throw new RangeError(
        "--endpoint: the openai teacher needs the server's URL, e.g. --endpoint http://127.0.0.1:8000/v1",
      );
    if (o.model === undefined)
      throw new RangeError('--model: the openai teacher needs the model name the server serves');
    if (o.maxTokens !== undefined) process.stderr.write('warning: --max-tokens is deprecated, use --max-new-tokens\n');
    const keyVar = String(o.apiKeyEnv ?? 'OPENAI_API_KEY');
    return new OpenAITeacher({
      endpoint: String(o.endpoint),
      model: String(o.model),
      apiKey: process.env[keyVar] || undefined,
      samples: num('--samples', o.samples ?? OPENAI_TEACHER_PAPER.samples, true),
      temperature: num('--temperature', o.temperature ?? OPENAI_TEACHER_PAPER.temperature),
      topP: num('--top-p', o.topP ?? OPENAI_TEACHER_PAPER.topP),
      topK: num('--top-k', o.topK ?? OPENAI_TEACHER_PAPER.topK, true),
      maxTokens:
        o.maxTokens !== undefined
          ? num('--max-tokens', o.maxTokens, true)
          : num('--max-new-tokens', o.maxNewTokens ?? OPENAI_TEACHER_PAPER.maxTokens, true),
      stop: String(o.stop ?? OPENAI_TEACHER_PAPER.stop.join(','))
        .split(',')
        .filter((x) => x !== ''),
      concurrency: num('--concurrency', o.concurrency ?? 16, true),
      timeoutMs: num('--request-timeout', o.requestTimeout ?? 600) * 1000,
      maxRetries: num('--retries', o.retries ?? 8, true),
      seed: o.seed === undefined ? undefined : num('--seed', o.seed, true),
      minReward: o.minReward === undefined ? undefined : num('--min-reward', o.minReward),
      onRetry: ({ attempt, delayMs, reason }) =>
        process.stderr.write(`retry ${attempt} in ${(delayMs / 1000).toFixed(1)} s: ${reason}\n`),
    });
  },
});

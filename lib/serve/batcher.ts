// Continuous request batching over one model: requests wait in a FIFO queue; while the engine
// runs a batch, new arrivals queue up, and when it returns, the oldest waiting request and every
// queued request that samples the same way (temperature, top-p, top-k, stop tokens) go together
// into the next `generate` call, up to a number of sequences and a KV-cache budget. A request with
// a `seed` runs in a batch of its own, so that it gives the same completions whatever else is
// queued (the sampler's stream of sequence i depends on the seed and i). The queue has a length
// limit: a request that finds it full is refused at once (the server answers 429).
import { randomInt } from 'node:crypto';

import type { FinishReason, GenerateOptions, Generation } from '../engine/model.js';

export interface GenJob {
  /** Prompt token ids (≥ 1). */
  prompt: number[];
  /** Completions of this prompt. */
  n: number;
  maxTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  stopTokens: number[];
  seed?: number;
}

export interface JobResult {
  /** New tokens of each of the n completions (a stop token, when one ended it, is the last). */
  tokens: number[][];
  finishReasons: FinishReason[];
}

export interface BatcherOptions {
  /** Requests that may wait (not counting the batch running). */
  maxQueue: number;
  /** Most sequences (Σ n) in one engine call. */
  maxBatchSequences: number;
  /** Most KV-cache bytes one engine call may allocate (sequences × longest prompt+new tokens × bytes per token). */
  maxBatchKvBytes: number;
  /** KV-cache bytes per token of one sequence (2 · layers · kv heads · head dim · 4). */
  kvBytesPerToken: number;
}

export class QueueFullError extends Error {
  constructor(limit: number) {
    super(`the request queue is full (${limit} waiting); retry later`);
    this.name = 'QueueFullError';
  }
}

export class AbortedError extends Error {
  constructor() {
    super('the request was cancelled before it ran');
    this.name = 'AbortedError';
  }
}

interface Pending {
  job: GenJob;
  key: string;
  resolve: (r: JobResult) => void;
  reject: (e: unknown) => void;
  onAbort?: () => void;
  signal?: AbortSignal;
}

export type GenerateFn = (prompts: number[][], opts: GenerateOptions) => Promise<Generation>;

let uniqueKey = 0;

export class Batcher {
  private readonly queue: Pending[] = [];
  private runningSequences = 0;
  private busy = false;
  private idleWaiters: (() => void)[] = [];
  /** Engine calls made and sequences they generated (for /health and the benchmark). */
  readonly stats = { batches: 0, sequences: 0, tokens: 0 };

  constructor(private readonly generate: GenerateFn, private readonly opts: BatcherOptions) {}

  /** Requests waiting for a batch. */
  get queued(): number {
    return this.queue.length;
  }

  /** Sequences in the engine right now. */
  get running(): number {
    return this.runningSequences;
  }

  /**
   * Queues a job; resolves with its completions when its batch returns. Throws QueueFullError at
   * once when the queue is full; rejects with AbortedError when `signal` fires before it runs.
   */
  submit(job: GenJob, signal?: AbortSignal): Promise<JobResult> {
    if (this.queue.length >= this.opts.maxQueue) return Promise.reject(new QueueFullError(this.opts.maxQueue));
    if (signal?.aborted) return Promise.reject(new AbortedError());
    const key = job.seed !== undefined
      ? `seeded#${++uniqueKey}`
      : JSON.stringify([job.temperature, job.temperature === 0 ? 1 : job.topP, job.temperature === 0 ? 0 : job.topK, [...new Set(job.stopTokens)].sort((a, b) => a - b)]);
    return new Promise<JobResult>((resolve, reject) => {
      const p: Pending = { job, key, resolve, reject, signal };
      if (signal) {
        p.onAbort = () => {
          const i = this.queue.indexOf(p);
          if (i >= 0) {
            this.queue.splice(i, 1);
            reject(new AbortedError());
            this.notifyIdle();
          }
        };
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.queue.push(p);
      // Let requests that arrive in the same turn of the event loop join this batch.
      if (!this.busy) setImmediate(() => void this.pump());
    });
  }

  /** Resolves once nothing is queued or running. */
  idle(): Promise<void> {
    if (!this.busy && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private notifyIdle(): void {
    if (this.busy || this.queue.length > 0) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const r of w) r();
  }

  /** The next batch: the oldest request, then same-key requests in order while they fit. */
  private take(): Pending[] {
    const first = this.queue[0];
    const batch = [first];
    let seqs = first.job.n;
    let longest = first.job.prompt.length + first.job.maxTokens;
    if (!first.key.startsWith('seeded#')) {
      for (let i = 1; i < this.queue.length; i++) {
        const p = this.queue[i];
        if (p.key !== first.key) continue;
        const s = seqs + p.job.n;
        const l = Math.max(longest, p.job.prompt.length + p.job.maxTokens);
        if (s > this.opts.maxBatchSequences || s * l * this.opts.kvBytesPerToken > this.opts.maxBatchKvBytes) continue;
        batch.push(p);
        seqs = s;
        longest = l;
      }
    }
    for (const p of batch) {
      this.queue.splice(this.queue.indexOf(p), 1);
      if (p.onAbort) p.signal!.removeEventListener('abort', p.onAbort);
    }
    return batch;
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.take();
        const prompts: number[][] = [];
        for (const p of batch) for (let i = 0; i < p.job.n; i++) prompts.push(p.job.prompt);
        const j0 = batch[0].job;
        this.runningSequences = prompts.length;
        try {
          const g = await this.generate(prompts, {
            maxNewTokens: Math.max(...batch.map((p) => p.job.maxTokens)),
            temperature: j0.temperature,
            topP: j0.topP,
            topK: j0.topK,
            seed: j0.seed ?? randomInt(2 ** 47),
            stopTokens: [...new Set(j0.stopTokens)],
          });
          this.stats.batches++;
          this.stats.sequences += prompts.length;
          let o = 0;
          for (const p of batch) {
            const tokens: number[][] = [];
            const finishReasons: FinishReason[] = [];
            for (let i = 0; i < p.job.n; i++, o++) {
              let t = g.tokens[o];
              let f = g.finishReasons[o];
              // The batch ran to its longest request's limit: cut this one to its own.
              if (t.length > p.job.maxTokens) {
                t = t.slice(0, p.job.maxTokens);
                f = 'length';
              }
              this.stats.tokens += t.length;
              tokens.push(t);
              finishReasons.push(f);
            }
            p.resolve({ tokens, finishReasons });
          }
        } catch (e) {
          for (const p of batch) p.reject(e);
        } finally {
          this.runningSequences = 0;
        }
      }
    } finally {
      this.busy = false;
      this.notifyIdle();
    }
  }
}

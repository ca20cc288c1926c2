// Request batching over one model: requests wait in a FIFO queue; while the engine runs a batch,
// new arrivals queue up, and when it returns, the oldest waiting request and every queued request
// that samples the same way (temperature, top-p, top-k, stop tokens) go together into the next
// `generate` call, up to a number of sequences and a KV-cache budget. Each request keeps its own
// token limit, gets its tokens as the engine samples them (for streaming) and is answered as soon
// as its own completions end, not when the whole batch does. A request with a `seed` runs in a
// batch of its own, so that it gives the same completions whatever else is queued (the sampler's
// stream of sequence i depends on the seed and i). The queue has a length limit: a request that
// finds it full is refused at once (the server answers 429).
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
  constructor(running = false) {
    super(running ? 'the request was cancelled while it ran' : 'the request was cancelled before it ran');
    this.name = 'AbortedError';
  }
}

/**
 * Receives a request's new tokens as they are sampled: `tokens` were appended to completion
 * `index` (0 ≤ index < n). Returning true ends that completion here (say, a stop string was
 * seen); its result then holds the tokens so far, with finish reason 'abort'.
 */
export type TokenSink = (index: number, tokens: number[]) => boolean | void;

export interface SubmitOptions {
  /** Cancels the request: waiting, it leaves the queue; running, its completions stop. Either way it rejects with AbortedError. */
  signal?: AbortSignal;
  onTokens?: TokenSink;
}

interface Pending {
  job: GenJob;
  key: string;
  resolve: (r: JobResult) => void;
  reject: (e: unknown) => void;
  onAbort?: () => void;
  signal?: AbortSignal;
  onTokens?: TokenSink;
}

/** One completion of a running request. */
interface Running {
  owner: Pending;
  index: number;
  tokens: number[];
  finish: FinishReason | null;
  stop: AbortController;
}

export type GenerateFn = (prompts: number[][], opts: GenerateOptions) => Promise<Generation>;

let uniqueKey = 0;

export class Batcher {
  private readonly queue: Pending[] = [];
  private runningSequences = 0;
  private busy = false;
  private idleWaiters: (() => void)[] = [];
  /** Requests taken into a batch and not yet answered. */
  private readonly open = new Set<Pending>();
  /** Engine calls made and sequences they generated (for /health and the benchmark). */
  readonly stats = { batches: 0, sequences: 0, tokens: 0 };

  constructor(
    private readonly generate: GenerateFn,
    private readonly opts: BatcherOptions,
  ) {}

  /** Requests waiting for a batch. */
  get queued(): number {
    return this.queue.length;
  }

  /** Sequences in the engine right now. */
  get running(): number {
    return this.runningSequences;
  }

  /**
   * Queues a job; resolves with its completions once they have all ended. Throws QueueFullError
   * at once when the queue is full; rejects with AbortedError when `signal` fires.
   */
  submit(job: GenJob, opts: SubmitOptions = {}): Promise<JobResult> {
    const { signal, onTokens } = opts;
    if (this.queue.length >= this.opts.maxQueue) return Promise.reject(new QueueFullError(this.opts.maxQueue));
    if (signal?.aborted) return Promise.reject(new AbortedError());
    const key =
      job.seed !== undefined
        ? `seeded#${++uniqueKey}`
        : JSON.stringify([
            job.temperature,
            job.temperature === 0 ? 1 : job.topP,
            job.temperature === 0 ? 0 : job.topK,
            [...new Set(job.stopTokens)].sort((a, b) => a - b),
          ]);
    return new Promise<JobResult>((resolve, reject) => {
      const p: Pending = { job, key, resolve, reject, signal, onTokens };
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

  /** Resolves a request whose completions have all ended (once). */
  private settle(p: Pending, seqs: Running[]): void {
    const mine = seqs.filter((r) => r.owner === p);
    if (mine.some((r) => r.finish === null) || !this.open.delete(p)) return;
    if (p.signal?.aborted) {
      p.reject(new AbortedError(true));
      return;
    }
    p.resolve({ tokens: mine.map((r) => r.tokens), finishReasons: mine.map((r) => r.finish!) });
  }

  /** Records new tokens of a running completion (up to its end) and hands them to its request's sink. */
  private record(r: Running, tokens: readonly number[], stopTokens: ReadonlySet<number>, seqs: Running[]): void {
    if (r.finish !== null) return; // ended here already; the engine may add a token or two before it sees that
    const taken: number[] = [];
    for (const token of tokens) {
      taken.push(token);
      r.tokens.push(token);
      this.stats.tokens++;
      if (stopTokens.has(token)) r.finish = 'stop';
      else if (r.tokens.length >= r.owner.job.maxTokens) r.finish = 'length';
      if (r.finish !== null) break;
    }
    let ended = false;
    try {
      ended = r.owner.onTokens?.(r.index, taken) === true;
    } catch (e) {
      // a sink that throws ends its request with that error
      for (const o of seqs) {
        if (o.owner !== r.owner) continue;
        o.finish ??= 'abort';
        o.stop.abort();
      }
      if (this.open.delete(r.owner)) r.owner.reject(e);
      return;
    }
    if (ended && r.finish === null) {
      r.finish = 'abort';
      r.stop.abort();
    }
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.take();
        const seqs: Running[] = [];
        for (const p of batch) {
          this.open.add(p);
          for (let i = 0; i < p.job.n; i++)
            seqs.push({ owner: p, index: i, tokens: [], finish: null, stop: new AbortController() });
        }
        const j0 = batch[0].job;
        const stopTokens = new Set(j0.stopTokens);
        // A request's signal stops all its completions; a completion's own controller stops it alone.
        const signals = seqs.map((r) =>
          r.owner.signal ? AbortSignal.any([r.owner.signal, r.stop.signal]) : r.stop.signal,
        );
        this.runningSequences = seqs.length;
        // A request cancelled while it runs is refused at once; the engine stops its completions.
        const cancels = batch
          .filter((p) => p.signal)
          .map((p) => {
            const f = () => {
              for (const r of seqs) if (r.owner === p) r.finish ??= 'abort';
              this.settle(p, seqs);
            };
            p.signal!.addEventListener('abort', f, { once: true });
            return () => p.signal!.removeEventListener('abort', f);
          });
        try {
          const g = await this.generate(
            seqs.map((r) => r.owner.job.prompt),
            {
              maxNewTokens: seqs.map((r) => r.owner.job.maxTokens),
              temperature: j0.temperature,
              topP: j0.topP,
              topK: j0.topK,
              seed: j0.seed ?? randomInt(2 ** 47),
              stopTokens: [...stopTokens],
              signals,
              onTokens: (step) => {
                const bySeq = new Map<number, number[]>();
                for (const t of step) {
                  const l = bySeq.get(t.prompt);
                  if (l) l.push(t.token);
                  else bySeq.set(t.prompt, [t.token]);
                }
                const touched = new Set<Pending>();
                for (const [s, toks] of bySeq) {
                  this.record(seqs[s], toks, stopTokens, seqs);
                  touched.add(seqs[s].owner);
                }
                for (const p of touched) this.settle(p, seqs);
              },
            },
          );
          this.stats.batches++;
          this.stats.sequences += seqs.length;
          // Completions the engine ended without a token saying so (aborted by a signal).
          seqs.forEach((r, s) => {
            if (r.finish === null) r.finish = g.finishReasons[s];
          });
          for (const p of batch) this.settle(p, seqs);
        } catch (e) {
          for (const p of batch) if (this.open.delete(p)) p.reject(e);
        } finally {
          this.runningSequences = 0;
          for (const off of cancels) off();
        }
      }
    } finally {
      this.busy = false;
      this.notifyIdle();
    }
  }
}

// The Qwen2 model on the engine: load a Hugging Face folder, logprobs, training (one objective
// for SFT and Dr. GRPO, gradient accumulation, AdamW), batched generation, atomic save.
// The native Model (native/napi/model.cc) does the arithmetic on a worker thread; this layer
// checks arguments, packs sequences (lib/engine/batch.ts) and owns files and folders.
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

import { cpu, cuda } from './addon.js';
import type { NativeGeneration, NativeModel } from './addon-types.js';
import { checkBatch, packTokens, type Batch, type TokenIds } from './batch.js';
import { commitFile, swapDirectory } from '../util/atomic.js';
import { configJson, nativeConfig, readConfig, type Qwen2Config } from './config.js';

/** 'cuda': bf16 weights and activations, fp32 master weights and Adam moments, on the GPU (the CUDA addon). */
export type Device = 'cpu' | 'cuda';
export type SaveDtype = 'f32' | 'bf16' | 'f16';

/** Files copied from the source folder into every saved model folder (when present). */
export const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'vocab.json',
  'merges.txt',
  'special_tokens_map.json',
  'added_tokens.json',
  'generation_config.json',
];

/** Transformers' default shard size ("5GB"). */
export const DEFAULT_MAX_SHARD_BYTES = 5_000_000_000;

export interface LoadOptions {
  device?: Device;
  /**
   * Called as the weights are read (after each ~64 MiB of parameters, the latest counts only, and
   * once at the end with loadedBytes === totalBytes): bytes of tensor data read and in all.
   */
  onProgress?: (progress: LoadProgress) => void;
  /** Stops the load (within one ~64 MiB chunk); loadModel then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface LoadProgress {
  loadedBytes: number;
  totalBytes: number;
}

export interface LogprobOptions {
  /** Divides the logits before the softmax (as TRL does), so it matches the sampling policy. Default 1. */
  temperature?: number;
}

export interface GenerateOptions {
  /** Most new tokens: one limit for every prompt, or one per prompt. */
  maxNewTokens: number | readonly number[];
  /** 0 = greedy. Default 1. */
  temperature?: number;
  /** Nucleus mass, (0, 1]. Default 1. */
  topP?: number;
  /** Keep the k most likely tokens; 0 = all. Default 0. */
  topK?: number;
  /** Seed of the sampler: same seed, prompts and model ⇒ same completions. Default 0. */
  seed?: number;
  /**
   * Prompt i samples from stream firstStream + i of the seed. Generating prompts [a, b) of a list
   * with firstStream a gives them the completions one call over the whole list gives (so a big
   * batch can run in pieces). Default 0.
   */
  firstStream?: number;
  /** Generation of a sequence ends after it samples one of these (included in its tokens). */
  stopTokens?: readonly number[];
  /**
   * Only ids below this are sampled: the tokenizer's size (`tokenizer.vocabSize`) when the model's
   * embedding has more rows than the tokenizer has tokens (every Qwen2.5: 151936 rows, 151665
   * tokens). The draw is the one over ids [0, vocabLimit) alone; the logprobs stay over the whole
   * vocabulary (as the trainer computes them). Default: the model's vocabSize (no limit).
   */
  vocabLimit?: number;
  /**
   * Called with the tokens sampled since its last call (one step, or several when it is slower
   * than the engine), in order. Every token reaches it exactly once before generate() resolves.
   * If it throws, generation stops and generate() rejects with that error.
   */
  onTokens?: (tokens: readonly SampledToken[]) => void;
  /**
   * Stops every prompt: each finishes as 'abort'. The engine runs at most a few steps ahead of
   * onTokens, so a signal fired from onTokens stops its prompts within two more tokens.
   */
  signal?: AbortSignal;
  /** One per prompt (or undefined): stops that prompt alone, as `signal` does. */
  signals?: readonly (AbortSignal | undefined)[];
}

/** A token that a decoding step appended to the completion of `prompt` (an index into the prompts). */
export interface SampledToken {
  prompt: number;
  token: number;
  /** log p of the token under the sampling distribution. */
  logprob: number;
}

/** 'stop': ended on a stop token; 'length': reached its limit; 'abort': its signal fired. */
export type FinishReason = 'stop' | 'length' | 'abort';

export interface Generation {
  /** New tokens of each prompt (a stop token, when one ended it, is the last). */
  tokens: Int32Array[];
  /** Log-probability of each new token under the sampling distribution (logits / temperature). */
  logprobs: Float32Array[];
  finishReasons: FinishReason[];
}

export interface SaveOptions {
  /** Dtype of the saved weights. Default 'f32'. */
  dtype?: SaveDtype;
  /** Shard above this many bytes of tensor data. Default 5e9 (Transformers' "5GB"). */
  maxShardBytes?: number;
  /** Folder whose tokenizer files are copied (default: the folder the model was loaded from). */
  tokenizerFrom?: string;
}

export interface TrainerOptions {
  lr: number;
  /** AdamW betas. Default [0.9, 0.999]. */
  betas?: [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay on matrices (not on biases or norm weights). Default 0. */
  weightDecay?: number;
  /** Clip the global gradient norm to this (0 = no clipping). Default 1. */
  maxGradNorm?: number;
  /**
   * Activation checkpointing: each step keeps only every layer's input and recomputes a layer's
   * activations in the backward (about one more forward pass; the same gradients, far less memory).
   * Default false.
   */
  gradientCheckpointing?: boolean;
}

/**
 * Per-call options of {@link Trainer.step}. All per-token arrays are aligned like
 * `batch.weights`: index t is the prediction of `tokens[t+1]` (lib/engine/batch.ts).
 */
export interface StepOptions {
  /** Per-token advantages A_t (Dr. GRPO: r_i − mean of the group, repeated over the completion). Default 1. */
  advantages?: Float32Array;
  /** Logprobs of the sampling policy, for the ratio ρ = exp(logp − old). Default: ρ = 1 exactly. */
  oldLogprobs?: Float32Array;
  /** Logprobs of a frozen reference model for the k3 KL term; needs `beta` > 0. */
  refLogprobs?: Float32Array;
  /** KL coefficient. Default 0. */
  beta?: number;
  /** PPO clip ε: one number for both sides, or [low, high]. Default 0.2. */
  clip?: number | [number, number];
  /** Lower clip ε (overrides `clip`'s). */
  clipLow?: number;
  /** Upper clip ε (overrides `clip`'s; DAPO's clip-higher). */
  clipHigh?: number;
  /**
   * The loss is Σ_t L_t / normaliser. Default: Σ weights of this batch (SFT mean over trained
   * tokens). With accumulation, pass the total over all micro-batches of the step.
   */
  normaliser?: number;
  /** Temperature dividing the logits (match the sampling temperature). Default 1. */
  temperature?: number;
  /** true: only add this batch's gradients; the update happens on a later step/update(). Default false. */
  accumulate?: boolean;
  /** Learning rate for this update and the ones after it (schedules). */
  lr?: number;
}

export interface StepResult {
  /** Σ_t L_t / normaliser of this batch. */
  loss: number;
  /** Global gradient norm before clipping; null when this call only accumulated. */
  gradNorm: number | null;
  /** Trained tokens in this batch (weight > 0). */
  tokens: number;
  /** Trained tokens whose gradient the ratio clip cut. */
  clipped: number;
  /** log p of each target under the current policy (before the update), aligned to the targets. */
  logprobs: Float32Array;
  /** Whether the optimizer stepped in this call. */
  updated: boolean;
}

function finite(name: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new TypeError(`${name} must be a finite number, got ${String(v)}`);
  if (v < lo || v > hi) throw new RangeError(`${name} must be in [${lo}, ${hi}], got ${v}`);
  return v;
}

function integer(name: string, v: unknown, lo: number, hi: number): number {
  finite(name, v, lo, hi);
  if (!Number.isInteger(v)) throw new RangeError(`${name} must be an integer, got ${String(v)}`);
  return v as number;
}

/**
 * A Qwen2 model in memory. Calls on one model run one at a time, in the order they were made
 * (a call made while another runs waits for it), so a trainer step and the logprobs asked
 * around it never interleave. `await model.dispose()` (or `await using model = await
 * loadModel(dir)`) frees its native memory (on CUDA, its GPU memory) once the calls made before
 * it end, instead of whenever the garbage collector runs; later calls throw.
 */
export class Model implements AsyncDisposable {
  readonly config: Qwen2Config;
  readonly device: Device;
  /** Folder the model was loaded from (its tokenizer files are copied on save), or null. */
  readonly dir: string | null;
  /** @internal */
  readonly native: NativeModel;

  private tail: Promise<unknown> = Promise.resolve();
  private disposed = false;

  /** @internal use loadModel / initModel */
  constructor(config: Qwen2Config, native: NativeModel, dir: string | null, device: Device) {
    this.config = config;
    this.native = native;
    this.dir = dir;
    this.device = device;
  }

  /** @internal Runs `f` after every call made on this model before it (FIFO per model). */
  exclusive<T>(f: () => Promise<T>): Promise<T> {
    if (this.disposed) return Promise.reject(this.disposedError());
    const r = this.tail.then(f, f);
    this.tail = r.catch(() => undefined);
    return r;
  }

  private disposedError(): Error {
    return new Error('the model was disposed (Model.dispose()); load it again to use it');
  }

  /** @internal Throws once the model is disposed. */
  alive(): void {
    if (this.disposed) throw this.disposedError();
  }

  /** Whether dispose() was called. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /**
   * Frees the model's native memory (host, and GPU on CUDA) once every call made before it has
   * ended; calls made after it reject (or throw) with an error saying the model was disposed.
   * Calling it again does nothing. Trainers over the model are disposed with it.
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.tail;
    this.native.dispose();
  }

  /** `await using model = await loadModel(dir)`: dispose() at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  /** Number of parameters. */
  get numParams(): number {
    this.alive();
    return this.native.numParams();
  }

  /** Hugging Face names of the model's tensors. */
  tensorNames(): string[] {
    this.alive();
    return this.native.tensorNames();
  }

  /**
   * log p(x_t | x_<t) for t = 1 … len−1 of each sequence (length len−1 each), computed in one
   * packed batch (no padding) per `maxTokens` tokens.
   */
  async logprobs(
    seqs: readonly TokenIds[],
    opts: LogprobOptions & { maxTokens?: number } = {},
  ): Promise<Float32Array[]> {
    const temperature = finite('temperature', opts.temperature ?? 1, 1e-6, 1e6);
    const maxTokens = integer('maxTokens', opts.maxTokens ?? 16384, 1, 1 << 24);
    if (!Array.isArray(seqs)) throw new TypeError('seqs must be an array of token arrays');
    return this.exclusive(async () => {
      const out: Float32Array[] = [];
      let i = 0;
      while (i < seqs.length) {
        // greedy chunks of whole sequences up to maxTokens (a longer sequence goes alone)
        let j = i;
        let n = 0;
        while (j < seqs.length && (j === i || n + (seqs[j]?.length ?? 0) <= maxTokens)) {
          n += seqs[j]?.length ?? 0;
          j++;
        }
        const p = packTokens('seqs', seqs.slice(i, j), this.config.vocabSize);
        const lp = await this.native.logprobs(p.tokens, p.positions, p.cuSeqlens, temperature);
        for (let s = 0; s + 1 < p.cuSeqlens.length; s++) out.push(lp.slice(p.cuSeqlens[s], p.cuSeqlens[s + 1] - 1));
        i = j;
      }
      return out;
    });
  }

  /** Logprobs of a packed batch, aligned to its targets (index t: log p(tokens[t+1]); 0 at each sequence's end). */
  async batchLogprobs(batch: Batch, opts: LogprobOptions = {}): Promise<Float32Array> {
    checkBatch(batch, this.config.vocabSize);
    const temperature = finite('temperature', opts.temperature ?? 1, 1e-6, 1e6);
    return this.exclusive(() => this.native.logprobs(batch.tokens, batch.positions, batch.cuSeqlens, temperature));
  }

  /**
   * Replaces the weights with those of another folder of the same config (e.g. a checkpoint to
   * resume from). The weights change only when every tensor was read and checked.
   */
  async loadWeights(dir: string): Promise<void> {
    if (typeof dir !== 'string' || dir === '') throw new TypeError('loadWeights: dir must be a non-empty string');
    const other = readConfig(join(dir, 'config.json'));
    const a = nativeConfig(other);
    const b = nativeConfig(this.config);
    for (const k of Object.keys(a) as (keyof typeof a)[]) {
      if (a[k] !== b[k])
        throw new Error(`${join(dir, 'config.json')}: ${k} is ${String(a[k])}, this model has ${String(b[k])}`);
    }
    await this.exclusive(() => this.native.load(dir));
  }

  /** Batched sampling with a KV cache. */
  async generate(prompts: readonly TokenIds[], opts: GenerateOptions): Promise<Generation> {
    if (typeof opts !== 'object' || opts === null)
      throw new TypeError('generate: options must be an object with maxNewTokens');
    const p = packTokens('prompts', prompts, this.config.vocabSize);
    if (prompts.length === 0) throw new RangeError('prompts must hold at least one prompt');
    const n = prompts.length;
    const limits = typeof opts.maxNewTokens === 'number' ? null : opts.maxNewTokens;
    if (limits !== null) {
      if (!Array.isArray(limits))
        throw new TypeError('maxNewTokens must be a number or an array of numbers (one per prompt)');
      if (limits.length !== n) throw new RangeError(`maxNewTokens has ${limits.length} limits for ${n} prompts`);
      limits.forEach((m, i) => integer(`maxNewTokens[${i}]`, m, 1, 1 << 20));
    }
    const maxNewTokens = limits === null ? integer('maxNewTokens', opts.maxNewTokens, 1, 1 << 20) : Math.max(...limits);
    const stop = opts.stopTokens ?? [];
    if (!Array.isArray(stop)) throw new TypeError('stopTokens must be an array of token ids');
    stop.forEach((t, i) => integer(`stopTokens[${i}]`, t, 0, this.config.vocabSize - 1));
    const vocabLimit = integer('vocabLimit', opts.vocabLimit ?? this.config.vocabSize, 1, this.config.vocabSize);
    const onTokens = opts.onTokens;
    if (onTokens !== undefined && typeof onTokens !== 'function') throw new TypeError('onTokens must be a function');
    const signals = opts.signals ?? [];
    if (!Array.isArray(signals)) throw new TypeError('signals must be an array of AbortSignals (one per prompt)');
    if (opts.signals !== undefined && signals.length !== n)
      throw new RangeError(`signals has ${signals.length} entries for ${n} prompts`);
    const isSignal = (x: unknown): x is AbortSignal => x instanceof AbortSignal;
    if (opts.signal !== undefined && !isSignal(opts.signal)) throw new TypeError('signal must be an AbortSignal');
    signals.forEach((x, i) => {
      if (x !== undefined && !isSignal(x)) throw new TypeError(`signals[${i}] must be an AbortSignal or undefined`);
    });

    // Aborts are handed to the engine through the step callback's return value: the prompts to stop.
    const toCancel = new Set<number>();
    const watched: [AbortSignal, () => void][] = [];
    const watch = (sig: AbortSignal | undefined, prompts: number[]) => {
      if (!sig) return;
      const f = () => prompts.forEach((i) => toCancel.add(i));
      if (sig.aborted) f();
      else {
        sig.addEventListener('abort', f, { once: true });
        watched.push([sig, f]);
      }
    };
    watch(
      opts.signal,
      Array.from({ length: n }, (_, i) => i),
    );
    signals.forEach((x, i) => watch(x, [i]));
    const delivered = new Array<number>(n).fill(0);
    let closed = false;
    let failure: { error: unknown } | null = null;
    const onStep = (seq: Int32Array, tok: Int32Array, lp: Float32Array): number[] | undefined => {
      if (closed) return undefined;
      if (onTokens && failure === null) {
        const step: SampledToken[] = [];
        for (let i = 0; i < seq.length; i++) {
          step.push({ prompt: seq[i], token: tok[i], logprob: lp[i] });
          delivered[seq[i]]++;
        }
        try {
          onTokens(step);
        } catch (error) {
          failure = { error };
          return Array.from({ length: n }, (_, i) => i);
        }
      }
      if (toCancel.size === 0) return undefined;
      const c = [...toCancel];
      toCancel.clear();
      return c;
    };
    const wantSteps = onTokens !== undefined || watched.length > 0 || toCancel.size > 0;
    let r: NativeGeneration;
    try {
      r = await this.exclusive(() =>
        this.native.generate(p.tokens, p.positions, p.cuSeqlens, {
          maxNewTokens,
          maxNewTokensPerPrompt: limits === null ? undefined : Int32Array.from(limits),
          temperature: finite('temperature', opts.temperature ?? 1, 0, 1e6),
          topP: finite('topP', opts.topP ?? 1, 1e-9, 1),
          topK: integer('topK', opts.topK ?? 0, 0, this.config.vocabSize),
          seed: integer('seed', opts.seed ?? 0, 0, Number.MAX_SAFE_INTEGER),
          firstStream: integer('firstStream', opts.firstStream ?? 0, 0, Number.MAX_SAFE_INTEGER),
          stopTokens: Int32Array.from(stop),
          vocabLimit,
          onStep: wantSteps ? onStep : undefined,
        }),
      );
    } finally {
      closed = true;
      for (const [sig, f] of watched) sig.removeEventListener('abort', f);
    }
    if (failure !== null) throw (failure as { error: unknown }).error;
    const { tokens, logprobs } = r;
    // Step calls still in flight when the engine returned: hand over the rest in step order.
    if (onTokens) {
      const longest = Math.max(...tokens.map((t) => t.length));
      for (let k = Math.min(...delivered); k < longest; k++) {
        const step: SampledToken[] = [];
        for (let i = 0; i < n; i++)
          if (k >= delivered[i] && k < tokens[i].length)
            step.push({ prompt: i, token: tokens[i][k], logprob: logprobs[i][k] });
        if (step.length > 0) onTokens(step);
      }
    }
    return { tokens, logprobs, finishReasons: r.finish };
  }

  /**
   * The optimizer over this model's parameters (AdamW state lives with the model: one trainer
   * per model; asking again returns a trainer over the same state with the new options).
   */
  trainer(opts: TrainerOptions): Trainer {
    this.alive();
    return new Trainer(this, opts);
  }

  /**
   * Writes the model as a Hugging Face folder (config.json, model.safetensors or shards + index,
   * tokenizer files) into a temporary folder beside `dir`, then renames it into place: `dir` is
   * either the old folder or the complete new one, never half-written.
   */
  async save(dir: string, opts: SaveOptions = {}): Promise<void> {
    this.alive();
    if (typeof dir !== 'string' || dir === '') throw new TypeError('save: dir must be a non-empty string');
    const dtype = opts.dtype ?? 'f32';
    if (dtype !== 'f32' && dtype !== 'bf16' && dtype !== 'f16')
      throw new RangeError(`save: dtype must be 'f32', 'bf16' or 'f16', got ${String(dtype)}`);
    const maxShard = integer(
      'maxShardBytes',
      opts.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES,
      1,
      Number.MAX_SAFE_INTEGER,
    );
    const target = resolve(dir);
    const parent = dirname(target);
    mkdirSync(parent, { recursive: true });
    const tmp = join(parent, `.${basename(target)}.tmp-${process.pid}-${Date.now()}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    try {
      await this.exclusive(() => this.native.saveTensors(tmp, dtype, maxShard));
      writeFileSync(join(tmp, 'config.json'), configJson(this.config, dtype));
      const from = opts.tokenizerFrom ?? this.dir;
      if (from !== null && resolve(from) !== target) {
        for (const f of TOKENIZER_FILES) if (existsSync(join(from, f))) copyFileSync(join(from, f), join(tmp, f));
      } else if (from !== null) {
        // saving over the folder we came from: keep its tokenizer files
        for (const f of TOKENIZER_FILES) if (existsSync(join(target, f))) copyFileSync(join(target, f), join(tmp, f));
      }
      // every file flushed, then renamed into place (util/atomic.ts)
      swapDirectory(tmp, target, join(parent, `.${basename(target)}.old-${process.pid}-${Date.now()}`));
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }
}

/**
 * AdamW over a model (no decay on biases and norm weights, as the Hugging Face Trainer does),
 * global gradient-norm clipping, and gradient accumulation: `step(b, {accumulate: true})` only
 * adds gradients; the next `step(b)` without it (or `update()`) adds its own, then clips and
 * updates once.
 */
export class Trainer {
  readonly model: Model;
  lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly maxGradNorm: number;
  readonly gradientCheckpointing: boolean;

  /** @internal use model.trainer() */
  constructor(model: Model, opts: TrainerOptions) {
    if (typeof opts !== 'object' || opts === null) throw new TypeError('trainer: options must be an object with lr');
    this.model = model;
    this.lr = finite('lr', opts.lr, 0, 10);
    const betas = opts.betas ?? [0.9, 0.999];
    if (!Array.isArray(betas) || betas.length !== 2) throw new TypeError('betas must be [beta1, beta2]');
    this.betas = [finite('betas[0]', betas[0], 0, 0.999999), finite('betas[1]', betas[1], 0, 0.999999999)];
    this.eps = finite('eps', opts.eps ?? 1e-8, 0, 1);
    this.weightDecay = finite('weightDecay', opts.weightDecay ?? 0, 0, 10);
    this.maxGradNorm = finite('maxGradNorm', opts.maxGradNorm ?? 1, 0, 1e30);
    const gc = opts.gradientCheckpointing ?? false;
    if (typeof gc !== 'boolean') throw new TypeError(`gradientCheckpointing must be a boolean, got ${String(gc)}`);
    this.gradientCheckpointing = gc;
  }

  /** Optimizer updates done so far (restored by loadState). */
  get stepCount(): number {
    this.model.alive();
    return this.model.native.stepCount();
  }

  /** Micro-batches whose gradients wait for the next update. */
  get pending(): number {
    this.model.alive();
    return this.model.native.pendingMicroBatches();
  }

  /** Sets the learning rate of the next updates (for schedules). */
  setLr(lr: number): void {
    this.lr = finite('lr', lr, 0, 10);
  }

  /** Forward + backward on one packed batch; updates unless `opts.accumulate`. */
  async step(batch: Batch, opts: StepOptions = {}): Promise<StepResult> {
    if (typeof opts !== 'object' || opts === null) throw new TypeError('step: options must be an object');
    if (opts.lr !== undefined) this.setLr(opts.lr);
    checkBatch(batch, this.model.config.vocabSize);
    const T = batch.tokens.length;
    let tokens = 0;
    let wsum = 0;
    for (let t = 0; t < T; t++) {
      if (batch.weights[t] > 0) tokens++;
      wsum += batch.weights[t];
    }
    const arr = (name: string, a: Float32Array | undefined): Float32Array | undefined => {
      if (a === undefined) return undefined;
      if (!(a instanceof Float32Array)) throw new TypeError(`${name} must be a Float32Array`);
      if (a.length !== T) throw new RangeError(`${name} has length ${a.length}, the batch has ${T} tokens`);
      return a;
    };
    const clip = opts.clip ?? 0.2;
    const [clipLow0, clipHigh0] = Array.isArray(clip) ? clip : [clip, clip];
    const clipLow = opts.clipLow ?? clipLow0;
    const clipHigh = opts.clipHigh ?? clipHigh0;
    const beta = finite('beta', opts.beta ?? 0, 0, 1e6);
    if (beta > 0 && opts.refLogprobs === undefined) throw new RangeError('refLogprobs is required when beta > 0');
    const objective = {
      weights: batch.weights,
      advantages: arr('advantages', opts.advantages),
      oldLogprobs: arr('oldLogprobs', opts.oldLogprobs),
      refLogprobs: arr('refLogprobs', opts.refLogprobs),
      beta,
      clipLow: finite('clip low', clipLow, 0, 1),
      clipHigh: finite('clip high', clipHigh, 0, 1e6),
      normaliser: finite('normaliser', opts.normaliser ?? Math.max(wsum, 1e-30), 1e-30, 1e30),
      temperature: finite('temperature', opts.temperature ?? 1, 1e-6, 1e6),
    };
    // forward/backward and the update run as one call on the model's queue
    return this.model.exclusive(async () => {
      const r = await this.model.native.accumulate(
        batch.tokens,
        batch.positions,
        batch.cuSeqlens,
        objective,
        this.gradientCheckpointing,
      );
      const gradNorm = opts.accumulate ? null : await this.optimizerStep();
      return { loss: r.loss, gradNorm, tokens, clipped: r.clipped, logprobs: r.logprobs, updated: gradNorm !== null };
    });
  }

  /**
   * Clips the accumulated gradients, takes one AdamW step (at `opts.lr` when given, which also
   * becomes the trainer's lr) and zeroes them; returns the global norm before clipping.
   */
  async update(opts: { lr?: number } = {}): Promise<{ gradNorm: number }> {
    if (typeof opts !== 'object' || opts === null) throw new TypeError('update: options must be an object');
    if (opts.lr !== undefined) this.setLr(opts.lr);
    return { gradNorm: await this.model.exclusive(() => this.optimizerStep()) };
  }

  private optimizerStep(): Promise<number> {
    return this.model.native.optimizerStep({
      lr: this.lr,
      beta1: this.betas[0],
      beta2: this.betas[1],
      eps: this.eps,
      weightDecay: this.weightDecay,
      maxGradNorm: this.maxGradNorm,
    });
  }

  /** Drops accumulated gradients (after every call made before it). */
  async zeroGrad(): Promise<void> {
    await this.model.exclusive(async () => this.model.native.zeroGrad());
  }

  /** Writes the AdamW state (m, v, step count) to DIR/optimizer.safetensors (DIR is created). */
  async saveState(dir: string): Promise<void> {
    this.model.alive();
    if (typeof dir !== 'string' || dir === '') throw new TypeError('saveState: dir must be a non-empty string');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'optimizer.safetensors');
    const tmp = `${file}.tmp-${process.pid}`;
    await this.model.exclusive(() => this.model.native.saveOptimizer(tmp));
    commitFile(tmp, file); // flushed, renamed, folder flushed
  }

  /** Restores what saveState wrote; nothing changes when the file does not fit this model. */
  async loadState(dir: string): Promise<void> {
    if (typeof dir !== 'string' || dir === '') throw new TypeError('loadState: dir must be a non-empty string');
    await this.model.exclusive(() => this.model.native.loadOptimizer(join(dir, 'optimizer.safetensors')));
  }
}

/** @internal checks a device option; `where` names the caller in the error. */
export function checkDevice(device: unknown, where: string): Device {
  if (device !== 'cpu' && device !== 'cuda')
    throw new RangeError(`${where}: device must be 'cpu' or 'cuda', got ${String(device)}`);
  return device;
}

// The CPU addon for 'cpu' (bit-identical whichever addon is loaded); the CUDA addon for 'cuda',
// or an error saying why there is none.
function newNative(config: Qwen2Config, device: Device): NativeModel {
  if (device === 'cpu') return new (cpu().Model)(nativeConfig(config));
  const c = cuda();
  if (!c.addon) throw new Error(`device 'cuda' is not available (CUDA addon: ${c.reason})`);
  return new c.addon.Model(nativeConfig(config), 'cuda');
}

/** Loads a Hugging Face Qwen2 folder (config.json + model.safetensors or a sharded index). */
export async function loadModel(dir: string, opts: LoadOptions = {}): Promise<Model> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('loadModel: dir must be a non-empty string');
  const device = checkDevice(opts.device ?? 'cpu', 'loadModel');
  if (!existsSync(dir)) throw new Error(`${dir}: no such model folder`);
  const { onProgress, signal } = opts;
  if (onProgress !== undefined && typeof onProgress !== 'function')
    throw new TypeError('loadModel: onProgress must be a function');
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw new TypeError('loadModel: signal must be an AbortSignal');
  signal?.throwIfAborted();
  const config = readConfig(join(dir, 'config.json'));
  const native = newNative(config, device);
  // The engine asks after each chunk whether to stop (a true return); a throwing onProgress stops it too.
  let settled = false;
  let failure: { error: unknown } | null = null;
  let last = -1;
  const progress = (loadedBytes: number, totalBytes: number): boolean => {
    if (settled || failure !== null) return true;
    if (signal?.aborted) return true;
    if (onProgress && loadedBytes !== last) {
      last = loadedBytes;
      try {
        onProgress({ loadedBytes, totalBytes });
      } catch (error) {
        failure = { error };
        return true;
      }
    }
    return false;
  };
  let total: number;
  try {
    total = await native.load(dir, onProgress || signal ? progress : undefined);
  } catch (e) {
    if (failure !== null) throw (failure as { error: unknown }).error;
    signal?.throwIfAborted();
    throw e;
  } finally {
    settled = true;
  }
  signal?.throwIfAborted();
  if (onProgress && last !== total) onProgress({ loadedBytes: total, totalBytes: total });
  return new Model(config, native, resolve(dir), device);
}

/** @internal a model with a given config and random weights (initModel writes it to a folder). */
export async function randomModel(
  config: Qwen2Config,
  seed: number,
  std: number,
  device: Device = 'cpu',
): Promise<Model> {
  const native = newNative(config, device);
  await native.initRandom(seed, std);
  return new Model(config, native, null, device);
}

// The whole native surface in one place: what `native/napi/` (and, in the CUDA addon,
// `native/cuda/binding.cc`) export, typed. Every call into the addon goes through these types,
// so a native function renamed or re-shaped on one side and not the other is a compile error.
// The binding checks every argument at run time as well (test/engine/fuzz.test.ts); these types
// are what a valid call looks like.
import type { Kernels } from './kernels.js';

export type NativeDevice = 'cpu' | 'cuda';

/** The config fields the native Model constructor and the measuring functions take. */
export interface NativeConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsEps: number;
  ropeTheta: number;
  tied: boolean;
}

/** accumulate()'s objective (native/napi/model.cc): per-token arrays aligned to the targets. */
export interface NativeObjective {
  weights?: Float32Array;
  advantages?: Float32Array;
  oldLogprobs?: Float32Array;
  refLogprobs?: Float32Array;
  beta?: number;
  clipLow?: number;
  clipHigh?: number;
  normaliser?: number;
  temperature?: number;
}

export interface NativeAccumulateResult {
  loss: number;
  clipped: number;
  /** log p of each target (index t: tokens[t+1]); 0 at each sequence's end. */
  logprobs: Float32Array;
}

export interface NativeAdamW {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  maxGradNorm: number;
}

export type NativeFinish = 'stop' | 'length' | 'abort';

export interface NativeGenerateOptions {
  maxNewTokens: number;
  /** One limit per prompt, each <= maxNewTokens. */
  maxNewTokensPerPrompt?: Int32Array;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  firstStream?: number;
  stopTokens?: Int32Array;
  /** Only ids below this are sampled, in [1, vocabSize] (absent: all). */
  vocabLimit?: number;
  /**
   * Runs on the main thread after decoding steps with the tokens they added (prompt index, token,
   * logprob; one call may carry several steps); returns the prompts to stop, if any.
   */
  onStep?: (seq: Int32Array, token: Int32Array, logprob: Float32Array) => readonly number[] | undefined;
}

export interface NativeGeneration {
  /** New tokens of each prompt. */
  tokens: Int32Array[];
  /** Their logprobs under the sampling policy. */
  logprobs: Float32Array[];
  finish: NativeFinish[];
}

/** The native Qwen2 model (native/napi/model.cc): one computation at a time, on a worker thread. */
export interface NativeModel {
  /**
   * Resolves with the bytes of tensor data read. onProgress(done, total) runs on the main thread
   * after chunks of about 64 MiB; returning true (or throwing) stops the load before its next chunk.
   */
  load(dir: string, onProgress?: (done: number, total: number) => boolean): Promise<number>;
  initRandom(seed: number, std: number): Promise<void>;
  logprobs(
    tokens: Int32Array,
    positions: Int32Array,
    cuSeqlens: Int32Array,
    temperature: number,
  ): Promise<Float32Array>;
  accumulate(
    tokens: Int32Array,
    positions: Int32Array,
    cuSeqlens: Int32Array,
    objective: NativeObjective,
    /** Activation checkpointing: keep each layer's input only, recompute its activations in the backward. */
    recompute?: boolean,
  ): Promise<NativeAccumulateResult>;
  /** Resolves with the global gradient norm before clipping. */
  optimizerStep(options: NativeAdamW): Promise<number>;
  zeroGrad(): Promise<void>;
  pendingMicroBatches(): number;
  stepCount(): number;
  numParams(): number;
  tensorNames(): string[];
  /** Bytes of the activation arena the model holds now. */
  arenaBytes(): Promise<number>;
  /** The accumulated gradients, flat (alignment padding included), in the engine's parameter layout. */
  gradients(): Promise<Float32Array>;
  /** The prompts are a packed batch (positions count from 0 in each prompt). */
  generate(
    tokens: Int32Array,
    positions: Int32Array,
    cuSeqlens: Int32Array,
    options: NativeGenerateOptions,
  ): Promise<NativeGeneration>;
  /** Resolves with the files written into the existing folder `dir`. */
  saveTensors(dir: string, dtype: 'f32' | 'bf16' | 'f16', maxShardBytes: number): Promise<string[]>;
  saveOptimizer(path: string): Promise<void>;
  loadOptimizer(path: string): Promise<void>;
  /**
   * Drops the model: its memory is freed now, or when the last call running on it ends; every
   * later call throws an Error saying it was disposed. Again: nothing.
   */
  dispose(): void;
}

export interface GpuInfo {
  name: string;
  computeCapability: string;
  memoryBytes: number;
  multiprocessors: number;
  devices: number;
  runtimeVersion: number;
  driverVersion: number;
}

/** What the addon exports (the CPU build; the CUDA build adds `cuda`). */
export interface NativeAddon {
  /** The build's name for its host engine ('cpu'). */
  readonly device: string;
  numThreads(): number;
  setNumThreads(threads: number): void;
  Model: new (config: NativeConfig, device?: NativeDevice) => NativeModel;
  /**
   * Bytes of the activation arena of one pass over `tokens` tokens (train: what backward keeps too;
   * recompute: a training arena that keeps each layer's input and one layer's activations).
   */
  measureArena(config: NativeConfig, device: NativeDevice, tokens: number, train: boolean, recompute?: boolean): number;
  /** Bytes generate() allocates for `sequences` sequences of `maxLen` cache rows (besides its prefill arena). */
  measureGeneration(config: NativeConfig, device: NativeDevice, sequences: number, maxLen: number): number;
  /** The CPU ops (lib/engine/kernels.ts wraps them). */
  kernels: Kernels;
  /** Only in the CUDA addon: throws when no GPU answers. */
  cuda?: { gpuInfo(): GpuInfo };
}

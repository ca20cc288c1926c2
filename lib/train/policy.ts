// What the recipe needs from a model and a tokenizer. lib/engine's Model and lib/data's
// Tokenizer provide these; the recipe depends only on this shape.
import type { Batch } from '../data/batch.js';

export interface GenerateOptions {
  maxNewTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  seed: number;
  stopTokens: readonly number[];
}

export interface Generation {
  tokens: number[][];          // new tokens per prompt (a stop token included when it stopped)
  logprobs: number[][];
  finishReasons: string[];     // 'stop' | 'length'
}

// The objective's per-token inputs beside a packed batch (all aligned to the batch's targets).
export interface ObjectiveInputs {
  advantages?: Float32Array;
  oldLogprobs?: Float32Array;
  refLogprobs?: Float32Array;
  beta?: number;
  clipLow?: number;
  clipHigh?: number;
  normaliser?: number;
  temperature?: number;
}

export interface Trainer {
  // forward + backward of one micro-batch; gradients add up until update()
  accumulate(batch: Batch, objective: ObjectiveInputs): Promise<{ loss: number; clipped: number }>;
  // clip, AdamW step at this learning rate, zero the gradients
  update(opts: { lr: number }): Promise<{ gradNorm: number }>;
  saveState(dir: string): Promise<void>;
  loadState(dir: string): Promise<void>;
}

export interface PolicyModel {
  generate(prompts: number[][], opts: GenerateOptions): Promise<Generation>;
  // per-target logprobs of a packed batch (0 at each sequence's last index)
  batchLogprobs(batch: Batch, opts: { temperature: number }): Promise<Float32Array>;
  trainer(opts: { lr: number; betas: [number, number]; eps: number; weightDecay: number; maxGradNorm: number }): Trainer;
  save(dir: string, opts: { dtype: 'f32' | 'bf16' }): Promise<void>;
  loadWeights(dir: string): Promise<void>;
}

export interface TextCodec {
  encode(text: string): number[];
  decode(ids: number[]): string;
  stopTokenIds: readonly number[];
}

// The micro-batch size (tokens per packed forward/backward) that fits in memory. A training step
// on T tokens holds the engine's activation arena, which grows by activationBytesPerToken bytes a
// token: the engine measures it (lib/engine/memory.ts, its own carving of the arena in train
// mode: every layer's saved activations, the shared scratch, the backward scratch; fp32 on the
// CPU, bf16 activations with fp32 statistics on CUDA). Qwen2.5-0.5B on the CPU: 1,671,172 bytes
// per token (16384 tokens ≈ 27 GB). With activation checkpointing (gradientCheckpointing) the
// arena keeps each layer's input and one layer's activations, recomputed in the backward: the
// engine measures that arena too (Qwen2.5-0.5B on the CPU: about a fifth of the bytes per token).
// The head's chunk of logits (at most 64 MiB on the CPU) and the weights, gradients and Adam
// moments do not grow with T.
//
// 'auto' = floor(budget / bytes per token), at most AUTO_MAX_TOKENS (the presets' nominal size,
// so a small model does not pack a whole data set into one micro-batch) and at least the longest
// sequence (which has to fit in one). A resumed run keeps the value its config.json recorded.
import { existsSync, readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';

import { cuda } from '../engine/addon.js';
import type { Qwen2Config } from '../engine/config.js';
import { arenaBytesPerToken, generationBytesPerSequence } from '../engine/memory.js';
import type { Device } from '../engine/model.js';
import { latestCheckpoint } from './checkpoint.js';

export type MicroBatchTokens = number | 'auto';

/** The most tokens 'auto' picks, however much memory there is. */
export const AUTO_MAX_TOKENS = 16384;

const GiB = 2 ** 30;

/** Bytes of activation arena one token of a training micro-batch takes (the engine's measure; recompute: with activation checkpointing). */
export function activationBytesPerToken(c: Qwen2Config, device: Device, recompute = false): number {
  return arenaBytesPerToken(c, device, true, recompute);
}

/**
 * Bytes the activations of one micro-batch may take. CPU: min(8 GiB, 40% of the machine's
 * memory), the rest left to the weights, gradients and AdamW moments (16 bytes per parameter),
 * generation's KV cache and the data. CUDA: min(16 GiB, 25% of the GPU's memory as the CUDA
 * engine reports it; 16 GiB when it is not known): the weights take 18 bytes per parameter there.
 */
export function memoryBudget(device: Device, memory: { hostBytes?: number; gpuBytes?: number } = {}): number {
  if (device === 'cpu') return Math.min(8 * GiB, Math.floor(0.4 * (memory.hostBytes ?? totalmem())));
  const gpuBytes = memory.gpuBytes ?? cuda().gpu?.memoryBytes;
  return gpuBytes ? Math.min(16 * GiB, Math.floor(0.25 * gpuBytes)) : 16 * GiB;
}

export interface ResolvedMicroBatch {
  tokens: number;
  /** How the value was chosen, for the run's log. */
  note: string;
}

/**
 * 'auto' from the budget; a number is used as it is, and one below the longest sequence (which
 * a micro-batch must hold whole) is an error naming the flag, never silently raised.
 */
export function resolveMicroBatchTokens(
  value: MicroBatchTokens,
  opts: { config: Qwen2Config; device: Device; longest: number; budgetBytes?: number; recompute?: boolean },
): ResolvedMicroBatch {
  if (value !== 'auto') {
    if (value < opts.longest)
      throw new RangeError(
        `--micro-batch-tokens (microBatchTokens) ${value} is below the longest sequence, ${opts.longest} tokens: give at least ${opts.longest}, or auto`,
      );
    return { tokens: value, note: `${value} tokens per micro-batch` };
  }
  const perToken = activationBytesPerToken(opts.config, opts.device, opts.recompute ?? false);
  const budget = opts.budgetBytes ?? memoryBudget(opts.device);
  const fit = Math.floor(budget / perToken);
  const tokens = Math.max(opts.longest, Math.min(AUTO_MAX_TOKENS, fit));
  const basis = `${(budget / GiB).toFixed(1)} GiB activation budget at ${(perToken / 1e6).toFixed(3)} MB per token on ${opts.device}${opts.recompute ? ' with activation recomputation' : ''}`;
  const why =
    opts.longest > fit
      ? `the longest sequence needs more than the ${basis}`
      : opts.longest > AUTO_MAX_TOKENS
        ? `auto: the longest sequence, above the cap of ${AUTO_MAX_TOKENS}; ${basis}`
        : `auto: ${basis}${fit > AUTO_MAX_TOKENS ? `, capped at ${AUTO_MAX_TOKENS}` : ''}`;
  return { tokens, note: `${tokens} tokens per micro-batch (${why})` };
}

/**
 * The micro-batch size a run in RUN_DIR used, when it is being resumed from a checkpoint (its
 * config.json), else null.
 */
export function recordedMicroBatchTokens(runDir: string): number | null {
  if (!latestCheckpoint(runDir)) return null;
  const file = join(runDir, 'config.json');
  if (!existsSync(file)) return null;
  let v: unknown;
  try {
    v = (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>).microBatchTokens;
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (!Number.isInteger(v) || (v as number) < 1)
    throw new Error(`${file}: field "microBatchTokens" must be a positive integer, got ${JSON.stringify(v)}`);
  return v as number;
}

/** Resolves a run's micro-batch size: a resumed 'auto' run keeps its recorded value. */
export function runMicroBatchTokens(
  value: MicroBatchTokens,
  opts: { runDir: string; resume: boolean; config: Qwen2Config; device: Device; longest: number; recompute?: boolean },
): ResolvedMicroBatch {
  const recorded = value === 'auto' && opts.resume ? recordedMicroBatchTokens(opts.runDir) : null;
  if (recorded !== null)
    return {
      tokens: recorded,
      note: `${recorded} tokens per micro-batch (as the run recorded in ${join(opts.runDir, 'config.json')})`,
    };
  return resolveMicroBatchTokens(value, opts);
}

// ---- generation: how many sequences one generate() call samples at once ----------------------
// Generation holds a KV cache of max_len rows per sequence (prompt + completion limit), one
// decoding step's activations and a row of fp32 logits per sequence: the engine measures what one
// more sequence costs (lib/engine/memory.ts). 'auto' takes as many sequences as fit in half the
// activation budget (the training arena stays allocated meanwhile), at least 1. The engine gives
// each sequence its own stream of the seed (firstStream), so the completions do not depend on
// this number.

export { generationBytesPerSequence };

export type GenerationBatch = number | 'auto';

/** Sequences per generate() call: a number as given, or 'auto' from the memory budget; at most `total`. */
export function resolveGenerationBatch(
  value: GenerationBatch,
  opts: {
    config: Qwen2Config;
    device: Device;
    maxLen: number;
    total: number;
    budgetBytes?: number;
  },
): { sequences: number; note: string } {
  if (value !== 'auto') {
    const sequences = Math.min(value, opts.total);
    return { sequences, note: `${sequences} sequences per generation call` };
  }
  const perSeq = generationBytesPerSequence(opts.config, opts.device, opts.maxLen);
  const budget = Math.floor((opts.budgetBytes ?? memoryBudget(opts.device)) / 2);
  const sequences = Math.max(1, Math.min(opts.total, Math.floor(budget / perSeq)));
  return {
    sequences,
    note: `${sequences} of ${opts.total} sequences per generation call (auto: ${(budget / GiB).toFixed(1)} GiB for the KV cache at ${(perSeq / 2 ** 20).toFixed(1)} MiB per sequence of ${opts.maxLen} tokens on ${opts.device})`,
  };
}

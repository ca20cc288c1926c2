// What the engine allocates, asked of the engine: its own carving of the activation arena and
// of generate()'s buffers (native/model/qwen2.cc, Qwen2::measure_arena / measure_generation),
// run without a model. Nothing here repeats the engine's arithmetic.
import { addon } from './addon.js';
import { nativeConfig, type Qwen2Config } from './config.js';
import type { Device } from './model.js';

/**
 * Bytes of the engine's activation arena for one pass over `tokens` tokens (train: with what
 * backward keeps; recompute: with activation checkpointing, each layer's input and one layer's
 * activations, recomputed in the backward).
 */
export function arenaBytes(
  config: Qwen2Config,
  device: Device,
  tokens: number,
  train: boolean,
  recompute = false,
): number {
  return addon().measureArena(nativeConfig(config), device, tokens, train, recompute);
}

/** Bytes generate() allocates for `sequences` sequences of `maxLen` cache rows each (besides its prefill's arena). */
export function generationBytes(config: Qwen2Config, device: Device, sequences: number, maxLen: number): number {
  return addon().measureGeneration(nativeConfig(config), device, sequences, maxLen);
}

// The arena is linear in the tokens beyond a fixed part (the head's chunk of logits, at most 1024
// tokens' worth), and every tensor is a whole number of 64-byte lines at multiples of 64 tokens:
// the difference between two such lengths is exact.
const T1 = 2048;
const T2 = 4096;

/** Bytes the arena grows by per token of a pass (train: a training step's; recompute: with activation checkpointing). */
export function arenaBytesPerToken(config: Qwen2Config, device: Device, train = true, recompute = false): number {
  return (
    (arenaBytes(config, device, T2, train, recompute) - arenaBytes(config, device, T1, train, recompute)) / (T2 - T1)
  );
}

/** KV-cache bytes one token of one sequence holds during generation (a key and a value row per layer). */
export function kvCacheBytesPerToken(config: Qwen2Config, device: Device): number {
  return (generationBytes(config, device, 1, 2 * 64) - generationBytes(config, device, 1, 64)) / 64;
}

/** Bytes one more sequence adds to a generate() call of `maxLen` cache rows: its KV cache, decoding activations and logits. */
export function generationBytesPerSequence(config: Qwen2Config, device: Device, maxLen: number): number {
  return generationBytes(config, device, 2, maxLen) - generationBytes(config, device, 1, maxLen);
}

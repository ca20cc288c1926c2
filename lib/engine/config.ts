// config.json of a Hugging Face Qwen2 model folder (Qwen2, Qwen2.5, Qwen2.5-Math): parsed,
// validated (every error names the file and the field) and written back unchanged apart from the
// fields warmstart owns (torch_dtype), so Transformers and vLLM load what warmstart saves.
import { readFileSync, statSync } from 'node:fs';

import type { NativeConfig } from './addon-types.js';

/** The fields of a Qwen2 config.json that the engine uses, in camelCase, plus the raw JSON. */
export interface Qwen2Config {
  architecture: 'Qwen2ForCausalLM';
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  /** hidden_size / num_attention_heads (Qwen2 has no separate head_dim field). */
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  tieWordEmbeddings: boolean;
  maxPositionEmbeddings: number;
  bosTokenId: number | null;
  eosTokenId: number | number[] | null;
  /** The whole parsed config.json, written back on save. */
  raw: Record<string, unknown>;
}

/** The config fields the native Model constructor and the engine's measuring take. */
export function nativeConfig(c: Qwen2Config): NativeConfig {
  return {
    vocabSize: c.vocabSize,
    hiddenSize: c.hiddenSize,
    intermediateSize: c.intermediateSize,
    numLayers: c.numHiddenLayers,
    numHeads: c.numAttentionHeads,
    numKvHeads: c.numKeyValueHeads,
    headDim: c.headDim,
    rmsEps: c.rmsNormEps,
    ropeTheta: c.ropeTheta,
    tied: c.tieWordEmbeddings,
  };
}

/** Reads and validates `file` (a config.json). */
export function readConfig(file: string): Qwen2Config {
  let text: string;
  try {
    // a FIFO would block the read until a writer comes
    if (!statSync(file).isFile()) throw new Error('not a regular file');
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(
      `${file}: cannot read the model config (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return parseConfig(raw, file);
}

/** Validates a parsed config.json object; `file` names it in errors. */
export function parseConfig(raw: unknown, file = 'config.json'): Qwen2Config {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new Error(`${file}: must hold a JSON object`);
  const o = raw as Record<string, unknown>;
  const fail = (field: string, what: string): never => {
    throw new Error(`${file}: field "${field}" ${what}`);
  };
  const arch = o.architectures;
  const modelType = o.model_type;
  const archOk = Array.isArray(arch) && arch.includes('Qwen2ForCausalLM');
  if (!archOk) {
    if (Array.isArray(arch) && arch.length > 0) {
      fail('architectures', `is ${JSON.stringify(arch)}: unknown architecture, warmstart supports Qwen2ForCausalLM`);
    }
    if (modelType !== 'qwen2')
      fail(
        'model_type',
        `is ${JSON.stringify(modelType)}: unknown architecture, warmstart supports qwen2 (Qwen2ForCausalLM)`,
      );
  }
  if (modelType !== undefined && modelType !== 'qwen2')
    fail('model_type', `is ${JSON.stringify(modelType)}, expected "qwen2"`);
  const int = (field: string, min: number, max = 2 ** 31 - 1, def?: number): number => {
    const v = o[field];
    if (v === undefined && def !== undefined) return def;
    if (v === undefined) return fail(field, 'is missing');
    if (typeof v !== 'number' || !Number.isInteger(v))
      return fail(field, `must be an integer, got ${JSON.stringify(v)}`);
    if (v < min || v > max) return fail(field, `must be in [${min}, ${max}], got ${v}`);
    return v;
  };
  const num = (field: string, def: number, min: number, max: number): number => {
    const v = o[field];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'number' || !Number.isFinite(v)) return fail(field, `must be a number, got ${JSON.stringify(v)}`);
    if (v < min || v > max) return fail(field, `must be in [${min}, ${max}], got ${v}`);
    return v;
  };
  const vocabSize = int('vocab_size', 1, 1 << 22);
  const hiddenSize = int('hidden_size', 1, 1 << 16);
  const intermediateSize = int('intermediate_size', 1, 1 << 18);
  const numHiddenLayers = int('num_hidden_layers', 1, 1024);
  const numAttentionHeads = int('num_attention_heads', 1, 1024);
  const numKeyValueHeads = int('num_key_value_heads', 1, 1024, numAttentionHeads);
  if (numAttentionHeads % numKeyValueHeads !== 0) {
    fail('num_key_value_heads', `(${numKeyValueHeads}) must divide num_attention_heads (${numAttentionHeads})`);
  }
  if (hiddenSize % numAttentionHeads !== 0)
    fail('hidden_size', `(${hiddenSize}) must be a multiple of num_attention_heads (${numAttentionHeads})`);
  const headDim = hiddenSize / numAttentionHeads;
  if (headDim % 2 !== 0) fail('hidden_size', `/ num_attention_heads = ${headDim} must be even (RoPE rotates halves)`);
  if (o.head_dim !== undefined && o.head_dim !== headDim)
    fail('head_dim', `is ${JSON.stringify(o.head_dim)}, Qwen2 requires hidden_size / num_attention_heads = ${headDim}`);
  const act = o.hidden_act ?? 'silu';
  if (act !== 'silu') fail('hidden_act', `is ${JSON.stringify(act)}, only "silu" is supported`);
  if (o.rope_scaling !== undefined && o.rope_scaling !== null)
    fail('rope_scaling', 'is set; RoPE scaling is not supported');
  if (o.use_sliding_window === true) fail('use_sliding_window', 'is true; sliding-window attention is not supported');
  const tie = o.tie_word_embeddings ?? false;
  if (typeof tie !== 'boolean') fail('tie_word_embeddings', `must be a boolean, got ${JSON.stringify(tie)}`);
  // Token ids must name a row of the embedding: one past it would make every generation fail.
  const isTokenId = (v: unknown): v is number =>
    typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < vocabSize;
  const tokenId = (field: string): number | null => {
    const v = o[field];
    if (v === undefined || v === null) return null;
    if (!isTokenId(v)) return fail(field, `must be a token id below vocab_size ${vocabSize}, got ${JSON.stringify(v)}`);
    return v;
  };
  let eosTokenId: number | number[] | null;
  if (Array.isArray(o.eos_token_id)) {
    o.eos_token_id.forEach((v, i) => {
      if (!isTokenId(v))
        fail(`eos_token_id[${i}]`, `must be a token id below vocab_size ${vocabSize}, got ${JSON.stringify(v)}`);
    });
    eosTokenId = o.eos_token_id as number[];
  } else {
    eosTokenId = tokenId('eos_token_id');
  }
  return {
    architecture: 'Qwen2ForCausalLM',
    vocabSize,
    hiddenSize,
    intermediateSize,
    numHiddenLayers,
    numAttentionHeads,
    numKeyValueHeads,
    headDim,
    rmsNormEps: num('rms_norm_eps', 1e-6, 1e-12, 1),
    ropeTheta: num('rope_theta', 10000, 1, 1e12),
    tieWordEmbeddings: tie as boolean,
    maxPositionEmbeddings: int('max_position_embeddings', 1, 1 << 24, 32768),
    bosTokenId: tokenId('bos_token_id'),
    eosTokenId,
    raw: o,
  };
}

/** The config.json text to save beside weights stored in `dtype`. */
export function configJson(c: Qwen2Config, dtype: 'f32' | 'bf16' | 'f16'): string {
  const torchDtype = dtype === 'f32' ? 'float32' : dtype === 'bf16' ? 'bfloat16' : 'float16';
  const out: Record<string, unknown> = {
    ...c.raw,
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    torch_dtype: torchDtype,
    tie_word_embeddings: c.tieWordEmbeddings,
  };
  return JSON.stringify(out, null, 2) + '\n';
}

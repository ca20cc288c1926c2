// Random Qwen2 models in the Hugging Face folder format: presets of known shapes, initialised
// as Transformers does (matrices N(0, 0.02), biases 0, norm weights 1) from a seed.
import { parseConfig, type Qwen2Config } from './config.js';
import { checkDevice, randomModel, type Device, type Model } from './model.js';

export interface Preset {
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  tie_word_embeddings: boolean;
  rope_theta: number;
  rms_norm_eps: number;
  max_position_embeddings: number;
  /** Used when initModel is given no vocabSize. */
  vocab_size: number;
}

export const PRESETS: Record<string, Preset> = {
  // Small enough that the CPU demo trains it in minutes (~0.3M parameters besides the embedding).
  tiny: {
    hidden_size: 64,
    intermediate_size: 192,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    tie_word_embeddings: true,
    rope_theta: 10000,
    rms_norm_eps: 1e-6,
    max_position_embeddings: 4096,
    vocab_size: 1024,
  },
  // The shapes of Qwen2.5-0.5B (and its Instruct / Math variants).
  'qwen2.5-0.5b': {
    hidden_size: 896,
    intermediate_size: 4864,
    num_hidden_layers: 24,
    num_attention_heads: 14,
    num_key_value_heads: 2,
    tie_word_embeddings: true,
    rope_theta: 1000000,
    rms_norm_eps: 1e-6,
    max_position_embeddings: 32768,
    vocab_size: 151936,
  },
  // The shapes of Qwen2.5-1.5B.
  'qwen2.5-1.5b': {
    hidden_size: 1536,
    intermediate_size: 8960,
    num_hidden_layers: 28,
    num_attention_heads: 12,
    num_key_value_heads: 2,
    tie_word_embeddings: true,
    rope_theta: 1000000,
    rms_norm_eps: 1e-6,
    max_position_embeddings: 32768,
    vocab_size: 151936,
  },
};

export interface InitOptions {
  preset: string;
  /** Vocabulary size (the tokenizer's); default the preset's. */
  vocabSize?: number;
  seed?: number;
  /** Folder to write (config.json + model.safetensors, f32); optional. */
  out?: string;
  /** Override any config.json field of the preset (e.g. num_hidden_layers). */
  overrides?: Record<string, unknown>;
  /** Standard deviation of the matrices. Default 0.02 (Transformers' initializer_range). */
  std?: number;
  /** Folder whose tokenizer files are copied into `out`. */
  tokenizerFrom?: string;
  bosTokenId?: number;
  eosTokenId?: number;
  /** Where the model lives: 'cpu' (default) or 'cuda' (the CUDA addon; weights drawn on the host). */
  device?: Device;
}

/** The config.json of a preset. */
export function presetConfig(preset: string, vocabSize?: number, overrides: Record<string, unknown> = {}): Qwen2Config {
  const p = PRESETS[preset];
  if (!p) throw new RangeError(`initModel: unknown preset "${preset}" (known: ${Object.keys(PRESETS).join(', ')})`);
  const raw: Record<string, unknown> = {
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    hidden_act: 'silu',
    attention_dropout: 0,
    initializer_range: 0.02,
    use_cache: true,
    use_sliding_window: false,
    sliding_window: p.max_position_embeddings,
    max_window_layers: p.num_hidden_layers,
    rope_scaling: null,
    torch_dtype: 'float32',
    ...p,
    vocab_size: vocabSize ?? p.vocab_size,
    ...overrides,
  };
  return parseConfig(raw, `preset ${preset}`);
}

/** A random model of a preset's shape; written to `out` when given. */
export async function initModel(opts: InitOptions): Promise<Model> {
  if (typeof opts !== 'object' || opts === null)
    throw new TypeError('initModel: options must be an object with a preset');
  const overrides: Record<string, unknown> = { ...(opts.overrides ?? {}) };
  if (opts.bosTokenId !== undefined) overrides.bos_token_id = opts.bosTokenId;
  if (opts.eosTokenId !== undefined) overrides.eos_token_id = opts.eosTokenId;
  const config = presetConfig(opts.preset, opts.vocabSize, overrides);
  const seed = opts.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new RangeError(`initModel: seed must be a non-negative integer, got ${seed}`);
  const std = opts.std ?? 0.02;
  if (!Number.isFinite(std) || std < 0) throw new RangeError(`initModel: std must be ≥ 0, got ${std}`);
  const device = checkDevice(opts.device ?? 'cpu', 'initModel');
  const model = await randomModel(config, seed, std, device);
  if (opts.out !== undefined) await model.save(opts.out, { dtype: 'f32', tokenizerFrom: opts.tokenizerFrom });
  return model;
}

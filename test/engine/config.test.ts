// config.json parsing: the published Qwen2.5 configs parse to the shapes the engine builds, and
// every unsupported or malformed field is refused with the file and the field named.
import test from 'ava';

import { parseConfig, configJson } from '../../lib/engine/config.js';
import { presetConfig, PRESETS } from '../../lib/engine/init.js';

// Qwen/Qwen2.5-0.5B-Instruct's config.json as published.
const QWEN25_05B = {
  architectures: ['Qwen2ForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151645,
  hidden_act: 'silu',
  hidden_size: 896,
  initializer_range: 0.02,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  max_window_layers: 21,
  model_type: 'qwen2',
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.43.1',
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
};

test('the published Qwen2.5-0.5B config parses, and the preset has its shapes', (t) => {
  const c = parseConfig(QWEN25_05B, 'qwen/config.json');
  t.is(c.headDim, 64);
  t.is(c.numKeyValueHeads, 2);
  t.true(c.tieWordEmbeddings);
  t.is(c.eosTokenId, 151645);
  const p = presetConfig('qwen2.5-0.5b');
  for (const k of [
    'vocabSize',
    'hiddenSize',
    'intermediateSize',
    'numHiddenLayers',
    'numAttentionHeads',
    'numKeyValueHeads',
    'headDim',
    'ropeTheta',
    'rmsNormEps',
    'tieWordEmbeddings',
  ] as const) {
    t.is(p[k], c[k], k);
  }
  // saved back with the fields warmstart does not use untouched
  const back = JSON.parse(configJson(c, 'f32'));
  t.is(back.torch_dtype, 'float32');
  t.is(back.max_window_layers, 21);
  t.is(back.transformers_version, '4.43.1');
  for (const name of Object.keys(PRESETS)) t.notThrows(() => presetConfig(name, 1000), name);
});

test('unsupported or malformed fields are refused, naming the file and field', (t) => {
  const bad = (patch: Record<string, unknown>, field: RegExp) => {
    t.throws(() => parseConfig({ ...QWEN25_05B, ...patch }, 'm/config.json'), { message: field });
  };
  bad({ architectures: ['LlamaForCausalLM'] }, /m\/config\.json: field "architectures".*unknown architecture/);
  bad({ architectures: undefined, model_type: 'llama' }, /field "model_type".*unknown architecture/);
  bad({ hidden_size: 900 }, /field "hidden_size"/);
  bad({ num_key_value_heads: 3 }, /field "num_key_value_heads"/);
  bad({ vocab_size: 0 }, /field "vocab_size" must be in/);
  bad({ vocab_size: 12.5 }, /field "vocab_size" must be an integer/);
  bad({ intermediate_size: undefined }, /field "intermediate_size" is missing/);
  bad({ rope_scaling: { type: 'yarn', factor: 4 } }, /field "rope_scaling"/);
  bad({ use_sliding_window: true }, /field "use_sliding_window"/);
  bad({ hidden_act: 'gelu' }, /field "hidden_act"/);
  bad({ rms_norm_eps: 'small' }, /field "rms_norm_eps"/);
  bad({ tie_word_embeddings: 'yes' }, /field "tie_word_embeddings"/);
  bad({ eos_token_id: [1, -2] }, /field "eos_token_id\[1\]"/);
  t.throws(() => parseConfig([], 'x.json'), { message: /x\.json: must hold a JSON object/ });
  t.throws(() => presetConfig('qwen9'), { message: /unknown preset "qwen9"/ });
});

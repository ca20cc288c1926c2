// Run by isa.test.ts (and under qemu by bench/isa-haswell.sh) in a child process whose
// $WARMSTART_ISA picks the CPU kernels' level: a small model's seeded generation, its logprobs and
// two AdamW steps, printed as one JSON line with a digest of every float they produced. Shapes
// are chosen to hit vector tails (hidden 72, head dim 18, vocab 301) and both GEMM paths.
import { createHash } from 'node:crypto';

import { initModel, packSequences } from '../../lib/index.js';
import { cpu } from '../../lib/engine/addon.js';

const V = 301;
const model = await initModel({
  preset: 'tiny',
  vocabSize: V,
  seed: 7,
  std: 0.3,
  overrides: {
    hidden_size: 72,
    intermediate_size: 100,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
  },
});
const hash = createHash('sha256');
const add = (a: Float32Array | Int32Array | number[]) =>
  hash.update(Buffer.from(Float64Array.from(a as ArrayLike<number>).buffer));
const prompts = [
  [1, 2, 3, 4, 5, 6, 7],
  [9, 8, 7, 6, 5, 4, 3, 2, 1, 10, 11, 12, 13, 14, 15, 16, 17],
];
const gen = await model.generate(prompts, { maxNewTokens: 24, temperature: 1, seed: 11 });
for (const t of gen.tokens) add(t);
for (const l of gen.logprobs) add(l);
const seqs = prompts.map((p, i) => [...p, ...gen.tokens[i]]);
const batch = packSequences(
  seqs.map((ids) => ({ ids: Int32Array.from(ids), tokenWeights: new Float32Array(ids.length).fill(1) })),
);
for (const l of await model.logprobs(seqs)) add(l);
const trainer = model.trainer({ lr: 1e-2, betas: [0.9, 0.95], weightDecay: 0.1, maxGradNorm: 1 });
const steps = [];
for (let i = 0; i < 2; i++) {
  const r = await trainer.step(batch);
  steps.push([r.loss, r.gradNorm ?? 0]);
  add([r.loss, r.gradNorm ?? 0]);
}
for (const l of await model.logprobs(seqs)) add(l);
const { isa, available } = cpu().kernels.cpuIsa();
console.log(
  JSON.stringify({ isa, available, digest: hash.digest('hex'), steps, tokens: gen.tokens.map((t) => [...t]) }),
);

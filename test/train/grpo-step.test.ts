// The Dr. GRPO policy step through the engine, against the TypeScript reference of the objective
// (lib/train/advantages.ts) on a tiny random model.
import test from 'ava';

import { packSequences, type Batch } from '../../lib/data/batch.js';
import { initModel } from '../../lib/engine/init.js';
import { clippedObjective, drGrpoNormaliser, groupAdvantages } from '../../lib/train/advantages.js';

const VOCAB = 48;
const tiny = (seed = 3) => initModel({ preset: 'tiny', vocabSize: VOCAB, seed, overrides: { num_hidden_layers: 2 } });
const TRAIN = { lr: 1e-2, betas: [0.9, 0.99] as [number, number], eps: 1e-8, weightDecay: 0, maxGradNorm: 0 };

// Two prompts x G = 2 completions of different lengths; weight 1 on completion tokens.
function grpoBatch(rewards: number[]): { batch: Batch; advantages: Float32Array; normaliser: number } {
  const prompts = [
    [1, 5, 9, 2],
    [3, 7, 11],
  ];
  const completions = [
    [4, 8, 15, 16, 23],
    [42, 4],
    [6, 6, 6, 7],
    [9, 10, 11, 12, 13, 14],
  ];
  const maxCompletionLength = 8;
  const seqs = completions.map((c, k) => {
    const p = prompts[Math.floor(k / 2)];
    const ids = Int32Array.from([...p, ...c]);
    const tokenWeights = new Float32Array(ids.length).fill(1, p.length);
    return { ids, tokenWeights };
  });
  const batch = packSequences(seqs);
  const adv = groupAdvantages(rewards, 2).advantages;
  const advantages = new Float32Array(batch.tokens.length);
  for (let k = 0; k < seqs.length; k++) advantages.fill(adv[k], batch.cuSeqlens[k], batch.cuSeqlens[k + 1]);
  return { batch, advantages, normaliser: drGrpoNormaliser(seqs.length, maxCompletionLength) };
}

const close = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol + Math.abs(b) * tol;

test('mu = 1: no old logprobs, ratio exactly 1; same step as old = the current logprobs', async (t) => {
  const { batch, advantages, normaliser } = grpoBatch([2, -0.5, 0.5, 2]);
  const m1 = await tiny();
  const m2 = await tiny();
  const logp = await m1.batchLogprobs(batch);
  const clip = 0.2;
  const r1 = await m1.trainer(TRAIN).step(batch, { advantages, normaliser, clip }); // what grpo() does with mu = 1
  const r2 = await m2.trainer(TRAIN).step(batch, { advantages, normaliser, clip, oldLogprobs: logp }); // mu > 1, first update
  // the training forward sees exactly the logprobs the old policy had: ratio exp(0) = 1, nothing clipped
  t.deepEqual(Array.from(r2.logprobs), Array.from(logp));
  t.is(r2.clipped, 0);
  t.is(r1.clipped, 0);
  // with ratio 1 the surrogate is -sum_t A_t w_t / (G x Lmax)
  const ref = clippedObjective(logp, logp, advantages, batch.weights, { low: clip, high: clip }, normaliser);
  t.true(close(r2.loss, ref.loss, 1e-6), `${r2.loss} vs ${ref.loss}`);
  // ... and both take the same step: identical logprobs afterwards
  const after1 = await m1.batchLogprobs(batch);
  const after2 = await m2.batchLogprobs(batch);
  for (let i = 0; i < after1.length; i++)
    t.true(close(after1[i], after2[i], 1e-6), `token ${i}: ${after1[i]} vs ${after2[i]}`);
  t.notDeepEqual(Array.from(after1), Array.from(logp), 'the step changed the policy');
});

test('clipping in the engine matches the reference: loss and clipped-token count', async (t) => {
  const { batch, advantages, normaliser } = grpoBatch([2, -0.5, -2, 0.5]);
  const m = await tiny(5);
  const logp = await m.batchLogprobs(batch);
  // old policy: ratios 1.5, 0.6, 1.1, 0.9 cycling over the tokens
  const ratios = [1.5, 0.6, 1.1, 0.9];
  const old = logp.map((lp, i) => lp - Math.log(ratios[i % 4]));
  const r = await m
    .trainer(TRAIN)
    .step(batch, { advantages, normaliser, clip: [0.2, 0.28], oldLogprobs: old, accumulate: true });
  const ref = clippedObjective(logp, old, advantages, batch.weights, { low: 0.2, high: 0.28 }, normaliser);
  t.true(ref.clipped > 0);
  t.is(r.clipped, ref.clipped);
  t.true(close(r.loss, ref.loss, 1e-5), `${r.loss} vs ${ref.loss}`);
});

test('a zero-advantage batch (all groups with equal rewards) leaves the policy unchanged', async (t) => {
  const { batch, advantages, normaliser } = grpoBatch([-2, -2, 2, 2]);
  t.true(advantages.every((a) => a === 0));
  const m = await tiny(7);
  const before = await m.batchLogprobs(batch);
  const r = await m.trainer(TRAIN).step(batch, { advantages, normaliser });
  t.is(r.gradNorm, 0);
  t.deepEqual(Array.from(await m.batchLogprobs(batch)), Array.from(before));
});

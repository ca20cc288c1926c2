// Dr. GRPO arithmetic against values computed by hand.
import test from 'ava';

import { clippedObjective, clippedTokenLoss, drGrpoNormaliser, groupAdvantages } from '../../lib/train/advantages.js';

const close = (t: import('ava').ExecutionContext, a: number, b: number, tol = 1e-6) =>
  t.true(Math.abs(a - b) <= tol + Math.abs(b) * 1e-6, `${a} != ${b}`);

test('Dr. GRPO advantage is reward minus the group mean, no std division', (t) => {
  // group 1: mean (2 - 0.5 - 0.5 + 2) / 4 = 0.75; group 2: mean (2 - 2 - 2 - 2) / 4 = -1
  const { advantages, zeroAdvantageGroups, groups } = groupAdvantages([2, -0.5, -0.5, 2, 2, -2, -2, -2], 4);
  t.is(groups, 2);
  t.is(zeroAdvantageGroups, 0);
  const expected = [1.25, -1.25, -1.25, 1.25, 3, -1, -1, -1];
  expected.forEach((e, i) => close(t, advantages[i], e));
});

test('a group with equal rewards has zero advantage and is counted', (t) => {
  const { advantages, zeroAdvantageGroups } = groupAdvantages([-2, -2, -2, 0.5, 2, 0.5], 3);
  t.is(zeroAdvantageGroups, 1);
  t.deepEqual(Array.from(advantages.slice(0, 3)), [0, 0, 0]);
  // mean 1, so -0.5, 1, -0.5
  close(t, advantages[3], -0.5);
  close(t, advantages[4], 1);
  close(t, advantages[5], -0.5);
  // with std scaling too: equal rewards stay exactly 0, not 0 / 1e-4
  const scaled = groupAdvantages([2, 2, 2, 2], 4, 'group');
  t.deepEqual(Array.from(scaled.advantages), [0, 0, 0, 0]);
  t.is(scaled.zeroAdvantageGroups, 1);
});

test('--scale-rewards group divides by the unbiased std plus 1e-4 (plain GRPO)', (t) => {
  // deviations ±1.25; unbiased variance 4 * 1.5625 / 3 = 2.083333..; std 1.4433757
  const { advantages } = groupAdvantages([2, -0.5, -0.5, 2], 4, 'group');
  const std = Math.sqrt(6.25 / 3);
  close(t, advantages[0], 1.25 / (std + 1e-4));
  close(t, advantages[1], -1.25 / (std + 1e-4));
  close(t, advantages[0], 0.86596, 1e-5);
});

test('advantages reject bad input with a message naming it', (t) => {
  t.throws(() => groupAdvantages([1, 2, 3], 2), { instanceOf: RangeError, message: /multiple of groupSize/ });
  t.throws(() => groupAdvantages([1, NaN], 2), { instanceOf: RangeError, message: /rewards\[1\]/ });
  t.throws(() => groupAdvantages([1, 2], 0), { instanceOf: RangeError, message: /groupSize/ });
});

test('normaliser is the number of completions times the max completion length', (t) => {
  t.is(drGrpoNormaliser(10 * 10, 1024), 102400);
  t.is(drGrpoNormaliser(8, 16), 128);
  t.throws(() => drGrpoNormaliser(0, 16), { instanceOf: RangeError });
});

test('clipping: rho is clipped to [0.8, 1.2] only where the clipped term is the minimum', (t) => {
  const clip = { low: 0.2, high: 0.2 };
  // A > 0, rho 1.5: min(1.5, 1.2) = 1.2 -> loss -1.2, clipped
  let r = clippedTokenLoss(Math.log(1.5), 0, 1, 1, clip);
  close(t, r.loss, -1.2);
  t.true(r.clipped);
  // A < 0, rho 0.5: min(-0.5, -0.8) = -0.8 -> loss 0.8, clipped
  r = clippedTokenLoss(Math.log(0.5), 0, -1, 1, clip);
  close(t, r.loss, 0.8);
  t.true(r.clipped);
  // A < 0, rho 1.5: min(-1.5, -1.2) = -1.5 -> loss 1.5, not clipped (the pessimistic branch)
  r = clippedTokenLoss(Math.log(1.5), 0, -1, 1, clip);
  close(t, r.loss, 1.5);
  t.false(r.clipped);
  // A > 0, rho 0.5: min(0.5, 0.8) = 0.5 -> loss -0.5, not clipped
  r = clippedTokenLoss(Math.log(0.5), 0, 1, 1, clip);
  close(t, r.loss, -0.5);
  t.false(r.clipped);
  // asymmetric clip (DAPO's clip-higher): rho 1.25 within 1 + 0.28
  r = clippedTokenLoss(Math.log(1.25), 0, 2, 1, { low: 0.2, high: 0.28 });
  close(t, r.loss, -2.5);
  t.false(r.clipped);
  // weight 0 (a prompt token) contributes nothing and is never counted as clipped
  r = clippedTokenLoss(Math.log(3), 0, 1, 0, clip);
  t.is(Math.abs(r.loss), 0);
  t.false(r.clipped);
});

test('Dr. GRPO loss: no per-sequence length division, a constant G x Lmax normaliser', (t) => {
  // One group of G = 2 completions, rewards [1, 0] -> A = [0.5, -0.5]; completion 1 has 2
  // tokens, completion 2 has 4; Lmax = 4; rho = 1 everywhere (first step).
  // loss = -(0.5 * 2 - 0.5 * 4) / (2 * 4) = 0.125   (GRPO's per-sequence mean would give 0)
  const { advantages } = groupAdvantages([1, 0], 2);
  const A = [advantages[0], advantages[0], advantages[1], advantages[1], advantages[1], advantages[1]];
  const logp = [-1, -2, -0.5, -3, -1, -2];
  const { loss, clipped } = clippedObjective(
    logp,
    logp,
    A,
    [1, 1, 1, 1, 1, 1],
    { low: 0.2, high: 0.2 },
    drGrpoNormaliser(2, 4),
  );
  close(t, loss, 0.125);
  t.is(clipped, 0);
  // all-equal rewards: zero loss whatever the logprobs
  const zero = groupAdvantages([2, 2], 2).advantages;
  const z = clippedObjective(
    logp,
    logp.map((x) => x - 0.7),
    [zero[0], zero[0], zero[1], zero[1], zero[1], zero[1]],
    [1, 1, 1, 1, 1, 1],
    { low: 0.2, high: 0.2 },
    8,
  );
  t.is(Math.abs(z.loss), 0);
});

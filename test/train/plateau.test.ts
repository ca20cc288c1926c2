// The plateau criterion of `grpo --stop-when plateau`: on synthetic held-out reward series it
// fires at the evaluation that ends `patience` evaluations without a rise of the moving mean above
// its best, and at no evaluation before that one.
import test from 'ava';

import { describePlateau, plateau, type PlateauPoint } from '../../lib/train/plateau.js';

const series = (values: number[], every = 10): PlateauPoint[] => values.map((value, i) => ({ step: i * every, value }));

// the first prefix on which the criterion fires (-1: none)
function firstFiring(values: number[], c: { window: number; patience: number; minDelta: number }): number {
  for (let n = 1; n <= values.length; n++) if (plateau(series(values.slice(0, n)), c).fired) return n - 1;
  return -1;
}

test('a rising then flat reward: fires `patience` evaluations after the moving mean stops rising', (t) => {
  // rises for 6 evaluations, then noise of ±0.005 around 0.6
  const values = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.605, 0.595, 0.6, 0.604, 0.598, 0.6, 0.601];
  const c = { window: 3, patience: 3, minDelta: 0.01 };
  // moving means: index 2: 0.2, 3: 0.3, 4: 0.4, 5: 0.5, 6: 0.568, 7: 0.6, 8: 0.6, 9: 0.5997, 10: 0.6007
  // best 0.6 at index 7 (0.6 > 0.568 + 0.01); 8, 9, 10 do not beat 0.61: fires at index 10
  t.is(firstFiring(values, c), 10);
  const v = plateau(series(values), c);
  t.true(v.fired);
  t.is(v.firedAt, 100);
  t.is(v.bestStep, 70);
  t.true(Math.abs(v.best! - 0.6) < 1e-9);
  t.is(v.since, 3);
  // on every shorter prefix it does not fire
  for (let n = 1; n <= 10; n++) t.false(plateau(series(values.slice(0, n)), c).fired, `prefix of ${n}`);
});

test('a steadily rising reward never fires; a falling one fires after `patience` evaluations', (t) => {
  const rising = Array.from({ length: 40 }, (_, i) => i / 40);
  t.is(firstFiring(rising, { window: 2, patience: 2, minDelta: 0.01 }), -1);
  // rises less than minDelta per evaluation: not an improvement, so it fires
  t.is(firstFiring(rising, { window: 1, patience: 2, minDelta: 0.05 }), 2);
  const falling = [0.9, 0.8, 0.7, 0.6, 0.5];
  t.is(firstFiring(falling, { window: 1, patience: 1, minDelta: 0 }), 1);
  t.is(firstFiring(falling, { window: 2, patience: 2, minDelta: 0 }), 3);
});

test('too few evaluations for the window never fire; bad settings are refused by name', (t) => {
  const v = plateau(series([0.5, 0.5]), { window: 3, patience: 1, minDelta: 0 });
  t.false(v.fired);
  t.is(v.best, null);
  t.throws(() => plateau([], { window: 0, patience: 1, minDelta: 0 }), {
    message: /window must be a positive integer/,
  });
  t.throws(() => plateau([], { window: 1, patience: 1.5, minDelta: 0 }), { message: /patience must be/ });
  t.throws(() => plateau([], { window: 1, patience: 1, minDelta: -1 }), { message: /minDelta must be/ });
  t.is(
    describePlateau('eval_kk_reward', { window: 3, patience: 2, minDelta: 0.01 }),
    'stop when the mean of eval_kk_reward over the last 3 evaluations has not risen by more than 0.01 above its best for 2 evaluations in a row',
  );
});

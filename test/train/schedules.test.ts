import test from 'ava';

import { warmupConstant } from '../../lib/train/schedules.js';

test('linear warmup from 0 over W steps, then constant (Hugging Face constant_with_warmup)', (t) => {
  const lr = warmupConstant(1e-6, 25);
  t.is(lr(0), 0);
  t.is(lr(1), 1e-6 / 25);
  t.is(lr(12), (12 * 1e-6) / 25);
  t.is(lr(24), (24 * 1e-6) / 25);
  t.is(lr(25), 1e-6);
  t.is(lr(1000), 1e-6);
  const none = warmupConstant(3e-4, 0);
  t.is(none(0), 3e-4);
  t.throws(() => warmupConstant(-1, 2), { instanceOf: RangeError, message: /lr/ });
  t.throws(() => warmupConstant(1, 1.5), { instanceOf: RangeError, message: /warmupSteps/ });
});

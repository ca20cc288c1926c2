import test from 'ava';

import { passAt1 } from '../../lib/eval/evaluate.js';
import { epochOrder, stepIndices } from '../../lib/train/order.js';

test('epoch orders are permutations, reproducible by seed, different across epochs and seeds', (t) => {
  const a = epochOrder(50, 7, 0);
  t.deepEqual(
    [...a].sort((x, y) => x - y),
    Array.from({ length: 50 }, (_, i) => i),
  );
  t.deepEqual(epochOrder(50, 7, 0), a);
  t.notDeepEqual(epochOrder(50, 7, 1), a);
  t.notDeepEqual(epochOrder(50, 8, 0), a);
});

test('step indices walk the epoch orders, crossing epoch boundaries inside a step', (t) => {
  const n = 7,
    P = 3,
    seed = 3;
  const stream = [...epochOrder(n, seed, 0), ...epochOrder(n, seed, 1), ...epochOrder(n, seed, 2)];
  for (let s = 0; s < 6; s++) {
    const { indices, epoch } = stepIndices(n, P, seed, s);
    t.deepEqual(indices, stream.slice(s * P, s * P + P));
    t.is(epoch, Math.floor((s * P) / n));
  }
});

test('pass@1: accuracy per sample index, then mean and std over indices', (t) => {
  // 4 problems x 3 samples: index 0 -> 3/4, index 1 -> 1/4, index 2 -> 2/4
  const c = [
    [true, false, true],
    [true, false, false],
    [true, true, true],
    [false, false, false],
  ];
  const p = passAt1(c);
  t.deepEqual(p.perSample, [0.75, 0.25, 0.5]);
  t.is(p.mean, 0.5);
  t.true(Math.abs(p.std - Math.sqrt((0.0625 + 0.0625 + 0) / 2)) < 1e-12); // statistics.stdev: n - 1
  t.is(passAt1([[true], [false]]).std, 0); // one sample index: no spread
  t.throws(() => passAt1([[true], [true, false]]), { message: /problem 1 has 2 samples/ });
});

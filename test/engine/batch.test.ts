import test from 'ava';

import { checkBatch, packSequences } from '../../lib/engine/batch.js';

const seq = (ids: number[], mask: number[]) => ({ ids: Int32Array.from(ids), tokenWeights: Float32Array.from(mask) });

test('packSequences shifts token masks onto targets and restarts positions', (t) => {
  // Sequence A: prompt [5, 6], completion [7, 8]; sequence B: prompt [9], completion [10].
  const b = packSequences([seq([5, 6, 7, 8], [0, 0, 1, 1]), seq([9, 10], [0, 1])]);
  t.deepEqual([...b.tokens], [5, 6, 7, 8, 9, 10]);
  t.deepEqual([...b.positions], [0, 1, 2, 3, 0, 1]);
  t.deepEqual([...b.cuSeqlens], [0, 4, 6]);
  // weights[t] weighs predicting tokens[t+1]: 6→7 and 7→8 in A, 9→10 in B; last of each is 0.
  t.deepEqual([...b.weights], [0, 1, 1, 0, 1, 0]);
  t.notThrows(() => checkBatch(b, 11));
});

test('checkBatch names the field at fault', (t) => {
  const good = () => packSequences([seq([1, 2, 3], [0, 1, 1])]);
  let b = good();
  b.weights[2] = 1;
  t.throws(() => checkBatch(b), { instanceOf: RangeError, message: /weights\[2\].*last token/ });
  b = good();
  b.positions[1] = 5;
  t.throws(() => checkBatch(b), { message: /positions\[1\]/ });
  b = good();
  b.cuSeqlens[1] = 2;
  t.throws(() => checkBatch(b), { message: /cuSeqlens\[1\]/ });
  b = good();
  t.throws(() => checkBatch(b, 3), { message: /tokens\[2\] is 3/ });
  t.throws(() => checkBatch({ ...good(), tokens: [1, 2, 3] as unknown as Int32Array }), {
    instanceOf: TypeError,
    message: /tokens/,
  });
  t.throws(() => packSequences([seq([], [])]), { message: /sequence 0 is empty/ });
  t.throws(() => packSequences([seq([1, 2], [0])]), { message: /sequence 0 has 2 ids but 1/ });
});

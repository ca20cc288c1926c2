import test from 'ava';

import { checkBatch, packSequences, packTokens } from '../../lib/engine/batch.js';

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

test('packTokens lays plain and typed token arrays end to end, naming the argument at fault', (t) => {
  const p = packTokens('prompts', [[5, 6, 7], Int32Array.from([9]), [1, 2]], 10);
  t.deepEqual([...p.tokens], [5, 6, 7, 9, 1, 2]);
  t.deepEqual([...p.positions], [0, 1, 2, 0, 0, 1]);
  t.deepEqual([...p.cuSeqlens], [0, 3, 4, 6]);
  t.notThrows(() => checkBatch({ ...p, weights: new Float32Array(6) }, 10));
  t.throws(() => packTokens('prompts', [[1], []]), { instanceOf: RangeError, message: 'prompts[1] is empty' });
  t.throws(() => packTokens('prompts', [[1], [2, 10]], 10), {
    instanceOf: RangeError,
    message: 'prompts[1][1] = 10 is not a token id in [0, 10)',
  });
  t.throws(() => packTokens('prompts', [[1], [0.5]], 10), {
    instanceOf: RangeError,
    message: /prompts\[1\]\[0\] = 0\.5/,
  });
  t.throws(() => packTokens('seqs', [[1], 'ab' as unknown as number[]]), {
    instanceOf: TypeError,
    message: 'seqs[1] must be an array of token ids',
  });
  t.throws(() => packTokens('seqs', 3 as unknown as number[][]), { instanceOf: TypeError });
});

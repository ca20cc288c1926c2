import test from 'ava';

import { loadHumanEval } from '../../lib/tasks/humaneval-task.js';
import { loadMath } from '../../lib/tasks/math-task.js';
import { loadMmluPro } from '../../lib/tasks/mmlu-pro-task.js';
import {
  humanEvalSplit,
  mathTrainSplit,
  mmluProSplit,
  seededPermutation,
  seededSplit,
} from '../../lib/tasks/splits.js';

const DATA = new URL('../../../shared/data/', import.meta.url).pathname;

test('seededPermutation is a permutation, reproducible, and seed-dependent', (t) => {
  const p = seededPermutation(1000, 7);
  t.deepEqual(
    [...p].sort((a, b) => a - b),
    Array.from({ length: 1000 }, (_, i) => i),
  );
  t.deepEqual(seededPermutation(1000, 7), p);
  t.notDeepEqual(seededPermutation(1000, 8), p);
  t.throws(() => seededSplit([1, 2, 3], 4, 0), { message: /train size must be an integer in \[0, 3\], got 4/ });
});

test('HumanEval: 50 training problems and 114 held out, disjoint, reproducible', async (t) => {
  const problems = await loadHumanEval(`${DATA}humaneval/HumanEval.jsonl.gz`);
  const s = humanEvalSplit(problems);
  t.is(s.train.length, 50);
  t.is(s.heldOut.length, 114);
  const train = new Set(s.train.map((p) => p.id));
  t.false(s.heldOut.some((p) => train.has(p.id)));
  t.deepEqual(
    humanEvalSplit(problems).train.map((p) => p.id),
    s.train.map((p) => p.id),
  );
  t.notDeepEqual(
    humanEvalSplit(problems, 50, 1).train.map((p) => p.id),
    s.train.map((p) => p.id),
  );
});

test('MMLU-Pro: 100 training questions per category, the rest held out', async (t) => {
  const physics = await loadMmluPro(`${DATA}mmlu-pro/mmlu_pro_test_physics.jsonl`);
  const other = physics.slice(0, 150).map((q) => ({ ...q, id: `h${q.id}`, category: 'history' }));
  const s = mmluProSplit([...physics, ...other]);
  t.is(s.train.filter((q) => q.category === 'physics').length, 100);
  t.is(s.train.filter((q) => q.category === 'history').length, 100);
  t.is(s.heldOut.length, 1299 - 100 + 50);
  const train = new Set(s.train.map((q) => q.id));
  t.false(s.heldOut.some((q) => train.has(q.id)));
  t.throws(() => mmluProSplit(other, 200), { message: /category "history" has 150 questions, fewer than 200/ });
});

test('MATH: 100 training problems never from the evaluation set', async (t) => {
  const math500 = await loadMath(`${DATA}math500/math500.jsonl`);
  // A pool that contains 300 of the evaluation problems (re-spaced) plus 150 others.
  const pool = [
    ...math500.slice(0, 300).map((p) => ({ ...p, problem: `  ${p.problem.replace(/ /g, '  ')} ` })),
    ...Array.from({ length: 150 }, (_, i) => ({ id: `n${i}`, problem: `new problem ${i}`, answer: String(i) })),
  ];
  const train = mathTrainSplit(pool, math500);
  t.is(train.length, 100);
  t.true(train.every((p) => p.id.startsWith('n')));
  t.deepEqual(
    mathTrainSplit(pool, math500).map((p) => p.id),
    train.map((p) => p.id),
  );
  t.throws(() => mathTrainSplit(pool, math500, 151), {
    message: /only 150 pool problems are outside the evaluation set/,
  });
});

import test from 'ava';

import { checkPuzzles, generatePuzzles, scoreCompletions, symbolicTrace, type KKPuzzle } from '../../lib/kk/index.js';
import { publishedPuzzles } from './published.js';

test('the published files check clean', async (t) => {
  for (const { puzzles } of await publishedPuzzles()) {
    const r = checkPuzzles(puzzles);
    t.is(r.valid, puzzles.length);
    t.deepEqual(r.problems, []);
  }
});

test('finds non-unique, unsolvable, wrongly solved and mis-worded puzzles; counts sizes', (t) => {
  const ps = generatePuzzles({ people: [3, 4], count: 10, seed: 1 });
  const bad: KKPuzzle[] = [
    ...ps,
    {
      ...ps[0],
      statements: [
        ['telling-truth', 0],
        ['telling-truth', 1],
        ['telling-truth', 2],
      ],
    },
    {
      ...ps[1],
      statements: [
        ['lying', 1],
        ['telling-truth', 0],
        ['telling-truth', 2],
      ],
    },
    { ...ps[2], solution: ps[2].solution.map((k) => !k) },
    { ...ps[3], quiz: ps[3].quiz.replace(' is a ', ' is not a ') },
    { ...ps[4], solution_text_format: ps[5].solution_text_format },
  ];
  const r = checkPuzzles(bad);
  t.is(r.total, 15);
  t.deepEqual(
    [...r.sizes],
    [
      [3, 10],
      [4, 5],
    ],
  );
  t.is(r.valid, 12);
  const kinds = r.problems.map((p) => `${p.position}:${p.problem}`);
  t.true(kinds.includes('10:not-unique'));
  t.true(kinds.includes('11:no-solution'));
  t.true(kinds.includes('12:wrong-solution'));
  t.true(kinds.includes('13:quiz-mismatch'));
  t.true(kinds.includes('14:wrong-solution-text'));
  // Changing a statement also makes the quiz text disagree with it.
  t.true(kinds.includes('10:quiz-mismatch'));
});

test('scores completions, raw or chat, with the paper reward', (t) => {
  const ps = generatePuzzles({ people: 3, count: 4, seed: 2 });
  const r = scoreCompletions(ps, [
    symbolicTrace(ps[0]),
    [{ role: 'assistant', content: `<think>${symbolicTrace(ps[1])}` }],
    'no tags at all',
    undefined,
  ]);
  t.is(r.scored, 3);
  t.deepEqual(
    [...r.rewards],
    [
      [2, 2],
      [-2, 1],
    ],
  );
});
